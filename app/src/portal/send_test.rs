//! *Send test message* on a channel's settings page (SPEC §5.1): recipient +
//! text through the same send service as the API, the answer (message id,
//! status) or the API's `detail`, then the message's live status, polled
//! every 2 s until it is read or failed.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ui::*;
use crate::domain::{ChannelType, ChannelView};

/// The answer of a test send.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TestSent {
    pub message_id: String,
    pub status: String,
    pub meta_message_id: Option<String>,
}

/// A sent message's status as the Portal shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LiveStatus {
    pub status: String,
    pub error: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "send_test_message")]
pub async fn send_test_message(
    channel_id: String,
    recipient: String,
    text: String,
) -> Result<TestSent, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let req = crate::services::messages::SendRequest {
        channel_id,
        recipient: recipient.trim().to_string(),
        text: Some(text),
        ..Default::default()
    };
    let r = crate::services::messages::send(&state, &me.account_id, &req, None)
        .await
        .rpc()?;
    Ok(TestSent {
        message_id: r.message_id,
        status: r.status,
        meta_message_id: r.meta_message_id,
    })
}

#[server(prefix = "/rpc", endpoint = "message_status")]
pub async fn message_status(id: String) -> Result<LiveStatus, ServerFnError> {
    let me = crate::web::session::require().await?;
    let state = crate::web::session::state()?;
    let s = crate::services::messages::status(&state, &me.account_id, &id)
        .await
        .rpc()?;
    Ok(LiveStatus {
        status: s.status,
        error: s.error,
    })
}

fn status_tone(status: &str) -> Tone {
    match status {
        "queued" => Tone::Warning,
        "delivered" => Tone::Info,
        "read" => Tone::Success,
        "failed" => Tone::Danger,
        _ => Tone::Neutral,
    }
}

/// What to type as the recipient, per channel type.
fn recipient_hint(t: ChannelType) -> (&'static str, &'static str) {
    match t {
        ChannelType::Whatsapp => (
            "15550100001",
            "Phone number as digits, without + or spaces. The person must have written to this number in the last 24 hours.",
        ),
        ChannelType::Instagram => (
            "6400000000000001",
            "The person's IGSID (data.from of a message.received). They must have written in the last 24 hours.",
        ),
        ChannelType::Facebook => (
            "7100000000000001",
            "The person's PSID (data.from of a message.received). They must have written in the last 24 hours.",
        ),
    }
}

#[component]
pub fn SendTestCard(c: ChannelView) -> impl IntoView {
    let action = ServerAction::<SendTestMessage>::new();
    // The answer only reaches a running app: before hydration the form post
    // would send and lose it, so the button waits for hydration.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let busy = Signal::derive(move || action.pending().get() || !hydrated.get());
    let live = RwSignal::new(None::<LiveStatus>);
    let poll_error = RwSignal::new(None::<String>);

    // Poll the last sent message every 2 s until it is read or failed.
    Effect::new(move |_| {
        let Some(Ok(sent)) = action.value().get() else {
            return;
        };
        live.set(Some(LiveStatus {
            status: sent.status.clone(),
            error: None,
        }));
        poll_error.set(None);
        let id = sent.message_id.clone();
        let handle = set_interval_with_handle(
            move || {
                let done = live
                    .get_untracked()
                    .is_some_and(|s| s.status == "read" || s.status == "failed");
                if done {
                    return;
                }
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    match message_status(id).await {
                        Ok(s) => {
                            live.set(Some(s));
                            poll_error.set(None);
                        }
                        Err(e) => poll_error.set(Some(error_text(&e))),
                    }
                });
            },
            std::time::Duration::from_secs(2),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    });

    let t = c.channel_type;
    let (placeholder, hint) = recipient_hint(t);
    let id = c.id.clone();
    view! {
        <Card title="Send test message">
            {if !c.is_active {
                view! {
                    <p class="text-sm text-slate-600">"Reconnect the channel to send messages from it."</p>
                }.into_any()
            } else {
                view! {
                    <p class="mb-3 text-sm text-slate-600">
                        "Sends a text through the same path as "
                        <code class="rounded bg-slate-100 px-1">"POST /api/v1/messages/send"</code>
                        " and follows its status."
                    </p>
                    <ActionForm action=action attr:id="send-test-form" attr:class="space-y-4">
                        <input type="hidden" name="channel_id" value=id/>
                        <div class="grid gap-4 sm:grid-cols-3">
                            <div class="sm:col-span-1">
                                <Field label="Recipient" name="recipient" id="send-test-recipient" placeholder=placeholder autocomplete="off" required=true/>
                            </div>
                            <div class="sm:col-span-2">
                                <Field label="Text" name="text" id="send-test-text" value="Hello from Switchboard" required=true/>
                            </div>
                        </div>
                        <p class="-mt-2 text-xs text-slate-500">{hint}</p>
                        <Button id="send-test" variant=Variant::Secondary pending=busy>"Send test message"</Button>
                    </ActionForm>
                    {(t == ChannelType::Whatsapp).then(|| view! { <super::templates::TemplateTestBox channel_id=c.id.clone()/> })}
                }.into_any()
            }}
            <div id="send-test-result" class="mt-3 space-y-2">
                {move || action.value().get().map(|r| match r {
                    Ok(s) => {
                        let first = s.status.clone();
                        let status = Signal::derive(move || live.get().map(|l| l.status).unwrap_or_else(|| first.clone()));
                        let error = move || live.get().and_then(|l| l.error);
                        view! {
                            <div class="rounded-lg border border-slate-200 bg-slate-50 p-3 text-sm">
                                <dl class="grid gap-x-4 gap-y-2 sm:grid-cols-[auto_1fr] sm:items-center">
                                    <dt class="text-xs text-slate-500">"Status"</dt>
                                    <dd id="send-test-status" data-status=status>
                                        {move || view! { <Badge tone=status_tone(&status.get()) text=status.get()/> }}
                                    </dd>
                                    <dt class="text-xs text-slate-500">"Message id"</dt>
                                    <dd id="send-test-message-id" class="font-mono text-xs break-all text-slate-900">{s.message_id.clone()}</dd>
                                    {s.meta_message_id.clone().map(|m| view! {
                                        <dt class="text-xs text-slate-500">"Meta id"</dt>
                                        <dd class="font-mono text-xs break-all text-slate-600">{m}</dd>
                                    })}
                                </dl>
                                {move || error().map(|e| view! { <p class="mt-2 text-xs break-words text-red-700">{e}</p> })}
                                {(s.status == "queued").then(|| view! {
                                    <p class="mt-2 text-xs text-slate-600">"Meta is busy: Switchboard retries for up to 4 hours."</p>
                                })}
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <Alert tone=Tone::Danger><span class="error-text">{error_text(&e)}</span></Alert> }.into_any(),
                })}
                {move || poll_error.get().map(|e| view! { <p class="text-xs text-amber-700">{format!("Status not refreshed: {e}")}</p> })}
            </div>
        </Card>
    }
}
