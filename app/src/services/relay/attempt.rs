//! One delivery attempt: decrypt, read the **current** target (so a rotated
//! secret or changed URL applies now), re-check the target address (DNS
//! rebinding), POST with the signature headers, then record the outcome:
//! 2xx delivered, 410 given up, anything else a failed attempt that is
//! retried on the policy's schedule until its deadline. The attempt log row
//! and the delivery's new state are written together and release the lease.

use std::time::Instant;

use serde_json::{Value, json};

use super::{Relay, sign};
use crate::clock::HOUR_MS;
use crate::domain::retry::RetryPolicy;
use crate::services::{account_events, event_endpoints, messages};
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;
use crate::store::deliveries::{
    AttemptRow, Claimed, DELIVERED, EXHAUSTED, FAILED, LANE_FIRST, LANE_RETRY, Outcome, Recorded,
};

/// The attempt log keeps at most this much of a response body.
pub const SNIPPET_BYTES: usize = 1024;
/// A reply in the response is looked for in at most this much of the body.
const MAX_READ_BYTES: usize = 64 * 1024;
/// After this many failed attempts the account's owner/admins are warned.
pub const WARN_AFTER_FAILURES: i64 = 3;

/// Where the attempt goes, read fresh from the channel or endpoint.
enum Target {
    Ready {
        url: String,
        secret: Option<String>,
        channel: Option<Box<Channel>>,
    },
    /// Not deliverable now (URL removed, channel inactive): a failed attempt.
    Unavailable(String),
    /// Never deliverable again (endpoint deleted): given up at once.
    Gone(String),
}

async fn target(state: &AppState, d: &Claimed) -> Target {
    if let Some(channel_id) = &d.channel_id {
        let c = match store::channels::get(&state.db, &d.account_id, channel_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Target::Gone("the channel no longer exists".into()),
            Err(e) => return Target::Unavailable(format!("reading the channel failed: {e}")),
        };
        if !c.is_active {
            return Target::Unavailable(
                "the channel is inactive (deactivated or disconnected); reconnect it to resume deliveries"
                    .into(),
            );
        }
        let Some(url) = c.webhook_url.clone() else {
            return Target::Unavailable("the channel has no webhook URL (it was removed)".into());
        };
        let secret = match c.webhook_secret.as_deref().map(|s| state.cipher.decrypt(s)) {
            None => None,
            Some(Ok(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Some(Err(e)) => {
                return Target::Unavailable(format!("the webhook secret cannot be read: {e}"));
            }
        };
        return Target::Ready {
            url,
            secret,
            channel: Some(Box::new(c)),
        };
    }
    if let Some(endpoint_id) = &d.endpoint_id {
        let e = match store::event_endpoints::by_id(&state.db, endpoint_id).await {
            Ok(Some(e)) if e.deleted_at.is_none() && e.is_active => e,
            Ok(_) => return Target::Gone("the event endpoint was deleted".into()),
            Err(e) => {
                return Target::Unavailable(format!("reading the event endpoint failed: {e}"));
            }
        };
        return match event_endpoints::secret(state, &e) {
            Ok(s) => Target::Ready {
                url: e.url.clone(),
                secret: Some(s),
                channel: None,
            },
            Err(err) => Target::Unavailable(format!("the endpoint secret cannot be read: {err}")),
        };
    }
    Target::Gone("the delivery has no channel or endpoint".into())
}

/// What the customer's endpoint answered, or why there was no answer.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    /// The first bytes of the body (up to `MAX_READ_BYTES`).
    body: Vec<u8>,
    latency_ms: i64,
}

async fn post(
    relay: &Relay,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: &[u8],
) -> Answer {
    let mut req = relay.http.post(url).body(body.to_vec());
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let started = Instant::now();
    let elapsed = |s: &Instant| s.elapsed().as_millis() as i64;
    let mut res = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                status: None,
                error: Some(transport_error(&e)),
                body: Vec::new(),
                latency_ms: elapsed(&started),
            };
        }
    };
    let status = res.status().as_u16();
    let mut buf = Vec::new();
    let mut error = None;
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_READ_BYTES - buf.len();
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if buf.len() >= MAX_READ_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                // The status arrived, the body did not finish: only a failure
                // when the body was needed to count as a success in time.
                if e.is_timeout() {
                    error = Some(transport_error(&e));
                }
                break;
            }
        }
    }
    Answer {
        status: Some(status),
        error,
        body: buf,
        latency_ms: elapsed(&started),
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    let secs = super::ATTEMPT_TIMEOUT.as_secs();
    if e.is_timeout() {
        format!("timeout: no complete answer within {secs} s")
    } else if e.is_connect() {
        format!("connection failed: {}", root_cause(e))
    } else {
        format!("request failed: {}", root_cause(e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// At most `SNIPPET_BYTES` of the body as text, cut on a character boundary.
pub fn snippet(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_BYTES + 4)]);
    let mut end = text.len().min(SNIPPET_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_string())
}

/// Runs one attempt of `d` and records its outcome.
pub async fn run(relay: &Relay, d: Claimed) {
    let state = &relay.state;
    let number = d.attempts + 1;
    let payload = match d.payload.as_deref().map(|p| state.cipher.decrypt(p)) {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => {
            let error = format!("the queued payload cannot be decrypted: {e}");
            give_up(relay, &d, number, &d.endpoint_url, None, error, true).await;
            return;
        }
        None => {
            let error = "the queued payload is gone".to_string();
            give_up(relay, &d, number, &d.endpoint_url, None, error, true).await;
            return;
        }
    };
    let (url, secret, channel) = match target(state, &d).await {
        Target::Ready {
            url,
            secret,
            channel,
        } => (url, secret, channel),
        Target::Unavailable(why) => {
            let answer = Answer {
                status: None,
                error: Some(why),
                body: Vec::new(),
                latency_ms: 0,
            };
            failed(relay, &d, number, &d.endpoint_url, answer).await;
            return;
        }
        Target::Gone(why) => {
            give_up(relay, &d, number, &d.endpoint_url, None, why, false).await;
            return;
        }
    };
    if let Err(e) = super::super::webhook_target::check(&state.config, &url).await {
        let answer = Answer {
            status: None,
            error: Some(format!("refused before sending: {e}")),
            body: Vec::new(),
            latency_ms: 0,
        };
        failed(relay, &d, number, &url, answer).await;
        return;
    }
    let timestamp = state.now() / 1000;
    let headers = sign::headers(
        secret.as_deref(),
        &d.event_id,
        &d.event,
        number,
        timestamp,
        &payload,
    );
    let answer = post(relay, &url, headers, &payload).await;
    match answer.status {
        Some(s) if (200..300).contains(&s) && answer.error.is_none() => {
            let row = attempt_row(state, &d, number, &answer);
            let outcome = Outcome {
                status: DELIVERED,
                lane: if d.attempts == 0 {
                    LANE_FIRST
                } else {
                    LANE_RETRY
                },
                next_attempt_at: None,
                clear_payload: true,
                endpoint_url: &url,
            };
            if d.event == "message.received"
                && may_reply(&answer.body)
                && let Some(c) = channel
            {
                // A reply is sent only if this worker's outcome counted.
                if record(relay, &row, &outcome, "delivered").await {
                    reply_in_response(state, &c, &payload, &answer.body).await;
                }
            } else {
                record_later(relay, &row, &outcome, "delivered").await;
            }
        }
        Some(410) => {
            let row = attempt_row(state, &d, number, &answer);
            let outcome = Outcome {
                status: EXHAUSTED,
                lane: LANE_RETRY,
                next_attempt_at: None,
                clear_payload: true,
                endpoint_url: &url,
            };
            record_later(relay, &row, &outcome, "gone").await;
        }
        _ => failed(relay, &d, number, &url, answer).await,
    }
}

fn attempt_row(state: &AppState, d: &Claimed, number: i64, a: &Answer) -> AttemptRow {
    let error = a.error.clone().or_else(|| match a.status {
        Some(s) if !(200..300).contains(&s) => Some(format!("HTTP {s}")),
        _ => None,
    });
    AttemptRow {
        delivery_id: d.id.clone(),
        attempt: number,
        at: state.now(),
        status_code: a.status.map(i64::from),
        latency_ms: a.latency_ms,
        error,
        response: snippet(&a.body),
    }
}

/// Writes the outcome through the relay's group-committing recorder and
/// waits for the commit; false when the lease was lost (another worker owns
/// the delivery now and this attempt's result is dropped) or the write failed
/// (the lease then runs out and the delivery is tried again).
async fn record(relay: &Relay, row: &AttemptRow, o: &Outcome<'_>, metric: &'static str) -> bool {
    relay.record(recorded(row, o), metric, true).await
}

/// [`record`] without waiting for the commit: the caller needs no answer,
/// and until the commit the delivery stays leased to this worker (after a
/// crash it is tried again: at least once).
async fn record_later(relay: &Relay, row: &AttemptRow, o: &Outcome<'_>, metric: &'static str) {
    relay.record(recorded(row, o), metric, false).await;
}

fn recorded(row: &AttemptRow, o: &Outcome<'_>) -> Recorded {
    Recorded {
        row: row.clone(),
        status: o.status.to_string(),
        lane: o.lane,
        next_attempt_at: o.next_attempt_at,
        clear_payload: o.clear_payload,
        endpoint_url: o.endpoint_url.to_string(),
    }
}

/// Could this response body hold a reply (`{"reply": …}`)? Cheap pre-check.
fn may_reply(body: &[u8]) -> bool {
    body.windows(7).any(|w| w == b"\"reply\"")
}

/// A failed attempt: the next one on the schedule, or exhausted.
async fn failed(relay: &Relay, d: &Claimed, number: i64, url: &str, answer: Answer) {
    let state = &relay.state;
    let now = state.now();
    let policy = RetryPolicy::parse(&d.retry_policy).unwrap_or(RetryPolicy::Standard);
    let deadline = d.deadline_at.unwrap_or(d.created_at + policy.deadline_ms());
    let row = attempt_row(state, d, number, &answer);
    let Some(next) = policy.next_attempt(number, now, deadline) else {
        let error = row.error.clone().unwrap_or_default();
        exhaust(relay, d, row, url, error).await;
        return;
    };
    let outcome = Outcome {
        status: FAILED,
        lane: LANE_RETRY,
        next_attempt_at: Some(next),
        clear_payload: false,
        endpoint_url: url,
    };
    if number != WARN_AFTER_FAILURES {
        record_later(relay, &row, &outcome, "failed").await;
    } else if record(relay, &row, &outcome, "failed").await {
        warn_failing(state, d, url, row.error.as_deref().unwrap_or("")).await;
    }
}

/// Ends a delivery without an HTTP answer (undecryptable payload, deleted
/// endpoint). `alert`: tell the customer as for an exhausted schedule.
async fn give_up(
    relay: &Relay,
    d: &Claimed,
    number: i64,
    url: &str,
    status: Option<u16>,
    error: String,
    alert: bool,
) {
    let row = AttemptRow {
        delivery_id: d.id.clone(),
        attempt: number,
        at: relay.state.now(),
        status_code: status.map(i64::from),
        latency_ms: 0,
        error: Some(error.clone()),
        response: None,
    };
    if alert {
        exhaust(relay, d, row, url, error).await;
    } else {
        let outcome = Outcome {
            status: EXHAUSTED,
            lane: LANE_RETRY,
            next_attempt_at: None,
            clear_payload: true,
            endpoint_url: url,
        };
        record_later(relay, &row, &outcome, "gone").await;
    }
}

/// No attempt left: exhausted, payload cleared, alert mail (one per target
/// per hour) and a `delivery.exhausted` account event (never for deliveries
/// of `delivery.exhausted` itself, so a dead endpoint cannot loop).
async fn exhaust(relay: &Relay, d: &Claimed, row: AttemptRow, url: &str, error: String) {
    let state = &relay.state;
    let outcome = Outcome {
        status: EXHAUSTED,
        lane: LANE_RETRY,
        next_attempt_at: None,
        clear_payload: true,
        endpoint_url: url,
    };
    if !record(relay, &row, &outcome, "exhausted").await {
        return;
    }
    let what = target_label(state, d).await;
    if take_mark(state, &format!("relay-exhausted:{}", target_key(d))).await {
        let body = format!(
            "Switchboard gave up delivering a `{}` event to {what} at {url} after {} attempts.\n\n\
             Last error: {error}\n\n\
             The event is kept for replay while it is retained. See the delivery log:\n\n{}/deliveries\n\n\
             (At most one such mail per endpoint and hour.)\n",
            d.event,
            row.attempt,
            state.config.base()
        );
        account_events::mail_managers(
            state,
            &d.account_id,
            &format!("Webhook deliveries to {url} were given up"),
            &body,
        )
        .await;
    }
    if d.event != "delivery.exhausted" {
        let data = json!({
            "delivery_id": d.id,
            "event_id": d.event_id,
            "event": d.event,
            "channel_id": d.channel_id,
            "endpoint_id": d.endpoint_id,
            "endpoint_url": url,
            "attempts": row.attempt,
            "last_status_code": row.status_code,
            "last_error": error,
        });
        account_events::fire(state, &d.account_id, "delivery.exhausted", data).await;
    }
}

/// After the third failed attempt: one warning per target per hour.
async fn warn_failing(state: &AppState, d: &Claimed, url: &str, error: &str) {
    if !take_mark(state, &format!("relay-warning:{}", target_key(d))).await {
        return;
    }
    let what = target_label(state, d).await;
    let body = format!(
        "Webhook deliveries to {what} at {url} are failing: a `{}` event has failed \
         {WARN_AFTER_FAILURES} attempts in a row.\n\nLast error: {error}\n\n\
         Switchboard keeps retrying until the delivery's deadline. Check that the endpoint is up \
         and answers 2xx within 5 seconds. The delivery log shows every attempt:\n\n{}/deliveries\n\n\
         (At most one such mail per endpoint and hour.)\n",
        d.event,
        state.config.base()
    );
    account_events::mail_managers(
        state,
        &d.account_id,
        &format!("Webhook deliveries to {url} are failing"),
        &body,
    )
    .await;
}

fn target_key(d: &Claimed) -> String {
    match (&d.channel_id, &d.endpoint_id) {
        (Some(c), _) => format!("channel:{c}"),
        (None, Some(e)) => format!("endpoint:{e}"),
        (None, None) => format!("delivery:{}", d.id),
    }
}

async fn target_label(state: &AppState, d: &Claimed) -> String {
    if let Some(id) = &d.channel_id
        && let Ok(Some(c)) = store::channels::get(&state.db, &d.account_id, id).await
    {
        return format!("the webhook of channel \"{}\" ({id})", c.name);
    }
    match &d.endpoint_id {
        Some(id) => format!("event endpoint {id}"),
        None => "your endpoint".into(),
    }
}

async fn take_mark(state: &AppState, key: &str) -> bool {
    match store::alert_marks::take(&state.db, key, state.now(), HOUR_MS).await {
        Ok(won) => won,
        Err(e) => {
            tracing::warn!(key, error = %e, "alert mark failed; not mailing");
            false
        }
    }
}

// ---- reply in the response (SPEC §4.3) --------------------------------------

/// The text of `{"reply":{"text":"…"}}`, if the body is that.
pub fn reply_text(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let t = v.get("reply")?.get("text")?.as_str()?.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A 2xx to `message.received` that carries a reply: send it back to the
/// sender on the same channel through the send service. Failures are
/// logged; the delivery stays delivered.
async fn reply_in_response(state: &AppState, c: &Channel, payload: &[u8], response: &[u8]) {
    let Some(text) = reply_text(response) else {
        return;
    };
    let event: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    // A test event's sender is made up; there is nobody to answer.
    if event["data"]["message_id"]
        .as_str()
        .is_some_and(|id| id.starts_with("test_"))
    {
        return;
    }
    let Some(to) = event["data"]["from"].as_str().map(str::to_string) else {
        tracing::warn!(channel = %c.id, "reply in response: the event has no sender");
        return;
    };
    // The same path as `/messages/send`: checks, queueing on Meta throughput
    // errors, a `messages` row so statuses map back, token death handling.
    let out = messages::Outgoing {
        recipient: to,
        reply_to: None,
        payload: messages::Payload::Text { text },
    };
    match messages::send_outgoing(state, &c.account_id, &c.id, out, None).await {
        Ok(r) => {
            tracing::debug!(channel = %c.id, message_id = %r.message_id, "reply in response sent")
        }
        Err(e) => {
            tracing::warn!(channel = %c.id, error = %e, "reply in response could not be sent")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_stop_at_one_kilobyte_on_a_char_boundary() {
        assert_eq!(snippet(b""), None);
        assert_eq!(snippet(b"ok").as_deref(), Some("ok"));
        let long = "é".repeat(2000);
        let s = snippet(long.as_bytes()).unwrap();
        assert!(s.len() <= SNIPPET_BYTES);
        assert_eq!(s.len(), SNIPPET_BYTES);
        let odd = format!("a{}", "é".repeat(2000));
        let s = snippet(odd.as_bytes()).unwrap();
        assert_eq!(s.len(), SNIPPET_BYTES - 1);
    }

    #[test]
    fn replies_are_read_only_from_the_documented_shape() {
        assert_eq!(
            reply_text(br#"{"reply":{"text":"Hi there"}}"#).as_deref(),
            Some("Hi there")
        );
        assert_eq!(reply_text(br#"{"reply":{"text":"  "}}"#), None);
        assert_eq!(reply_text(br#"{"reply":"Hi"}"#), None);
        assert_eq!(reply_text(b"OK"), None);
    }
}
