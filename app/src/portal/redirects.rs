//! Redirect URIs: where the hosted connect flow may send a browser back to.

use leptos::prelude::*;
use leptos_meta::Title;

use super::ui::*;
use crate::domain::channel::RedirectView;
#[cfg(feature = "ssr")]
use crate::web::session::Rpc;

#[server(prefix = "/rpc", endpoint = "list_redirects")]
pub async fn list_redirects() -> Result<Vec<RedirectView>, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::redirects::list(&crate::web::session::state()?, &me.account_id)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "add_redirect")]
pub async fn add_redirect(uri_pattern: String) -> Result<RedirectView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::redirects::create(&crate::web::session::state()?, &me.account_id, &uri_pattern)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "delete_redirect")]
pub async fn delete_redirect(id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::redirects::delete(&crate::web::session::state()?, &me.account_id, &id)
        .await
        .rpc()
}

#[component]
pub fn RedirectsPage() -> impl IntoView {
    let add = ServerAction::<AddRedirect>::new();
    let remove = ServerAction::<DeleteRedirect>::new();
    let list = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| list_redirects(),
    );
    view! {
        <Title text="Redirect URIs"/>
        <PageHeader
            title="Redirect URIs"
            description="When your code creates a setup URL, the end user is sent back to its redirect_uri after connecting. Only URIs that fit one of these patterns are accepted."
        />
        <div class="space-y-6">
            <Card title="Add a pattern">
                <ActionForm action=add attr:class="flex flex-col gap-3 sm:flex-row sm:items-end">
                    <div class="flex-1">
                        <Field
                            label="URI pattern" name="uri_pattern" id="redirect-pattern" required=true
                            placeholder="https://app.example.com/meta/callback"
                        />
                    </div>
                    <Button id="add-redirect" pending=add.pending()>"Add"</Button>
                </ActionForm>
                <p class="mt-2 text-xs text-slate-500">
                    "https only. An asterisk may stand for one whole label, leftmost in the host: https://*.example.com/callback. Scheme, host, port and path must match exactly; the query string is ignored and kept."
                </p>
                <div class="mt-3"><ActionResult value=add.value().into() success="Pattern saved."/></div>
            </Card>
            <ActionResult value=remove.value().into() success="Pattern removed. Setup URLs for it are refused from now on."/>
            <Card title="Patterns">
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(items) if items.is_empty() => view! {
                                <EmptyState title="No redirect URIs yet">
                                    "Add the page of your app that receives "<code>"?code=…"</code>" after a connect."
                                </EmptyState>
                            }.into_any(),
                            Ok(items) => view! {
                                <ul id="redirect-list" class="divide-y divide-slate-100">
                                    {items.into_iter().map(|r| {
                                        let label = format!("Remove {}", r.uri_pattern);
                                        view! {
                                            <li class="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between" data-pattern=r.uri_pattern.clone()>
                                                <div class="min-w-0">
                                                    <p class="break-all font-mono text-sm text-slate-900">{r.uri_pattern.clone()}</p>
                                                    <p class="text-xs text-slate-500">{format!("added {}", short_time(&r.created_at))}</p>
                                                </div>
                                                <Confirm text="Remove" label=label question="Setup URLs that redirect here will be refused. Remove it?">
                                                    <ActionForm action=remove>
                                                        <input type="hidden" name="id" value=r.id.clone()/>
                                                        <button type="submit" class=button_class(Variant::Primary)>"Yes, remove"</button>
                                                    </ActionForm>
                                                </Confirm>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
        </div>
    }
}
