//! Team: members, roles, invitations.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;

use super::layout::{me_of, use_me};
use super::ui::*;
use crate::domain::{InviteView, Role, TeamView};

#[server(prefix = "/rpc", endpoint = "team")]
pub async fn team() -> Result<TeamView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::team::list(&crate::web::session::state()?, &me)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<InviteView, ServerFnError> {
    let me = crate::web::session::require().await?;
    let role = Role::parse(&role)
        .ok_or_else(|| crate::error::AppError::validation("role: choose admin or member"))
        .rpc()?;
    crate::services::team::invite(&crate::web::session::state()?, &me, &email, role)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "revoke_invite")]
pub async fn revoke_invite(id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::team::revoke_invite(&crate::web::session::state()?, &me, &id)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::team::remove(&crate::web::session::state()?, &me, &user_id)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "set_member_role")]
pub async fn set_member_role(user_id: String, role: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let role = Role::parse(&role)
        .ok_or_else(|| crate::error::AppError::validation("role: choose admin or member"))
        .rpc()?;
    crate::services::team::set_role(&crate::web::session::state()?, &me, &user_id, role)
        .await
        .rpc()
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let me = use_me();
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let data = Resource::new(
        move || {
            (
                invite.version().get(),
                revoke.version().get(),
                remove.version().get(),
                set_role.version().get(),
            )
        },
        |_| team(),
    );
    view! {
        <Title text="Team"/>
        <PageHeader title="Team" description="Owners and admins manage keys, billing and the team. Members can see channels and deliveries."/>
        <div class="space-y-6">
            <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
            let me = me_of(me).await;
            let is_owner = me.as_ref().is_some_and(|m| m.role == Role::Owner);
            me.filter(|m| m.role.can_manage()).map(|_| view! {
                <Card title="Invite someone">
                    <ActionForm action=invite attr:class="grid gap-3 sm:grid-cols-[1fr_auto_auto] sm:items-end">
                        <Field label="Email" name="email" kind="email" id="invite-email" required=true/>
                        <div class="space-y-1">
                            <label for="invite-role" class="block text-sm font-medium text-slate-700">"Role"</label>
                            <select id="invite-role" name="role" class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm">
                                <option value="member">"Member"</option>
                                {is_owner.then(|| view! { <option value="admin">"Admin"</option> })}
                            </select>
                        </div>
                        <Button pending=invite.pending()>"Send invitation"</Button>
                    </ActionForm>
                    <div class="mt-3"><ActionResult value=invite.value().into() success="Invitation sent. It is valid for 7 days."/></div>
                </Card>
            })
            })}
            </Suspense>
            <ActionResult value=remove.value().into() success="Member removed."/>
            <ActionResult value=set_role.value().into() success="Role changed."/>
            <ActionResult value=revoke.value().into() success="Invitation withdrawn."/>
            <Transition fallback=|| view! { <Loading/> }>
                {move || {
                    Suspend::new(async move {
                    let me = me_of(me).await;
                    let my_id = me.as_ref().map(|m| m.user_id.clone()).unwrap_or_default();
                    let is_owner = me.as_ref().is_some_and(|m| m.role == Role::Owner);
                    let can_manage = me.as_ref().is_some_and(|m| m.role.can_manage());
                    match data.await {
                        Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                        Ok(t) => view! {
                            <div class="space-y-6">
                                <Card title="Members">
                                    <ul class="divide-y divide-slate-100">
                                        {t.members.into_iter().map(|m| {
                                            let uid = m.user_id.clone();
                                            let uid2 = m.user_id.clone();
                                            let is_self = m.user_id == my_id;
                                            view! {
                                                <li class="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between">
                                                    <div class="min-w-0">
                                                        <p class="truncate text-sm font-medium text-slate-900">{m.email.clone()}</p>
                                                        <p class="text-xs text-slate-500">{format!("joined {}", short_time(&m.joined_at))}</p>
                                                    </div>
                                                    <div class="flex flex-wrap items-center gap-2">
                                                        <Badge tone=if m.role == Role::Owner { Tone::Info } else { Tone::Neutral } text=m.role.as_str()/>
                                                        {(is_owner && !is_self && m.role != Role::Owner).then(|| view! {
                                                            <ActionForm action=set_role>
                                                                <input type="hidden" name="user_id" value=uid.clone()/>
                                                                <input type="hidden" name="role" value=if m.role == Role::Admin { "member" } else { "admin" }/>
                                                                <button type="submit" class=button_class(Variant::Secondary)>
                                                                    {if m.role == Role::Admin { "Make member" } else { "Make admin" }}
                                                                </button>
                                                            </ActionForm>
                                                        })}
                                                        {(can_manage && !is_self && m.role != Role::Owner).then(|| view! {
                                                            <Confirm text="Remove" label=format!("Remove {}", m.email) question="They lose access to this account at once. Remove them?">
                                                                <ActionForm action=remove>
                                                                    <input type="hidden" name="user_id" value=uid2.clone()/>
                                                                    <button type="submit" class=button_class(Variant::Primary)>"Yes, remove"</button>
                                                                </ActionForm>
                                                            </Confirm>
                                                        })}
                                                    </div>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </Card>
                                {can_manage.then(|| view! {
                                    <Card title="Pending invitations">
                                        {if t.invites.is_empty() {
                                            view! { <EmptyState title="No pending invitations">"Invite a colleague above."</EmptyState> }.into_any()
                                        } else {
                                            view! {
                                                <ul class="divide-y divide-slate-100">
                                                    {t.invites.clone().into_iter().map(|i| view! {
                                                        <li class="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between">
                                                            <div class="min-w-0">
                                                                <p class="truncate text-sm font-medium">{i.email.clone()}</p>
                                                                <p class="text-xs text-slate-500">{format!("{} · expires {}", i.role.as_str(), short_time(&i.expires_at))}</p>
                                                            </div>
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="id" value=i.id.clone()/>
                                                                <button type="submit" class=button_class(Variant::Danger)>"Withdraw"</button>
                                                            </ActionForm>
                                                        </li>
                                                    }).collect_view()}
                                                </ul>
                                            }.into_any()
                                        }}
                                    </Card>
                                })}
                            </div>
                        }.into_any(),
                    }
                })}}
            </Transition>
        </div>
    }
}
