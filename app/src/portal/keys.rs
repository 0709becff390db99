//! API keys: create (shown once), list, revoke.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;

use super::layout::{me_of, use_me};
use super::ui::*;
use crate::domain::{ApiKeyView, CreatedKey};

#[server(prefix = "/rpc", endpoint = "list_keys")]
pub async fn list_keys() -> Result<Vec<ApiKeyView>, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::keys::list(&crate::web::session::state()?, &me.account_id)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "create_key")]
pub async fn create_key(name: String) -> Result<CreatedKey, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::keys::create_as(&crate::web::session::state()?, &me, &name)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "revoke_key")]
pub async fn revoke_key(id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::keys::revoke_as(&crate::web::session::state()?, &me, &id)
        .await
        .rpc()
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let me = use_me();
    let create = ServerAction::<CreateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_keys(),
    );
    view! {
        <Title text="API keys"/>
        <PageHeader title="API keys" description="Keys authenticate your code against /api/v1. Send one as X-API-Key or Authorization: Bearer. Each key is shown once, when it is created."/>
        <div class="space-y-6">
            <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
            let can_manage = me_of(me).await.is_some_and(|m| m.role.can_manage());
            if can_manage {
                view! {
                    <Card title="Create a key">
                        <ActionForm action=create attr:class="flex flex-col gap-3 sm:flex-row sm:items-end">
                            <div class="flex-1"><Field label="Name" name="name" id="key-name" placeholder="e.g. production server" required=true/></div>
                            <Button id="create-key" pending=create.pending()>"Create key"</Button>
                        </ActionForm>
                        <div class="mt-4">
                            {move || match create.value().get() {
                                Some(Ok(created)) => view! {
                                    <div id="new-key" class="space-y-2 rounded-lg border border-emerald-200 bg-emerald-50 p-4">
                                        <p class="text-sm font-medium text-emerald-900">{format!("Key “{}” created. Copy it now: it will not be shown again.", created.key.name)}</p>
                                        <CopyField id="new-key-value" value=created.secret.clone()/>
                                    </div>
                                }.into_any(),
                                Some(Err(e)) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                                None => ().into_any(),
                            }}
                        </div>
                    </Card>
                }.into_any()
            } else {
                view! { <Alert tone=Tone::Info>"Only owners and admins can create or revoke keys."</Alert> }.into_any()
            }
            })}
            </Suspense>
            <ActionResult value=revoke.value().into() success="Key revoked. Requests with it now get 401."/>
            <Card title="Keys">
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        let can_manage = me_of(me).await.is_some_and(|m| m.role.can_manage());
                        match keys.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState title="No keys yet">"Create one above to call the API."</EmptyState>
                            }.into_any(),
                            Ok(list) => view! { <KeyTable keys=list revoke=revoke can_manage=can_manage/> }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
        </div>
    }
}

#[component]
fn KeyTable(
    keys: Vec<ApiKeyView>,
    revoke: ServerAction<RevokeKey>,
    can_manage: bool,
) -> impl IntoView {
    view! {
        <div class="-mx-5 overflow-x-auto">
            <table id="keys-table" class="min-w-full text-left text-sm">
                <thead class="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="px-5 py-2 font-medium">"Name"</th>
                        <th class="px-5 py-2 font-medium">"Key"</th>
                        <th class="hidden px-5 py-2 font-medium sm:table-cell">"Created"</th>
                        <th class="hidden px-5 py-2 font-medium sm:table-cell">"Last used"</th>
                        <th class="px-5 py-2 font-medium"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {keys.into_iter().map(|k| {
                        let id = k.id.clone();
                        let revoke_label = format!("Revoke {}", k.name);
                        view! {
                            <tr data-key-name=k.name.clone()>
                                <td class="px-5 py-3 font-medium text-slate-900">{k.name.clone()}</td>
                                <td class="px-5 py-3 font-mono text-xs text-slate-600">{k.masked.clone()}</td>
                                <td class="hidden px-5 py-3 text-slate-600 sm:table-cell">{short_time(&k.created_at)}</td>
                                <td class="hidden px-5 py-3 text-slate-600 sm:table-cell">{k.last_used_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
                                <td class="px-5 py-3 text-right">
                                    {if k.revoked {
                                        view! { <Badge tone=Tone::Neutral text="revoked"/> }.into_any()
                                    } else if can_manage {
                                        view! {
                                            <Confirm text="Revoke" label=revoke_label question="Requests with this key will get 401 at once. Revoke it?">
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=id/>
                                                    <button type="submit" class=button_class(Variant::Primary)>"Yes, revoke"</button>
                                                </ActionForm>
                                            </Confirm>
                                        }.into_any()
                                    } else {
                                        view! { <Badge tone=Tone::Success text="active"/> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
