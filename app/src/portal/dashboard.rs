//! The dashboard: account status and next steps.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;

use super::auth::ResendVerification;
use super::ui::*;
use crate::domain::DashboardView;

#[server(prefix = "/rpc", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::accounts::dashboard(&crate::web::session::state()?, &me)
        .await
        .rpc()
}

/// Stored media of the account: `(bytes, files)` (SPEC §4.4).
#[server(prefix = "/rpc", endpoint = "media_usage")]
pub async fn media_usage() -> Result<(u64, u64), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::media::usage(&crate::web::session::state()?, &me.account_id)
        .await
        .map(|u| (u.bytes, u.files))
        .rpc()
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| dashboard());
    let media = Resource::new(|| (), |_| media_usage());
    let resend = ServerAction::<ResendVerification>::new();
    view! {
        <Title text="Dashboard"/>
        <PageHeader title="Dashboard" description="Your account at a glance."/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                    Ok(d) => view! {
                        <div class="space-y-6">
                            {(!d.email_verified).then(|| view! {
                                <Alert tone=Tone::Warning>
                                    <div class="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
                                        <span id="verify-banner">"Confirm your email address: we sent you a link. Until then, mails about failing webhooks may not reach you."</span>
                                        <ActionForm action=resend>
                                            <button type="submit" class=button_class(Variant::Secondary)>"Send the link again"</button>
                                        </ActionForm>
                                    </div>
                                </Alert>
                                <ActionResult value=resend.value().into() success="A new link is on its way."/>
                            })}
                            <div class="grid grid-cols-2 gap-3 sm:gap-4 lg:grid-cols-4">
                                <Stat label="Mode" value=if d.sandbox { "Sandbox".to_string() } else { "Live".to_string() }/>
                                <Stat label="Email" value=if d.email_verified { "Confirmed".to_string() } else { "Not confirmed".to_string() }/>
                                <Stat label="Active API keys" value=d.active_keys.to_string()/>
                                <Stat label="Team members" value=d.members.to_string()/>
                            </div>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    media.await.ok().map(|(bytes, files)| view! {
                                        <p id="media-usage" class="text-sm text-slate-600">
                                            {format!(
                                                "Media stored: {} in {files} file{} (kept as long as events).",
                                                crate::domain::media::human_size(bytes),
                                                if files == 1 { "" } else { "s" },
                                            )}
                                        </p>
                                    })
                                })}
                            </Suspense>
                            {d.trial_ends_at.clone().map(|t| view! {
                                <Alert tone=Tone::Info>{format!("Trial of the pro tier until {}.", short_time(&t))}</Alert>
                            })}
                            <Card title="Next steps">
                                <ol class="list-decimal space-y-2 pl-5 text-sm text-slate-700">
                                    <li><a class="font-medium text-brand-600 hover:underline" href="/keys">"Create an API key"</a>" and call "<code class="rounded bg-slate-100 px-1">"GET /api/v1/account"</code>" with it."</li>
                                    <li><a class="font-medium text-brand-600 hover:underline" href="/channels">"Connect a channel"</a>": a WhatsApp number, an Instagram account or a Facebook Page."</li>
                                    <li><a class="font-medium text-brand-600 hover:underline" href="/deliveries">"Point its webhook at your server"</a>" and generate a signing secret."</li>
                                    <li>"Read the "<a class="font-medium text-brand-600 hover:underline" href="/api/docs" rel="external">"API reference"</a>"."</li>
                                </ol>
                            </Card>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Stat(#[prop(into)] label: String, #[prop(into)] value: String) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <p class="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</p>
            <p class="mt-1 text-lg font-semibold text-slate-900">{value}</p>
        </div>
    }
}
