//! Webhooks & deliveries: the delivery log with filters and paging, one
//! delivery's attempt timeline and payload with *Retry*, and the channel
//! settings' *Send test event* (SPEC §4.3).

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use super::ui::*;
use crate::domain::deliveries::{AttemptView, DELIVERY_STATUSES, DeliveryView, TestEventView};

/// A row of the log: the delivery plus the channel's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryItem {
    pub delivery: DeliveryView,
    pub channel_name: Option<String>,
    /// The event's media file, with a fresh link (detail view only).
    #[serde(default)]
    pub media: Option<MediaPreview>,
}

/// A stored media file of an event, for the payload view (SPEC §4.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaPreview {
    pub url: String,
    pub mime_type: String,
    pub filename: Option<String>,
}

#[cfg(feature = "ssr")]
async fn media_preview(
    state: &crate::state::AppState,
    account_id: &str,
    payload: Option<&serde_json::Value>,
) -> Option<MediaPreview> {
    let m = payload?.pointer("/data/media")?;
    let id = m.get("id")?.as_str()?;
    let url = crate::services::media::fresh_link(state, account_id, id)
        .await
        .ok()??;
    Some(MediaPreview {
        url,
        mime_type: m
            .get("mime_type")
            .and_then(|v| v.as_str())
            .unwrap_or("application/octet-stream")
            .to_string(),
        filename: m
            .get("filename")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryItem>,
    pub next_cursor: Option<String>,
}

/// A channel to filter by: id and a name a person recognises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelOption {
    pub id: String,
    pub label: String,
}

#[cfg(feature = "ssr")]
async fn channel_names(
    state: &crate::state::AppState,
    account_id: &str,
) -> Result<Vec<ChannelOption>, ServerFnError> {
    let list = crate::services::channels::list(state, account_id)
        .await
        .rpc()?;
    Ok(list
        .into_iter()
        .map(|c| {
            let asset = c
                .phone_number
                .as_deref()
                .map(|p| format!("+{p}"))
                .or_else(|| c.ig_username.as_deref().map(|u| format!("@{u}")))
                .or_else(|| c.page_id.clone())
                .unwrap_or_else(|| c.channel_type.label().to_string());
            ChannelOption {
                label: format!("{} · {asset}", c.name),
                id: c.id,
            }
        })
        .collect())
}

#[cfg(feature = "ssr")]
fn name_of(channels: &[ChannelOption], id: &Option<String>) -> Option<String> {
    let id = id.as_deref()?;
    channels
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.label.clone())
}

#[server(prefix = "/rpc", endpoint = "delivery_channels")]
pub async fn delivery_channels() -> Result<Vec<ChannelOption>, ServerFnError> {
    let me = crate::web::session::require().await?;
    channel_names(&crate::web::session::state()?, &me.account_id).await
}

#[server(prefix = "/rpc", endpoint = "list_deliveries")]
pub async fn list_deliveries(
    channel_id: Option<String>,
    status: Option<String>,
    event: Option<String>,
    cursor: Option<String>,
) -> Result<DeliveryPage, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let params = crate::services::deliveries::ListParams {
        channel_id,
        status,
        event,
        cursor,
        limit: Some("25".into()),
    };
    let list = crate::services::deliveries::list(&state, &me.account_id, &params)
        .await
        .rpc()?;
    let channels = channel_names(&state, &me.account_id).await?;
    Ok(DeliveryPage {
        items: list
            .deliveries
            .into_iter()
            .map(|d| DeliveryItem {
                media: None,
                channel_name: name_of(&channels, &d.channel_id),
                delivery: d,
            })
            .collect(),
        next_cursor: list.next_cursor,
    })
}

#[server(prefix = "/rpc", endpoint = "get_delivery")]
pub async fn get_delivery(id: String) -> Result<DeliveryItem, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let d = crate::services::deliveries::get(&state, &me.account_id, &id)
        .await
        .rpc()?;
    let channels = channel_names(&state, &me.account_id).await?;
    Ok(DeliveryItem {
        media: media_preview(&state, &me.account_id, d.payload.as_ref()).await,
        channel_name: name_of(&channels, &d.channel_id),
        delivery: d,
    })
}

/// *Retry*: a new delivery of the same event; returns it.
#[server(prefix = "/rpc", endpoint = "retry_delivery")]
pub async fn retry_delivery(id: String) -> Result<DeliveryView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::deliveries::retry(&crate::web::session::state()?, &me.account_id, &id)
        .await
        .rpc()
}

/// *Send test event* on a channel's settings page.
#[server(prefix = "/rpc", endpoint = "send_test_event")]
pub async fn send_test_event(id: String) -> Result<TestEventView, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::deliveries::send_test_event(
        &crate::web::session::state()?,
        &me.account_id,
        &id,
    )
    .await
    .rpc()
}

// ---- pieces ------------------------------------------------------------------

/// The event's media: images inline, every file as a download.
#[component]
fn MediaBox(m: MediaPreview) -> impl IntoView {
    let image = m.mime_type.starts_with("image/");
    let name = m
        .filename
        .clone()
        .unwrap_or_else(|| "Download the file".into());
    view! {
        <div id="delivery-media" class="mb-4 flex flex-col gap-2 sm:flex-row sm:items-end">
            {image.then(|| view! {
                <img src=m.url.clone() alt="The media of this event" class="max-h-48 max-w-full rounded-lg border border-slate-200 bg-slate-50 object-contain"/>
            })}
            <a id="delivery-media-download" href=m.url.clone() download=m.filename.clone().unwrap_or_default() class="text-sm font-medium text-brand-600 hover:underline">
                {format!("{name} ({})", m.mime_type)}
            </a>
        </div>
    }
}

fn status_tone(status: &str) -> Tone {
    match status {
        "delivered" => Tone::Success,
        "pending" => Tone::Info,
        "failed" => Tone::Warning,
        "exhausted" => Tone::Danger,
        _ => Tone::Neutral,
    }
}

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    view! { <span class="delivery-status"><Badge tone=status_tone(&status) text=status.clone()/></span> }
}

/// Every event name the filter offers.
const EVENT_NAMES: &[&str] = &[
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.echo",
    "channel.connected",
    "channel.disconnected",
    "channel.token_expiring",
    "template.status_updated",
    "delivery.exhausted",
    "phone_number.connected",
    "channel.account_update",
];

/// The filters as they are in the address bar.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    channel_id: Option<String>,
    status: Option<String>,
    event: Option<String>,
    cursor: Option<String>,
}

impl Filters {
    fn any(&self) -> bool {
        self.channel_id.is_some() || self.status.is_some() || self.event.is_some()
    }

    /// `/deliveries?…` with these filters and `cursor`.
    fn href(&self, cursor: Option<&str>) -> String {
        let mut parts: Vec<String> = vec![];
        for (k, v) in [
            ("channel_id", self.channel_id.as_deref()),
            ("status", self.status.as_deref()),
            ("event", self.event.as_deref()),
            ("cursor", cursor),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if parts.is_empty() {
            "/deliveries".into()
        } else {
            format!("/deliveries?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes a query value (cursors are base64url; the rest is ASCII).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `2026-01-15T10:30:05Z` as `2026-01-15 10:30:05 UTC`: retries are seconds apart.
fn long_time(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((date, time)) if time.len() >= 8 => format!("{date} {} UTC", &time[..8]),
        _ => rfc3339.to_string(),
    }
}

fn attempts_text(n: usize) -> String {
    match n {
        0 => "none yet".into(),
        1 => "1 attempt".into(),
        n => format!("{n} attempts"),
    }
}

fn delivery_row(i: DeliveryItem) -> impl IntoView {
    let d = i.delivery;
    let href = format!("/deliveries/{}", d.id);
    let channel = i
        .channel_name
        .unwrap_or_else(|| d.channel_id.clone().unwrap_or_else(|| "account".into()));
    let attempts = d.attempts.len();
    view! {
        <tr data-delivery-id=d.id.clone() data-event-id=d.event_id.clone() class="hover:bg-slate-50">
            <td class="hidden whitespace-nowrap px-5 py-3 text-slate-600 sm:table-cell">
                <a href=href.clone() class="hover:underline">{short_time(&d.created_at)}</a>
            </td>
            <td class="px-5 py-3">
                <a href=href class="font-mono text-xs font-medium text-slate-900 hover:underline">{d.event.clone()}</a>
                <span class="block text-xs text-slate-500 sm:hidden">{format!("{} · {}", short_time(&d.created_at), attempts_text(attempts))}</span>
            </td>
            <td class="hidden px-5 py-3 text-slate-700 md:table-cell">{channel}</td>
            <td class="hidden max-w-[16rem] truncate px-5 py-3 font-mono text-xs text-slate-600 lg:table-cell" title=d.endpoint_url.clone()>{d.endpoint_url.clone()}</td>
            <td class="px-5 py-3"><StatusBadge status=d.status.clone()/></td>
            <td class="delivery-attempts hidden whitespace-nowrap px-5 py-3 text-slate-600 sm:table-cell">{attempts_text(attempts)}</td>
        </tr>
    }
}

// ---- the log -------------------------------------------------------------------

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let q = use_query_map();
    let filters = Memo::new(move |_| {
        let q = q.read();
        let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
        Filters {
            channel_id: get("channel_id"),
            status: get("status"),
            event: get("event"),
            cursor: get("cursor"),
        }
    });
    let channels = Resource::new(|| (), |_| delivery_channels());
    let page = Resource::new(
        move || filters.get(),
        |f| list_deliveries(f.channel_id, f.status, f.event, f.cursor),
    );
    // Pages fetched by *Load more* in the running app, appended below the first.
    let extra = RwSignal::new(Vec::<DeliveryItem>::new());
    let extra_cursor = RwSignal::new(None::<Option<String>>);
    let more_busy = RwSignal::new(false);
    let more_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        filters.track();
        extra.set(vec![]);
        extra_cursor.set(None);
        more_error.set(None);
    });
    let reload = move |_| page.refetch();
    view! {
        <Title text="Webhooks & deliveries"/>
        <PageHeader title="Webhooks & deliveries" description="Every event sent to your endpoints, newest first, with each attempt. Open a delivery to see the responses and the payload, or to retry it."/>
        <div class="space-y-6">
            <Card>
                <form method="get" action="/deliveries" id="delivery-filters" class="grid gap-3 sm:grid-cols-2 lg:grid-cols-4 lg:items-end">
                    <Transition fallback=|| view! { <Select label="Channel" name="channel_id" id="filter-channel" options=vec![(String::new(), "All channels".to_string())]/> }>
                        {move || Suspend::new(async move {
                            let mut options = vec![(String::new(), "All channels".to_string())];
                            if let Ok(list) = channels.await {
                                options.extend(list.into_iter().map(|c| (c.id, c.label)));
                            }
                            let selected = filters.get_untracked().channel_id.unwrap_or_default();
                            view! { <Select label="Channel" name="channel_id" id="filter-channel" options=options selected=selected/> }
                        })}
                    </Transition>
                    {move || {
                        let f = filters.get();
                        let mut statuses = vec![(String::new(), "Any status".to_string())];
                        statuses.extend(DELIVERY_STATUSES.iter().map(|s| (s.to_string(), s.to_string())));
                        let mut events = vec![(String::new(), "Any event".to_string())];
                        events.extend(EVENT_NAMES.iter().map(|e| (e.to_string(), e.to_string())));
                        view! {
                            <Select label="Status" name="status" id="filter-status" options=statuses selected=f.status.unwrap_or_default()/>
                            <Select label="Event" name="event" id="filter-event" options=events selected=f.event.unwrap_or_default()/>
                        }
                    }}
                    <div class="flex gap-2">
                        <button type="submit" id="filter-apply" class=button_class(Variant::Primary)>"Filter"</button>
                        <a href="/deliveries" class=button_class(Variant::Secondary)>"Reset"</a>
                    </div>
                </form>
            </Card>
            <Card>
                <div class="mb-3 flex items-center justify-between gap-3">
                    <h2 class="text-base font-semibold text-slate-900">"Deliveries"</h2>
                    <button type="button" id="deliveries-refresh" class=button_class(Variant::Secondary) on:click=reload>"Refresh"</button>
                </div>
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        let f = filters.get_untracked();
                        match page.await {
                            Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                            Ok(p) if p.items.is_empty() && f.cursor.is_some() => view! {
                                <EmptyState title="No older deliveries">
                                    <a href=f.href(None) class="font-medium text-brand-600 hover:underline">"Back to the newest"</a>
                                </EmptyState>
                            }.into_any(),
                            Ok(p) if p.items.is_empty() && f.any() => view! {
                                <EmptyState title="No deliveries match these filters">
                                    <a href="/deliveries" class="font-medium text-brand-600 hover:underline">"Show all deliveries"</a>
                                </EmptyState>
                            }.into_any(),
                            Ok(p) if p.items.is_empty() => view! {
                                <EmptyState title="No deliveries yet">
                                    "Set a webhook URL and choose events on a "<a href="/channels" class="font-medium text-brand-600 hover:underline">"channel"</a>
                                    ", or use its Send test event button. Deliveries show up here."
                                </EmptyState>
                            }.into_any(),
                            Ok(p) => {
                                let first_next = p.next_cursor.clone();
                                let next = Signal::derive(move || extra_cursor.get().unwrap_or_else(|| first_next.clone()));
                                let f2 = f.clone();
                                let load_more = move |ev: leptos::ev::MouseEvent| {
                                    ev.prevent_default();
                                    let Some(cursor) = next.get_untracked() else { return };
                                    let f = f2.clone();
                                    more_busy.set(true);
                                    more_error.set(None);
                                    leptos::task::spawn_local(async move {
                                        match list_deliveries(f.channel_id, f.status, f.event, Some(cursor)).await {
                                            Ok(p) => {
                                                extra.update(|v| v.extend(p.items));
                                                extra_cursor.set(Some(p.next_cursor));
                                            }
                                            Err(e) => more_error.set(Some(error_text(&e))),
                                        }
                                        more_busy.set(false);
                                    });
                                };
                                view! {
                                    {f.cursor.is_some().then(|| view! {
                                        <p class="mb-3 text-sm"><a href=f.href(None) class="font-medium text-brand-600 hover:underline">"← Newest deliveries"</a></p>
                                    })}
                                    <div class="-mx-5 overflow-x-auto">
                                        <table id="deliveries-table" class="min-w-full text-left text-sm">
                                            <thead class="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
                                                <tr>
                                                    <th class="hidden px-5 py-2 font-medium sm:table-cell">"Time"</th>
                                                    <th class="px-5 py-2 font-medium">"Event"</th>
                                                    <th class="hidden px-5 py-2 font-medium md:table-cell">"Channel"</th>
                                                    <th class="hidden px-5 py-2 font-medium lg:table-cell">"Endpoint"</th>
                                                    <th class="px-5 py-2 font-medium">"Status"</th>
                                                    <th class="hidden px-5 py-2 font-medium sm:table-cell">"Attempts"</th>
                                                </tr>
                                            </thead>
                                            <tbody class="divide-y divide-slate-100">
                                                {p.items.into_iter().map(delivery_row).collect_view()}
                                                {move || extra.get().into_iter().map(delivery_row).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                    {move || more_error.get().map(|e| view! { <div class="mt-3"><Alert tone=Tone::Danger>{e}</Alert></div> })}
                                    {move || next.get().map(|c| {
                                        let href = f.href(Some(&c));
                                        view! {
                                            <div class="mt-4 flex justify-center">
                                                <a id="load-more" href=href class=button_class(Variant::Secondary) on:click=load_more.clone() aria-busy=move || more_busy.get().to_string()>
                                                    {move || if more_busy.get() { "Loading…" } else { "Load more" }}
                                                </a>
                                            </div>
                                        }
                                    })}
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </Card>
        </div>
    }
}

// ---- one delivery ----------------------------------------------------------------

fn code_badge(a: &AttemptView) -> impl IntoView + use<> {
    match a.status_code {
        Some(c) if (200..300).contains(&c) => {
            view! { <Badge tone=Tone::Success text=c.to_string()/> }.into_any()
        }
        Some(c) => view! { <Badge tone=Tone::Danger text=c.to_string()/> }.into_any(),
        None => view! { <Badge tone=Tone::Danger text="no response"/> }.into_any(),
    }
}

fn waiting_text(d: &DeliveryView) -> &'static str {
    match d.status.as_str() {
        "held" => {
            "Held: deliveries wait while the account has no active license and go out in order once one starts."
        }
        "pending" => "Waiting for its first attempt.",
        _ => "No attempt was made.",
    }
}

#[component]
fn AttemptList(d: DeliveryView) -> impl IntoView {
    if d.attempts.is_empty() {
        return view! { <EmptyState title="No attempts yet">{waiting_text(&d)}</EmptyState> }
            .into_any();
    }
    view! {
        <ol id="attempts" class="space-y-4 border-l-2 border-slate-200 pl-4">
            {d.attempts.into_iter().enumerate().map(|(n, a)| {
                let response = a.response.clone().flatten();
                view! {
                    <li class="attempt relative" data-status-code=a.status_code.map(|c| c.to_string()).unwrap_or_default()>
                        <span class="absolute -left-[1.4rem] top-1 h-3 w-3 rounded-full border-2 border-white bg-slate-400" aria-hidden="true"></span>
                        <div class="flex flex-wrap items-center gap-2 text-sm">
                            <span class="font-medium text-slate-900">{format!("Attempt {}", n + 1)}</span>
                            {code_badge(&a)}
                            <span class="text-slate-500">{long_time(&a.at)}</span>
                            <span class="text-slate-500">{format!("{} ms", a.latency_ms)}</span>
                        </div>
                        {a.error.clone().map(|e| view! { <p class="attempt-error mt-1 text-sm break-words text-red-700">{e}</p> })}
                        {response.map(|r| view! {
                            <details class="mt-2">
                                <summary class="cursor-pointer text-xs font-medium text-slate-600">"Response"</summary>
                                <pre class="mt-1 max-h-48 overflow-auto rounded-lg bg-slate-50 p-3 text-xs break-all whitespace-pre-wrap text-slate-800">{r}</pre>
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let retry = ServerAction::<RetryDelivery>::new();
    let refresh = RwSignal::new(0usize);
    let delivery = Resource::new(
        move || (id.get(), refresh.get(), retry.version().get()),
        |(id, ..)| get_delivery(id),
    );
    view! {
        <Title text="Delivery"/>
        <p class="mb-2"><a href="/deliveries" class="text-sm text-brand-600 hover:underline">"← Deliveries"</a></p>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match delivery.await {
                    Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                    Ok(i) => {
                        let d = i.delivery.clone();
                        let channel = match (&d.channel_id, i.channel_name.clone()) {
                            (Some(cid), name) => view! {
                                <a href=format!("/channels/{cid}") class="text-brand-600 hover:underline">{name.unwrap_or_else(|| cid.clone())}</a>
                            }.into_any(),
                            (None, _) => view! { <span>"Account event endpoint"</span> }.into_any(),
                        };
                        let payload = d.payload.clone().filter(|p| !p.is_null()).map(|p| serde_json::to_string_pretty(&p).unwrap_or_default());
                        let rows: Vec<(&'static str, String)> = vec![
                            ("Delivery id", d.id.clone()),
                            ("Event id", d.event_id.clone()),
                            ("Endpoint", d.endpoint_url.clone()),
                            ("Created", long_time(&d.created_at)),
                            ("Next attempt", d.next_attempt_at.as_deref().map(long_time).unwrap_or_else(|| "—".into())),
                        ];
                        let did = d.id.clone();
                        view! {
                            <header class="mb-6 flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
                                <div class="min-w-0">
                                    <h1 id="delivery-event" class="font-mono text-xl font-semibold break-all text-slate-900">{d.event.clone()}</h1>
                                    <p class="mt-1 flex items-center gap-2 text-sm text-slate-600">
                                        <span id="delivery-status"><StatusBadge status=d.status.clone()/></span>
                                        {attempts_text(d.attempts.len())}
                                    </p>
                                </div>
                                <div class="flex flex-wrap gap-2">
                                    <button type="button" id="delivery-refresh" class=button_class(Variant::Secondary) on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
                                    <ActionForm action=retry attr:id="retry-form">
                                        <input type="hidden" name="id" value=did/>
                                        <Button id="retry" pending=retry.pending()>"Retry"</Button>
                                    </ActionForm>
                                </div>
                            </header>
                            <div class="space-y-6">
                                <div id="retry-result">
                                    {move || retry.value().get().map(|r| match r {
                                        Ok(new) => view! {
                                            <Alert tone=Tone::Success>
                                                "Retry queued as a new delivery to the channel's current URL. "
                                                <a id="retry-new" href=format!("/deliveries/{}", new.id) class="font-medium underline">"Open it"</a>
                                            </Alert>
                                        }.into_any(),
                                        Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                                    })}
                                </div>
                                <div class="grid gap-6 lg:grid-cols-3">
                                    <div class="min-w-0 space-y-6 lg:col-span-2">
                                        <Card title="Attempts">
                                            <AttemptList d=d.clone()/>
                                        </Card>
                                        <Card title="Payload">
                                            {i.media.clone().map(|m| view! { <MediaBox m/> })}
                                            {match payload {
                                                Some(p) => view! { <pre id="delivery-payload" class="max-h-96 overflow-auto rounded-lg bg-slate-50 p-3 text-xs text-slate-800">{p}</pre> }.into_any(),
                                                None => view! { <EmptyState title="Payload not available">"The event is no longer stored (events are kept for the retention period)."</EmptyState> }.into_any(),
                                            }}
                                        </Card>
                                    </div>
                                    <div class="self-start"><Card title="Details">
                                        <dl class="space-y-2 text-sm">
                                            <div>
                                                <dt class="text-xs text-slate-500">"Channel"</dt>
                                                <dd class="text-sm">{channel}</dd>
                                            </div>
                                            {rows.into_iter().map(|(k, v)| view! {
                                                <div>
                                                    <dt class="text-xs text-slate-500">{k}</dt>
                                                    <dd class="font-mono text-xs break-all text-slate-900">{v}</dd>
                                                </div>
                                            }).collect_view()}
                                        </dl>
                                    </Card></div>
                                </div>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

// ---- Send test event (on the channel settings page) ---------------------------------

/// *Send test event*: a synthetic `message.received` to the channel's webhook.
/// The action lives in the page so its answer survives the channel's reloads.
#[component]
pub fn TestEventCard(
    #[prop(into)] channel_id: String,
    action: ServerAction<SendTestEvent>,
) -> impl IntoView {
    view! {
        <Card title="Test event">
            <p class="mb-3 text-sm text-slate-600">
                "Sends a "<code class="rounded bg-slate-100 px-1">"message.received"</code>
                " with the text “Test event from Switchboard” to the webhook URL, signed like every delivery, even when that event is not chosen above."
            </p>
            <ActionForm action=action attr:id="test-event-form">
                <input type="hidden" name="id" value=channel_id/>
                <Button id="test-event" variant=Variant::Secondary pending=action.pending()>"Send test event"</Button>
            </ActionForm>
            <div id="test-event-result" class="mt-3">
                {move || action.value().get().map(|r| match r {
                    Ok(t) => view! {
                        <Alert tone=Tone::Success>
                            "Test event sent ("<span class="font-mono">{t.event_id.clone()}</span>"). "
                            <a id="test-event-delivery" href=format!("/deliveries/{}", t.delivery_id) class="font-medium underline">"See its delivery"</a>
                        </Alert>
                    }.into_any(),
                    Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                })}
            </div>
        </Card>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_links_keep_filters() {
        let f = Filters {
            channel_id: Some("a1b2".into()),
            status: None,
            event: Some("message.received".into()),
            cursor: Some("old".into()),
        };
        assert_eq!(
            f.href(Some("x=y")),
            "/deliveries?channel_id=a1b2&event=message.received&cursor=x%3Dy"
        );
        assert_eq!(Filters::default().href(None), "/deliveries");
        assert!(f.any());
        assert_eq!(long_time("2026-01-15T10:30:05Z"), "2026-01-15 10:30:05 UTC");
    }

    #[test]
    fn tones() {
        assert!(status_tone("delivered") == Tone::Success);
        assert!(status_tone("held") == Tone::Neutral);
    }
}
