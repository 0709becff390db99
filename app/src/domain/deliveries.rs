//! The delivery log's shapes (SPEC §10 "Delivery JSON"), shared by the REST API
//! and the Portal, and the filter values they accept.

use serde::{Deserialize, Serialize};

/// Delivery statuses, as stored and as the API shows them.
pub const DELIVERY_STATUSES: [&str; 5] = ["pending", "delivered", "failed", "exhausted", "held"];

/// Page size of `GET /api/v1/deliveries`: default and maximum.
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 100;

/// At most this many events are re-delivered by one replay call.
pub const MAX_REPLAY: i64 = 10_000;

pub fn is_delivery_status(s: &str) -> bool {
    DELIVERY_STATUSES.contains(&s)
}

/// One attempt of a delivery. `response` (the first 1 KB of the endpoint's
/// answer) is only in `GET /api/v1/deliveries/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptView {
    /// RFC 3339 UTC.
    pub at: String,
    /// The endpoint's HTTP status; null when no answer came (timeout, refused, DNS).
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub response: Option<Option<String>>,
}

/// Delivery JSON (SPEC §10).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    /// UUID v7.
    pub id: String,
    /// `evt_` + UUID v7; the same for every delivery of one event.
    pub event_id: String,
    pub event: String,
    /// Null for account events (delivered to event endpoints).
    pub channel_id: Option<String>,
    pub endpoint_url: String,
    /// `pending`, `delivered`, `failed` (a retry is scheduled), `exhausted` or `held`.
    pub status: String,
    pub attempts: Vec<AttemptView>,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    /// Only in `GET /api/v1/deliveries/{id}`: the event's JSON as sent, or null
    /// when it can no longer be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub payload: Option<serde_json::Value>,
}

/// `GET /api/v1/deliveries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/channels/{id}/test-event`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TestEventView {
    pub event_id: String,
    pub delivery_id: String,
}

/// `POST /api/v1/channels/{id}/replay`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Replayed {
    /// Number of new deliveries created.
    pub replayed: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert!(is_delivery_status("held"));
        assert!(!is_delivery_status("Held"));
        assert!(!is_delivery_status("sent"));
    }

    #[test]
    fn response_is_only_shown_when_asked_for() {
        let mut a = AttemptView {
            at: "2026-01-15T10:30:00Z".into(),
            status_code: Some(500),
            latency_ms: 12,
            error: None,
            response: None,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert!(v.get("response").is_none());
        a.response = Some(None);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["response"], serde_json::Value::Null);
    }
}
