//! Graph API errors: Meta's envelope parsed into a typed value, plus the one
//! classification services branch on (DESIGN.md "Meta client"), so no service
//! ever matches on raw numbers.

use serde::Deserialize;

/// What a caller should do about a failed Graph call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The token is invalid, expired or revoked: deactivate, ask to reconnect.
    TokenDead,
    /// A rate or throughput limit: queue and retry later with backoff.
    Throughput,
    /// The customer-service window is closed: a template (or tag) is needed.
    OutsideWindow,
    /// Meta or the network failed; the same request may succeed later.
    Transient,
    /// The request itself is wrong or not allowed; retrying will not help.
    Permanent,
}

/// One error from Meta's `{"error": {...}}` envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub http_status: u16,
    pub code: i64,
    pub error_subcode: Option<i64>,
    pub message: String,
    pub error_type: Option<String>,
    /// WhatsApp puts the useful sentence in `error_data.details`.
    pub details: Option<String>,
    pub error_user_title: Option<String>,
    pub error_user_msg: Option<String>,
    pub is_transient: bool,
    pub fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: RawError,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    error_data: Option<serde_json::Value>,
    error_user_title: Option<String>,
    error_user_msg: Option<String>,
    #[serde(default)]
    is_transient: bool,
    fbtrace_id: Option<String>,
}

impl GraphError {
    /// Parses Meta's error envelope; `None` when the body is not one (then the
    /// caller reports the HTTP status instead).
    pub fn parse(http_status: u16, body: &[u8]) -> Option<GraphError> {
        let env: Envelope = serde_json::from_slice(body).ok()?;
        let e = env.error;
        // `error_data` is an object on WhatsApp errors and sometimes a JSON string elsewhere.
        let details = match e.error_data {
            Some(serde_json::Value::Object(m)) => m
                .get("details")
                .and_then(|d| d.as_str())
                .map(str::to_string),
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        Some(GraphError {
            http_status,
            code: e.code.unwrap_or(0),
            error_subcode: e.error_subcode,
            message: e.message,
            error_type: e.error_type,
            details,
            error_user_title: e.error_user_title,
            error_user_msg: e.error_user_msg,
            is_transient: e.is_transient,
            fbtrace_id: e.fbtrace_id,
        })
    }

    pub fn class(&self) -> ErrorClass {
        classify(
            self.http_status,
            self.code,
            self.error_subcode,
            self.is_transient,
        )
    }

    /// Profile look-ups of users Meta will not show are "no profile", not failures
    /// (100/33 object not loadable, 230 consent missing, 100/2534014 not an IGSID).
    pub fn means_no_profile(&self) -> bool {
        matches!(
            (self.code, self.error_subcode),
            (100, Some(33)) | (100, Some(2534014)) | (100, Some(2018001)) | (230, _)
        )
    }
}

/// The table of DESIGN.md and the reference §12.2, in one place.
pub fn classify(
    http_status: u16,
    code: i64,
    subcode: Option<i64>,
    is_transient: bool,
) -> ErrorClass {
    match (code, subcode) {
        (190 | 102, _) => ErrorClass::TokenDead,
        (131047, _) | (10, Some(2534022)) | (10, Some(2018278)) => ErrorClass::OutsideWindow,
        (130429 | 131056 | 80007 | 4 | 17 | 32 | 613, _) => ErrorClass::Throughput,
        (80001 | 80002 | 80006 | 80008, _) => ErrorClass::Throughput,
        (1 | 2 | 131000 | 131016 | 131057 | 133004, _) => ErrorClass::Transient,
        _ if is_transient || http_status >= 500 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Meta error {}", self.code)?;
        if let Some(s) = self.error_subcode {
            write!(f, "/{s}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(d) = &self.details {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// Everything a Graph call can end in besides success.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Boxed: the envelope is large and errors travel through many `Result`s.
    #[error("{0}")]
    Graph(Box<GraphError>),
    /// No answer: connection refused, DNS, TLS, or the timeout elapsed.
    #[error("Meta unreachable: {message}")]
    Transport { message: String, timeout: bool },
    /// An answer that is neither the expected shape nor Meta's error envelope.
    #[error("unexpected answer from Meta (HTTP {http_status}): {message}")]
    Decode { http_status: u16, message: String },
}

impl MetaError {
    pub fn class(&self) -> ErrorClass {
        match self {
            MetaError::Graph(g) => g.class(),
            MetaError::Transport { .. } => ErrorClass::Transient,
            MetaError::Decode { http_status, .. } if *http_status >= 500 => ErrorClass::Transient,
            MetaError::Decode { .. } => ErrorClass::Permanent,
        }
    }

    pub fn graph(&self) -> Option<&GraphError> {
        match self {
            MetaError::Graph(g) => Some(g),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for MetaError {
    fn from(e: reqwest::Error) -> Self {
        MetaError::Transport {
            timeout: e.is_timeout(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messenger_style_envelope() {
        let body = br#"{"error":{"message":"(#10) This message is sent outside of allowed window.",
          "type":"OAuthException","code":10,"error_subcode":2018278,"error_user_title":"Message not sent",
          "error_user_msg":"The 24-hour messaging window for this person has closed.","is_transient":false,
          "fbtrace_id":"AZ8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let e = GraphError::parse(400, body).unwrap();
        assert_eq!(e.code, 10);
        assert_eq!(e.error_subcode, Some(2018278));
        assert_eq!(e.fbtrace_id.as_deref(), Some("AZ8or2yhqkZfEZ-_4Qn_Bam"));
        assert_eq!(e.error_type.as_deref(), Some("OAuthException"));
        assert_eq!(e.class(), ErrorClass::OutsideWindow);
    }

    #[test]
    fn parses_whatsapp_style_envelope() {
        let body = br#"{"error":{"message":"(#131030) Recipient phone number not in allowed list",
          "type":"OAuthException","code":131030,"error_data":{"messaging_product":"whatsapp",
          "details":"Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again."},
          "fbtrace_id":"AbCdEfGhIjKlMnOpQrStUv1"}}"#;
        let e = GraphError::parse(400, body).unwrap();
        assert_eq!(e.code, 131030);
        assert_eq!(e.error_subcode, None);
        assert!(
            e.details
                .as_deref()
                .unwrap()
                .starts_with("Recipient phone number")
        );
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(e.to_string().contains("131030"));
    }

    #[test]
    fn not_an_envelope() {
        assert!(GraphError::parse(502, b"<html>Bad gateway</html>").is_none());
        assert!(GraphError::parse(200, br#"{"data":[]}"#).is_none());
    }

    #[test]
    fn classification_table() {
        use ErrorClass::*;
        for (code, sub, want) in [
            (190, None, TokenDead),
            (190, Some(463), TokenDead),
            (130429, None, Throughput),
            (131056, None, Throughput),
            (80007, None, Throughput),
            (4, None, Throughput),
            (17, None, Throughput),
            (613, None, Throughput),
            (131047, None, OutsideWindow),
            (10, Some(2534022), OutsideWindow),
            (10, Some(2018278), OutsideWindow),
            (10, None, Permanent),
            (100, Some(33), Permanent),
            (132001, None, Permanent),
            (131000, None, Transient),
        ] {
            assert_eq!(classify(400, code, sub, false), want, "{code}/{sub:?}");
        }
        assert_eq!(classify(503, 100, None, false), Transient);
        assert_eq!(classify(400, 100, None, true), Transient);
        let t = MetaError::Transport {
            message: "timed out".into(),
            timeout: true,
        };
        assert_eq!(t.class(), Transient);
    }

    #[test]
    fn no_profile_errors() {
        let e = GraphError::parse(
            400,
            br#"{"error":{"message":"x","code":100,"error_subcode":33}}"#,
        )
        .unwrap();
        assert!(e.means_no_profile());
        let e = GraphError::parse(400, br#"{"error":{"message":"x","code":190}}"#).unwrap();
        assert!(!e.means_no_profile());
    }
}
