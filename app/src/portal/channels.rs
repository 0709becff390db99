//! Channels: list, Connect Channel (the hosted flow with the Portal as the
//! redirect), the return page, and each channel's settings (SPEC §3.1, §3.3).

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::{me_of, use_me};
use super::ui::*;
use crate::domain::{ChannelType, ChannelView};

/// A channel as the list shows it: the view plus what needs the server's clock.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChannelItem {
    pub channel: ChannelView,
    /// The Meta token expires within [`EXPIRING_SOON_DAYS`] days.
    pub token_expiring: bool,
}

pub const EXPIRING_SOON_DAYS: i64 = 7;

/// One line of the health panel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthLine {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthPanel {
    pub checked_at: String,
    pub checks: Vec<HealthLine>,
}

#[cfg(feature = "ssr")]
fn item(state: &crate::state::AppState, c: ChannelView) -> ChannelItem {
    // Both sides come from `clock::rfc3339`, so they compare as strings.
    let soon = crate::clock::rfc3339(state.now() + EXPIRING_SOON_DAYS * crate::clock::DAY_MS);
    let token_expiring = c.is_active
        && c.token_expires_at
            .as_deref()
            .is_some_and(|t| t <= soon.as_str());
    ChannelItem {
        channel: c,
        token_expiring,
    }
}

#[server(prefix = "/rpc", endpoint = "list_channels")]
pub async fn list_channels() -> Result<Vec<ChannelItem>, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let list = crate::services::channels::list(&state, &me.account_id)
        .await
        .rpc()?;
    Ok(list.into_iter().map(|c| item(&state, c)).collect())
}

#[server(prefix = "/rpc", endpoint = "get_channel")]
pub async fn get_channel(id: String) -> Result<ChannelItem, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let c = crate::services::channels::get(&state, &me.account_id, &id)
        .await
        .rpc()?;
    Ok(item(&state, c))
}

#[server(prefix = "/rpc", endpoint = "channel_health")]
pub async fn channel_health(id: String, refresh: bool) -> Result<HealthPanel, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let h = crate::services::health::health(&state, &me.account_id, &id, refresh)
        .await
        .rpc()?;
    Ok(HealthPanel {
        checked_at: h.checked_at,
        checks: h
            .checks
            .into_iter()
            .map(|c| HealthLine {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
            })
            .collect(),
    })
}

/// Saves URL and events with the Portal's rule: never creates a secret.
#[server(prefix = "/rpc", endpoint = "save_webhook")]
pub async fn save_webhook(
    id: String,
    url: String,
    events: Option<Vec<String>>,
    media_mode: Option<String>,
    include_raw: Option<String>,
    retry_policy: Option<String>,
) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    if let Some(p) = retry_policy.as_deref().filter(|p| !p.is_empty()) {
        // How long deliveries are retried (SPEC §13).
        crate::services::channels::set_retry_policy(
            &crate::web::session::state()?,
            &me.account_id,
            &id,
            p,
        )
        .await
        .rpc()?;
    }
    // An unchecked box is absent from the form: off (SPEC §13).
    crate::services::channels::set_include_raw(
        &crate::web::session::state()?,
        &me.account_id,
        &id,
        include_raw.is_some_and(|v| !v.is_empty()),
    )
    .await
    .rpc()?;
    if let Some(m) = media_mode.as_deref().filter(|m| !m.is_empty()) {
        // How received media reaches the endpoint (SPEC §4.4).
        crate::services::media::set_mode(&crate::web::session::state()?, &me.account_id, &id, m)
            .await
            .rpc()?;
    }
    let url = url.trim().to_string();
    let settings = crate::services::channels::WebhookSettings {
        url: Some((!url.is_empty()).then_some(url)),
        secret: None,
        events: Some(events.unwrap_or_default()),
    };
    crate::services::channels::update_webhook_settings(
        &crate::web::session::state()?,
        &me.account_id,
        &id,
        &settings,
        false,
        crate::domain::SECRET_MAX_LEN_PORTAL,
    )
    .await
    .rpc()
    .map(|_| ())
}

/// *Generate random*: returns the new 64-hex secret, once.
#[server(prefix = "/rpc", endpoint = "generate_webhook_secret")]
pub async fn generate_webhook_secret(id: String) -> Result<String, ServerFnError> {
    let me = crate::web::session::require().await?;
    let u = crate::services::channels::generate_secret(
        &crate::web::session::state()?,
        &me.account_id,
        &id,
    )
    .await
    .rpc()?;
    Ok(u.webhook_secret.unwrap_or_default())
}

/// A custom secret of 16–64 characters; returned once.
#[server(prefix = "/rpc", endpoint = "set_webhook_secret")]
pub async fn set_webhook_secret(id: String, secret: String) -> Result<String, ServerFnError> {
    let me = crate::web::session::require().await?;
    let u = crate::services::channels::set_custom_secret(
        &crate::web::session::state()?,
        &me.account_id,
        &id,
        &secret,
        crate::domain::SECRET_MAX_LEN_PORTAL,
    )
    .await
    .rpc()?;
    Ok(u.webhook_secret.unwrap_or_default())
}

#[server(prefix = "/rpc", endpoint = "deactivate_channel")]
pub async fn deactivate_channel(id: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::channels::deactivate(&crate::web::session::state()?, &me.account_id, &id)
        .await
        .rpc()
        .map(|_| ())
}

/// Connect Channel / Reconnect: posted by a plain HTML form, answered with a
/// redirect into the hosted flow, which comes back to [`ConnectedPage`].
#[server(prefix = "/rpc", endpoint = "start_connect")]
pub async fn start_connect(channel_type: String) -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let setup = crate::services::connect::create_portal_setup_url(
        &crate::web::session::state()?,
        &me.account_id,
        &channel_type,
    )
    .await
    .rpc()?;
    leptos_axum::redirect(&setup.setup_url);
    Ok(())
}

/// Spends the code from the hosted flow; the Portal passes no webhook
/// settings, so no secret is created. Returns the channel id.
#[server(prefix = "/rpc", endpoint = "finish_connect")]
pub async fn finish_connect(code: String) -> Result<String, ServerFnError> {
    let me = crate::web::session::require().await?;
    let u = crate::services::connect::exchange_code(
        &crate::web::session::state()?,
        &me.account_id,
        &code,
        &crate::services::channels::WebhookSettings::default(),
    )
    .await
    .rpc()?;
    Ok(u.channel.id)
}

const START_CONNECT_URL: &str = "/rpc/start_connect";

// ---- pieces ------------------------------------------------------------------

/// A small coloured mark per channel type (text, so it needs no image files).
#[component]
fn TypeIcon(t: ChannelType) -> impl IntoView {
    let (mark, class) = match t {
        ChannelType::Whatsapp => ("WA", "bg-emerald-600"),
        ChannelType::Instagram => ("IG", "bg-pink-600"),
        ChannelType::Facebook => ("FB", "bg-blue-600"),
    };
    view! {
        <span class=format!("grid h-8 w-8 shrink-0 place-items-center rounded-lg text-xs font-bold text-white {class}") aria-hidden="true">{mark}</span>
    }
}

/// Number, @username or Page id: what identifies the asset to a person.
fn asset_line(c: &ChannelView) -> String {
    match c.channel_type {
        ChannelType::Whatsapp => c
            .phone_number
            .as_deref()
            .map(|p| format!("+{p}"))
            .unwrap_or_default(),
        ChannelType::Instagram => c
            .ig_username
            .as_deref()
            .map(|u| format!("@{u}"))
            .unwrap_or_default(),
        ChannelType::Facebook => c
            .page_id
            .as_deref()
            .map(|p| format!("Page {p}"))
            .unwrap_or_default(),
    }
}

fn status_badges(i: &ChannelItem) -> impl IntoView + use<> {
    let active = i.channel.is_active;
    let expiring = i.token_expiring;
    view! {
        {if active {
            view! { <Badge tone=Tone::Success text="active"/> }.into_any()
        } else {
            view! { <Badge tone=Tone::Neutral text="inactive"/> }.into_any()
        }}
        {expiring.then(|| view! { <Badge tone=Tone::Warning text="token expiring"/> })}
    }
}

fn subscription_text(c: &ChannelView) -> String {
    let s = &c.subscription;
    match (&s.source, &s.tier) {
        (Some(src), Some(tier)) => format!("{} · {src} {tier}", s.status),
        (Some(src), None) => format!("{} · {src}", s.status),
        _ => s.status.clone(),
    }
}

fn last_event(at: Option<String>) -> impl IntoView {
    match at {
        Some(t) => view! { <span>{super::ui::short_time(&t)}</span> }.into_any(),
        None => view! { <span class="text-slate-400" title="No event received yet">"—"</span> }
            .into_any(),
    }
}

fn quality_badge(q: Option<String>) -> impl IntoView {
    match q {
        None => view! { <span class="text-slate-400">"—"</span> }.into_any(),
        Some(q) => {
            let tone = match q.as_str() {
                "GREEN" => Tone::Success,
                "YELLOW" => Tone::Warning,
                "RED" => Tone::Danger,
                _ => Tone::Neutral,
            };
            view! { <Badge tone=tone text=q.to_lowercase()/> }.into_any()
        }
    }
}

/// Meta's standing of the WhatsApp account (SPEC §13).
fn account_status_badge(s: String) -> impl IntoView {
    let tone = match s.as_str() {
        "ok" => Tone::Success,
        "flagged" => Tone::Warning,
        "restricted" | "disabled" => Tone::Danger,
        _ => Tone::Neutral,
    };
    view! { <Badge tone=tone text=s/> }
}

/// A plain form (not `ActionForm`): the answer is a redirect into the hosted
/// flow, which the browser must follow as a full page navigation.
#[component]
fn ConnectButton(
    t: ChannelType,
    #[prop(into)] text: String,
    #[prop(optional)] variant: Variant,
) -> impl IntoView {
    view! {
        <form method="post" action=START_CONNECT_URL class="contents">
            <input type="hidden" name="channel_type" value=t.as_str()/>
            <button type="submit" id=format!("connect-{}", t.as_str()) class=button_class(variant)>{text}</button>
        </form>
    }
}

// ---- list ----------------------------------------------------------------------

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let me = use_me();
    let channels = Resource::new(|| (), |_| list_channels());
    view! {
        <Title text="Channels"/>
        <PageHeader title="Channels" description="A channel is one WhatsApp number, Instagram account or Facebook Page connected to this account. Each has its own webhook URL, events and signing secret."/>
        <div class="space-y-6">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let can_manage = me_of(me).await.is_some_and(|m| m.role.can_manage());
                    if can_manage {
                        view! {
                            <Card title="Connect Channel">
                                <p class="mb-4 text-sm text-slate-600">"Pick a type, then grant access in Meta's dialog. You come back here to set the channel's webhook."</p>
                                <div id="connect-choices" class="flex flex-col gap-3 sm:flex-row">
                                    {ChannelType::ALL.into_iter().map(|t| view! {
                                        <ConnectButton t=t text=t.label() variant=Variant::Secondary/>
                                    }).collect_view()}
                                </div>
                            </Card>
                        }.into_any()
                    } else {
                        view! { <Alert tone=Tone::Info>"Only owners and admins can connect channels."</Alert> }.into_any()
                    }
                })}
            </Suspense>
            <Card title="Your channels">
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match channels.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState title="No channels yet">"Connect a WhatsApp number, Instagram account or Facebook Page above."</EmptyState>
                            }.into_any(),
                            Ok(list) => view! { <ChannelTable items=list/> }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
        </div>
    }
}

#[component]
fn ChannelTable(items: Vec<ChannelItem>) -> impl IntoView {
    view! {
        <div class="-mx-5 overflow-x-auto">
            <table id="channels-table" class="min-w-full text-left text-sm">
                <thead class="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th class="px-5 py-2 font-medium">"Channel"</th>
                        <th class="px-5 py-2 font-medium">"Status"</th>
                        <th class="hidden px-5 py-2 font-medium md:table-cell">"Subscription"</th>
                        <th class="hidden px-5 py-2 font-medium sm:table-cell">"Quality"</th>
                        <th class="hidden px-5 py-2 font-medium lg:table-cell">"Last event"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {items.into_iter().map(|i| {
                        let c = i.channel.clone();
                        let href = format!("/channels/{}", c.id);
                        view! {
                            <tr data-channel-id=c.id.clone() data-channel-type=c.channel_type.as_str()>
                                <td class="px-5 py-3">
                                    <a href=href class="flex items-center gap-3 hover:underline">
                                        <TypeIcon t=c.channel_type/>
                                        <span class="min-w-0">
                                            <span class="block font-medium text-slate-900">{c.name.clone()}</span>
                                            <span class="block text-xs text-slate-500">{format!("{} · {}", c.channel_type.label(), asset_line(&c))}</span>
                                        </span>
                                    </a>
                                </td>
                                <td class="px-5 py-3"><span class="channel-status flex flex-wrap gap-1">{status_badges(&i)}</span></td>
                                <td class="hidden px-5 py-3 text-slate-600 md:table-cell">{subscription_text(&c)}</td>
                                <td class="hidden px-5 py-3 sm:table-cell">{quality_badge(c.quality_rating.clone())}</td>
                                <td class="channel-last-event hidden px-5 py-3 text-slate-600 lg:table-cell">{last_event(c.last_event_at.clone())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

// ---- the way back from the hosted flow ----------------------------------------------

#[component]
pub fn ConnectedPage() -> impl IntoView {
    let q = use_query_map();
    let code = q.read_untracked().get("code").unwrap_or_default();
    let error = q.read_untracked().get("error").unwrap_or_default();
    let message = q.read_untracked().get("message").unwrap_or_default();
    let outcome = Resource::new(
        move || code.clone(),
        |code| async move {
            if code.is_empty() {
                Ok(None)
            } else {
                finish_connect(code).await.map(Some)
            }
        },
    );
    view! {
        <Title text="Connect Channel"/>
        <PageHeader title="Connect Channel"/>
        <div id="connect-result" class="max-w-2xl space-y-4">
            <Suspense fallback=|| view! { <Loading text="Finishing the connection…"/> }>
                {move || {
                    let error = error.clone();
                    let message = message.clone();
                    Suspend::new(async move {
                        match outcome.await {
                            Ok(Some(id)) => view! {
                                <Redirect path=format!("/channels/{id}")/>
                                <Alert tone=Tone::Success>"Channel connected. Opening its settings…"</Alert>
                            }.into_any(),
                            Err(e) => view! {
                                <Alert tone=Tone::Danger>{format!("The channel could not be connected: {}", error_text(&e))}</Alert>
                                <BackToChannels/>
                            }.into_any(),
                            Ok(None) if error == "access_denied" => view! {
                                <Alert tone=Tone::Warning>"Access was not granted: the dialog was cancelled, so nothing was connected."</Alert>
                                <BackToChannels/>
                            }.into_any(),
                            Ok(None) if error == "setup_failed" => view! {
                                <Alert tone=Tone::Danger>
                                    <p class="font-medium">"The setup failed."</p>
                                    <p class="mt-1">{if message.is_empty() { "No reason was given.".to_string() } else { message.clone() }}</p>
                                </Alert>
                                <BackToChannels/>
                            }.into_any(),
                            Ok(None) => view! {
                                <Alert tone=Tone::Neutral>"Nothing to finish here: this page is where Meta's dialog returns to."</Alert>
                                <BackToChannels/>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
    }
}

#[component]
fn BackToChannels() -> impl IntoView {
    view! { <a href="/channels" class=button_class(Variant::Secondary)>"Back to channels"</a> }
}

// ---- settings ------------------------------------------------------------------------

#[component]
pub fn ChannelPage() -> impl IntoView {
    let me = use_me();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let save = ServerAction::<SaveWebhook>::new();
    let generate = ServerAction::<GenerateWebhookSecret>::new();
    let custom = ServerAction::<SetWebhookSecret>::new();
    let deactivate = ServerAction::<DeactivateChannel>::new();
    let test_event = ServerAction::<super::deliveries::SendTestEvent>::new();
    let channel = Resource::new(
        move || {
            (
                id.get(),
                save.version().get(),
                generate.version().get(),
                custom.version().get(),
                deactivate.version().get(),
            )
        },
        |(id, ..)| get_channel(id),
    );
    let recheck = RwSignal::new(0usize);
    let health = Resource::new(
        move || (id.get(), recheck.get() + deactivate.version().get()),
        |(id, n)| channel_health(id, n > 0),
    );
    // The secret set by this page view, shown until the page is left.
    let revealed = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = generate.value().get() {
            revealed.set(Some(s));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = custom.value().get() {
            revealed.set(Some(s));
        }
    });
    view! {
        <Title text="Channel settings"/>
        <p class="mb-2"><a href="/channels" class="text-sm text-brand-600 hover:underline">"← Channels"</a></p>
        <super::two_step_pin::TwoStepPinNotice channel_id=id/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let can_manage = me_of(me).await.is_some_and(|m| m.role.can_manage());
                match channel.await {
                    Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                    Ok(i) => {
                        let c = i.channel.clone();
                        let t = c.channel_type;
                        let id = c.id.clone();
                        view! {
                            <header class="mb-6 flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
                                <div class="flex min-w-0 items-center gap-3">
                                    <TypeIcon t=t/>
                                    <div class="min-w-0">
                                        <h1 id="channel-name" class="truncate text-2xl font-semibold tracking-tight text-slate-900">{c.name.clone()}</h1>
                                        <p class="text-sm text-slate-600">{format!("{} · {}", t.label(), asset_line(&c))}</p>
                                    </div>
                                </div>
                                <div id="channel-status" class="flex flex-wrap items-center gap-2">
                                    {status_badges(&i)}
                                    {(can_manage && !c.is_active).then(|| view! {
                                        <ConnectButton t=t text="Reconnect"/>
                                    })}
                                    {(can_manage && c.is_active).then(|| {
                                        let id = id.clone();
                                        view! {
                                            <Confirm text="Deactivate" label=format!("Deactivate {}", c.name) question="Messages stop flowing for this channel. Its settings and history are kept; reconnecting restores it. Deactivate?">
                                                <ActionForm action=deactivate>
                                                    <input type="hidden" name="id" value=id/>
                                                    <button type="submit" id="deactivate-confirm" class=button_class(Variant::Primary)>"Yes, deactivate"</button>
                                                </ActionForm>
                                            </Confirm>
                                        }
                                    })}
                                </div>
                            </header>
                            <div class="space-y-6">
                                <ActionResult value=deactivate.value().into() success="Channel deactivated. Reconnect it to receive and send messages again."/>
                                {(!c.is_active).then(|| view! {
                                    <Alert tone=Tone::Warning>"This channel is inactive: nothing is received or sent. Reconnect runs Meta's dialog again and brings this same channel back with its settings."</Alert>
                                })}
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="space-y-6 lg:col-span-2">
                                        <WebhookCard c=c.clone() save=save can_manage=can_manage/>
                                        <SecretCard c=c.clone() generate=generate custom=custom revealed=revealed can_manage=can_manage/>
                                        {(c.channel_type == ChannelType::Whatsapp && c.is_active).then(|| view! {
                                            <super::register::RegisterCard channel_id=c.id.clone()/>
                                        })}
                                        <super::send_test::SendTestCard c=c.clone()/>
                                        <super::deliveries::TestEventCard channel_id=id.clone() action=test_event/>
                                    </div>
                                    <div class="space-y-6">
                                        {(t == ChannelType::Whatsapp).then(|| view! {
                                            <Card title="Message templates">
                                                <p class="text-sm text-slate-600">"Approved templates reach people outside the 24-hour window."</p>
                                                <a id="templates-link" href=format!("/channels/{id}/templates") class="mt-3 inline-block text-sm font-medium text-brand-600 hover:underline">"Manage templates →"</a>
                                            </Card>
                                        })}
                                        <DetailsCard c=c.clone()/>
                                    </div>
                                </div>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <div class="mt-6">
            <Card title="Health">
                <Transition fallback=|| view! { <Loading text="Checking…"/> }>
                    {move || Suspend::new(async move {
                        match health.await {
                            Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                            Ok(h) => view! {
                                <ul id="health-checks" class="divide-y divide-slate-100">
                                    {h.checks.into_iter().map(|c| view! {
                                        <li class="flex items-start gap-3 py-2" data-check=c.name.clone() data-ok=c.ok.to_string()>
                                            <span class="w-16 shrink-0"><Badge tone=if c.ok { Tone::Success } else { Tone::Danger } text=if c.ok { "ok" } else { "problem" }/></span>
                                            <div class="min-w-0">
                                                <p class="text-sm font-medium text-slate-900">{c.name.replace('_', " ")}</p>
                                                <p class="text-xs break-words text-slate-500">{c.detail}</p>
                                            </div>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <p class="mt-3 text-xs text-slate-500">{format!("Checked {}", short_time(&h.checked_at))}</p>
                            }.into_any(),
                        }
                    })}
                </Transition>
                <button type="button" id="health-recheck" class=format!("mt-3 {}", button_class(Variant::Secondary)) on:click=move |_| recheck.update(|n| *n += 1)>"Check again"</button>
            </Card>
        </div>
    }
}

#[component]
fn WebhookCard(c: ChannelView, save: ServerAction<SaveWebhook>, can_manage: bool) -> impl IntoView {
    let events = c.channel_type.events();
    let chosen = c.webhook_events.clone();
    view! {
        <Card title="Webhook">
            <ActionForm action=save attr:id="webhook-form" attr:class="space-y-4">
                <input type="hidden" name="id" value=c.id.clone()/>
                <Field label="Webhook URL" name="url" id="webhook-url" kind="url" value=c.webhook_url.clone().unwrap_or_default() placeholder="https://example.com/switchboard" hint="Switchboard POSTs the chosen events here. Leave empty to stop deliveries."/>
                <fieldset>
                    <legend class="text-sm font-medium text-slate-700">"Events"</legend>
                    <p class="text-xs text-slate-500">{format!("Nothing is delivered until you choose. These are the events of {} channels.", c.channel_type.label())}</p>
                    <div class="mt-2 grid gap-2 sm:grid-cols-2">
                        {events.iter().map(|e| {
                            let on = chosen.iter().any(|x| x == e);
                            let input_id = format!("event-{}", e.replace('.', "-"));
                            let label_for = input_id.clone();
                            view! {
                                <label for=label_for class="flex items-center gap-2 text-sm text-slate-800">
                                    <input type="checkbox" id=input_id name="events[]" value=*e checked=on class="h-4 w-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"/>
                                    <span class="font-mono text-xs">{*e}</span>
                                </label>
                            }
                        }).collect_view()}
                    </div>
                </fieldset>
                <Select label="Received media" name="media_mode" id="webhook-media-mode"
                    options=crate::domain::media::MediaMode::ALL.iter().map(|m| (m.as_str().to_string(), m.label().to_string())).collect()
                    selected=c.media_mode.clone()/>
                <Select label="Retry horizon" name="retry_policy" id="webhook-retry-policy"
                    options=vec![
                        ("standard".to_string(), "Standard: retried for up to 20 minutes".to_string()),
                        ("extended".to_string(), "Extended: retried for up to 24 hours".to_string()),
                    ]
                    selected=c.retry_policy.clone()/>
                <label for="webhook-include-raw" class="flex items-center gap-2 text-sm text-slate-800">
                    <input type="checkbox" id="webhook-include-raw" name="include_raw" value="on" checked=c.include_raw class="h-4 w-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"/>
                    <span>"Include Meta's raw payload item in every event (" <code class="font-mono text-xs">"raw"</code> ")"</span>
                </label>
                <ActionResult value=save.value().into() success="Webhook settings saved."/>
                {can_manage.then(|| view! { <Button id="webhook-save" pending=save.pending()>"Save"</Button> })}
            </ActionForm>
        </Card>
    }
}

#[component]
fn SecretCard(
    c: ChannelView,
    generate: ServerAction<GenerateWebhookSecret>,
    custom: ServerAction<SetWebhookSecret>,
    revealed: RwSignal<Option<String>>,
    can_manage: bool,
) -> impl IntoView {
    let has = c.has_webhook_secret;
    let id = c.id.clone();
    // A generated secret can only be shown by the running app: before
    // hydration the form post would set it and the answer would be lost.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let generate_busy = Signal::derive(move || generate.pending().get() || !hydrated.get());
    let id2 = c.id.clone();
    view! {
        <Card title="Signing secret">
            <p class="text-sm text-slate-600">"Every delivery is signed with this secret so your endpoint can check it came from Switchboard. It is shown once, right after it is set."</p>
            <p class="mt-3 flex items-center gap-2 text-sm">
                "Status: "
                <span id="secret-status">
                    {if has {
                        view! { <Badge tone=Tone::Success text="secret set"/> }.into_any()
                    } else {
                        view! { <Badge tone=Tone::Warning text="secret not set"/> }.into_any()
                    }}
                </span>
            </p>
            {move || revealed.get().map(|s| view! {
                <div id="secret-reveal" class="mt-4 space-y-2 rounded-lg border border-emerald-200 bg-emerald-50 p-4">
                    <p class="text-sm font-medium text-emerald-900">"Copy the secret now: it will not be shown again."</p>
                    <CopyField id="secret-value" value=s/>
                </div>
            })}
            {can_manage.then(|| view! {
                <div class="mt-4 space-y-4">
                    <ActionForm action=generate attr:id="generate-form">
                        <input type="hidden" name="id" value=id.clone()/>
                        <Button id="secret-generate" variant=Variant::Secondary pending=generate_busy>"Generate random"</Button>
                    </ActionForm>
                    <div id="generate-result"><ActionResult value=generate.value().into()/></div>
                    <ActionForm action=custom attr:id="custom-secret-form" attr:class="flex flex-col gap-3 sm:flex-row sm:items-end">
                        <input type="hidden" name="id" value=id2.clone()/>
                        <div class="flex-1">
                            <Field label="Or set your own" name="secret" id="custom-secret" kind="password" autocomplete="off"/>
                        </div>
                        <Button id="secret-save" pending=custom.pending()>"Save"</Button>
                    </ActionForm>
                    <p class="-mt-2 text-xs text-slate-500">"16 to 64 printable characters, no spaces."</p>
                    <div id="custom-secret-result"><ActionResult value=custom.value().into()/></div>
                </div>
            })}
        </Card>
    }
}

#[component]
fn DetailsCard(c: ChannelView) -> impl IntoView {
    let mut rows: Vec<(&'static str, String)> = vec![("Channel id", c.id.clone())];
    if let Some(v) = &c.phone_number_id {
        rows.push(("Phone number id", v.clone()));
    }
    if let Some(v) = &c.waba_id {
        rows.push(("WABA", v.clone()));
    }
    if let Some(v) = &c.ig_account_id {
        rows.push(("Instagram account", v.clone()));
    }
    if let Some(v) = &c.page_id {
        rows.push(("Page", v.clone()));
    }
    rows.push(("Connection", c.connection.clone()));
    rows.push(("Connected", short_time(&c.connected_at)));
    rows.push((
        "Token expires",
        c.token_expires_at
            .as_deref()
            .map(short_time)
            .unwrap_or_else(|| "never".into()),
    ));
    rows.push(("Subscription", subscription_text(&c)));
    view! {
        <Card title="Details">
            <dl class="space-y-2 text-sm">
                {rows.into_iter().map(|(k, v)| view! {
                    <div>
                        <dt class="text-xs text-slate-500">{k}</dt>
                        <dd class="font-mono text-xs break-all text-slate-900">{v}</dd>
                    </div>
                }).collect_view()}
                <div>
                    <dt class="text-xs text-slate-500">"Quality rating"</dt>
                    <dd id="channel-quality-rating">{quality_badge(c.quality_rating.clone())}</dd>
                </div>
                {c.account_status.clone().map(|s| { let badge = account_status_badge(s.clone()); view! {
                    <div>
                        <dt class="text-xs text-slate-500">"Account status"</dt>
                        <dd id="channel-account-status" data-status=s>{badge}</dd>
                    </div>
                }})}
            </dl>
        </Card>
    }
}
