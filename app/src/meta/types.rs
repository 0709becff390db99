//! Typed shapes of the Graph calls Switchboard makes. Unknown fields are
//! ignored and optional ones are `Option`, because Meta adds and drops fields
//! between versions without notice.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `oauth/access_token`, `fb_exchange_token`, Instagram `refresh_access_token`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    /// Some Embedded Signup references call it `business_token`; accept both.
    #[serde(alias = "business_token")]
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    /// Absent for tokens that never expire (business system-user tokens).
    #[serde(default)]
    pub expires_in: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct GranularScope {
    pub scope: String,
    #[serde(default)]
    pub target_ids: Vec<String>,
}

/// `debug_token` → `data`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DebugToken {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(rename = "type", default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    /// 0 means never.
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub data_access_expires_at: i64,
    pub is_valid: bool,
    #[serde(default)]
    pub issued_at: Option<i64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub granular_scopes: Vec<GranularScope>,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl DebugToken {
    /// Asset ids granted for `scope` (e.g. WABA ids for `whatsapp_business_management`).
    pub fn targets(&self, scope: &str) -> Vec<String> {
        self.granular_scopes
            .iter()
            .filter(|g| g.scope == scope)
            .flat_map(|g| g.target_ids.iter().cloned())
            .collect()
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IgAccountRef {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// One Page of `me/accounts`, with its Page token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PageAccount {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default)]
    pub instagram_business_account: Option<IgAccountRef>,
}

impl PageAccount {
    /// Meta lets only people with one of these tasks message as the Page.
    pub fn can_message(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| matches!(t.as_str(), "MESSAGING" | "MODERATE" | "MANAGE"))
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PhoneNumber {
    pub id: String,
    /// Formatted with `+` and separators (unlike webhook metadata).
    pub display_phone_number: String,
    #[serde(default)]
    pub verified_name: Option<String>,
    #[serde(default)]
    pub quality_rating: Option<String>,
    #[serde(default)]
    pub code_verification_status: Option<String>,
    #[serde(default)]
    pub name_status: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub platform_type: Option<String>,
    #[serde(default)]
    pub messaging_limit_tier: Option<String>,
    #[serde(default)]
    pub account_mode: Option<String>,
    #[serde(default)]
    pub is_pin_enabled: Option<bool>,
    /// Also used in the WhatsApp Business app (coexistence): already
    /// registered there, and must not be registered again.
    #[serde(default)]
    pub is_on_biz_app: Option<bool>,
}

impl PhoneNumber {
    /// Digits only, for comparing with what customers type and webhooks send.
    pub fn digits(&self) -> String {
        self.display_phone_number
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect()
    }
}

/// `subscribed_apps` item: WABAs nest the app under `whatsapp_business_api_data`,
/// Pages list it flat; `app_id()` hides the difference.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SubscribedApp {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub whatsapp_business_api_data: Option<AppRef>,
    #[serde(default)]
    pub subscribed_fields: Vec<String>,
    #[serde(default)]
    pub override_callback_uri: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AppRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl SubscribedApp {
    pub fn app_id(&self) -> Option<&str> {
        self.whatsapp_business_api_data
            .as_ref()
            .map(|a| a.id.as_str())
            .or(self.id.as_deref())
    }
}

/// Options for `POST {asset}/subscribed_apps`.
#[derive(Clone, Debug, Default)]
pub struct Subscription {
    /// Page/Instagram webhook fields (`subscribed_fields`); WABAs take none.
    pub fields: Vec<String>,
    /// WABA-level callback override (manual apps).
    pub override_callback_uri: Option<String>,
    pub verify_token: Option<String>,
}

/// Who a WhatsApp message goes to: a phone number / wa_id, or a BSUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaRecipient {
    Phone(String),
    UserId(String),
}

impl WaRecipient {
    /// BSUIDs look like `US.1349…`; anything else is treated as a number.
    pub fn parse(raw: &str) -> WaRecipient {
        if raw.contains('.') {
            WaRecipient::UserId(raw.to_string())
        } else {
            WaRecipient::Phone(raw.trim_start_matches('+').to_string())
        }
    }
}

/// The media kinds are the product's own (`domain::media`), which also
/// knows how each is named on Messenger and Instagram.
pub use crate::domain::media::MediaKind;

/// Either an uploaded media id or a public link, never both (Meta's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaSource {
    Id(String),
    Link(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum WaContent {
    Text {
        body: String,
        preview_url: bool,
    },
    Media {
        kind: MediaKind,
        source: MediaSource,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// `emoji: ""` removes a reaction.
    Reaction {
        message_id: String,
        emoji: String,
    },
    Template {
        name: String,
        language: String,
        /// Meta's `components` array, built by the templates service.
        components: Vec<Value>,
    },
    /// Meta's `interactive` object, passed through.
    Interactive(Value),
    /// A WhatsApp Flow: an interactive message of type `flow`.
    Flow(FlowMessage),
}

/// A WhatsApp Flow sent as an interactive message (Meta's "Sending a Flow":
/// `interactive.type` `flow`, `action.name` `flow`, `flow_message_version`
/// "3"). Checked by the messages service before it gets here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowMessage {
    pub flow_id: String,
    /// The button text (`flow_cta`).
    pub cta: String,
    pub body: String,
    #[serde(default)]
    pub flow_token: Option<String>,
    /// First screen (`flow_action: navigate`); without one the Flow's
    /// endpoint chooses it (`flow_action: data_exchange`).
    #[serde(default)]
    pub screen: Option<String>,
    /// Input data of the first screen (a non-empty object).
    #[serde(default)]
    pub data: Option<Value>,
    /// Sends the Flow's draft (`mode: draft`) instead of the published one.
    #[serde(default)]
    pub draft: bool,
}

impl FlowMessage {
    /// Meta's `interactive` object. Meta requires `flow_action_payload` for
    /// `navigate` and refuses it for `data_exchange`; `flow_token` and
    /// `mode` are left out when not set (Meta's defaults: "unused",
    /// published).
    pub fn interactive(&self) -> Value {
        let mut params = json!({
            "flow_message_version": "3",
            "flow_id": self.flow_id,
            "flow_cta": self.cta,
        });
        if let Some(t) = &self.flow_token {
            params["flow_token"] = json!(t);
        }
        if self.draft {
            params["mode"] = json!("draft");
        }
        match &self.screen {
            Some(screen) => {
                params["flow_action"] = json!("navigate");
                let mut payload = json!({"screen": screen});
                if let Some(d) = &self.data {
                    payload["data"] = d.clone();
                }
                params["flow_action_payload"] = payload;
            }
            None => params["flow_action"] = json!("data_exchange"),
        }
        json!({
            "type": "flow",
            "body": {"text": self.body},
            "action": {"name": "flow", "parameters": params},
        })
    }
}

/// A `{phone_number_id}/messages` send.
#[derive(Clone, Debug, PartialEq)]
pub struct WaMessage {
    pub to: WaRecipient,
    pub reply_to: Option<String>,
    pub content: WaContent,
    pub biz_opaque_callback_data: Option<String>,
}

impl WaMessage {
    pub fn text(to: &str, body: &str) -> WaMessage {
        WaMessage {
            to: WaRecipient::parse(to),
            reply_to: None,
            content: WaContent::Text {
                body: body.to_string(),
                preview_url: false,
            },
            biz_opaque_callback_data: None,
        }
    }

    /// The JSON body Meta expects.
    pub fn to_body(&self) -> Value {
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual"});
        match &self.to {
            WaRecipient::Phone(p) => body["to"] = json!(p),
            WaRecipient::UserId(u) => body["recipient"] = json!(u),
        }
        if let Some(id) = &self.reply_to {
            body["context"] = json!({"message_id": id});
        }
        if let Some(d) = &self.biz_opaque_callback_data {
            body["biz_opaque_callback_data"] = json!(d);
        }
        let (kind, object) = match &self.content {
            WaContent::Text { body, preview_url } => {
                ("text", json!({"body": body, "preview_url": preview_url}))
            }
            WaContent::Media {
                kind,
                source,
                caption,
                filename,
            } => {
                let mut o = match source {
                    MediaSource::Id(id) => json!({"id": id}),
                    MediaSource::Link(l) => json!({"link": l}),
                };
                if let Some(c) = caption {
                    o["caption"] = json!(c);
                }
                if let Some(f) = filename {
                    o["filename"] = json!(f);
                }
                (kind.as_str(), o)
            }
            WaContent::Reaction { message_id, emoji } => (
                "reaction",
                json!({"message_id": message_id, "emoji": emoji}),
            ),
            WaContent::Template {
                name,
                language,
                components,
            } => {
                let mut t = json!({"name": name, "language": {"code": language}});
                if !components.is_empty() {
                    t["components"] = json!(components);
                }
                ("template", t)
            }
            WaContent::Interactive(v) => ("interactive", v.clone()),
            WaContent::Flow(f) => ("interactive", f.interactive()),
        };
        body["type"] = json!(kind);
        body[kind] = object;
        body
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct WaContactRef {
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub wa_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct WaMessageRef {
    pub id: String,
    #[serde(default)]
    pub message_status: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct WaSendResponse {
    #[serde(default)]
    pub contacts: Vec<WaContactRef>,
    pub messages: Vec<WaMessageRef>,
}

impl WaSendResponse {
    pub fn message_id(&self) -> &str {
        self.messages.first().map(|m| m.id.as_str()).unwrap_or("")
    }
}

/// A Messenger or Instagram Send API call (`{page_id}/messages`, `{ig_id}/messages`).
#[derive(Clone, Debug, PartialEq)]
pub struct PageMessage {
    pub recipient_id: String,
    pub content: PageContent,
    /// `RESPONSE` inside the window; `MESSAGE_TAG` with `tag` outside it.
    pub messaging_type: String,
    pub tag: Option<String>,
    /// Returned in the echo webhook so our own sends can be recognised.
    pub metadata: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PageContent {
    Text(String),
    Attachment {
        kind: MediaKind,
        url: String,
    },
    /// Instagram reactions are a `sender_action` with a payload.
    Reaction {
        message_id: String,
        reaction: Option<String>,
    },
}

impl PageMessage {
    pub fn text(recipient_id: &str, text: &str) -> PageMessage {
        PageMessage {
            recipient_id: recipient_id.to_string(),
            content: PageContent::Text(text.to_string()),
            messaging_type: "RESPONSE".into(),
            tag: None,
            metadata: None,
            reply_to: None,
        }
    }

    pub fn to_body(&self) -> Value {
        let mut body = json!({"recipient": {"id": self.recipient_id}});
        body["messaging_type"] = json!(self.messaging_type);
        if let Some(t) = &self.tag {
            body["tag"] = json!(t);
        }
        let mut message = match &self.content {
            PageContent::Text(t) => json!({"text": t}),
            PageContent::Attachment { kind, url } => json!({"attachment": {
                "type": kind.messenger_type(), "payload": {"url": url, "is_reusable": true}}}),
            // Reactions are a top-level `sender_action`, not a `message`.
            PageContent::Reaction {
                message_id,
                reaction,
            } => {
                let mut b = json!({"recipient": {"id": self.recipient_id},
                    "sender_action": if reaction.is_some() { "react" } else { "unreact" },
                    "payload": {"message_id": message_id}});
                if let Some(r) = reaction {
                    b["payload"]["reaction"] = json!(r);
                }
                return b;
            }
        };
        if let Some(m) = &self.metadata {
            message["metadata"] = json!(m);
        }
        if let Some(r) = &self.reply_to {
            message["reply_to"] = json!({"mid": r});
        }
        body["message"] = message;
        body
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SendApiResponse {
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub status: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub parameter_format: Option<String>,
    #[serde(default)]
    pub components: Vec<Value>,
    #[serde(default)]
    pub rejected_reason: Option<String>,
    #[serde(default)]
    pub quality_score: Option<Value>,
}

/// `POST {waba}/message_templates`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NewTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `POSITIONAL` or `NAMED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<String>,
    pub components: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_category_change: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct CreatedTemplate {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub category: Option<String>,
}

/// `POST {template_id}`: replaces components (and category while allowed).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct TemplateEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `GET {media_id}`: a short-lived download URL plus checks.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MediaInfo {
    pub id: String,
    pub url: String,
    pub mime_type: String,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_size: Option<i64>,
}

/// A Messenger (`first_name,last_name,profile_pic`) or Instagram
/// (`name,username,profile_pic,follower_count,is_verified_user`) profile.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
pub struct UserProfile {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_verified_user: Option<bool>,
}

/// `{"data": [...], "paging": {"next": ...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListPage<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Success {
    #[serde(default)]
    pub success: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_bodies() {
        let m = WaMessage::text("+12025550101", "Hi");
        assert_eq!(
            m.to_body(),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"12025550101",
                   "type":"text","text":{"body":"Hi","preview_url":false}})
        );
        let m = WaMessage {
            to: WaRecipient::parse("US.13491208655302741918"),
            reply_to: Some("wamid.X".into()),
            content: WaContent::Media {
                kind: MediaKind::Document,
                source: MediaSource::Link("https://files.example.com/a.pdf".into()),
                caption: None,
                filename: Some("a.pdf".into()),
            },
            biz_opaque_callback_data: None,
        };
        let b = m.to_body();
        assert_eq!(b["recipient"], "US.13491208655302741918");
        assert!(b.get("to").is_none());
        assert_eq!(b["context"]["message_id"], "wamid.X");
        assert_eq!(
            b["document"],
            json!({"link":"https://files.example.com/a.pdf","filename":"a.pdf"})
        );
        let t = WaMessage {
            content: WaContent::Template {
                name: "hello".into(),
                language: "en_US".into(),
                components: vec![],
            },
            ..WaMessage::text("1", "")
        };
        assert!(t.to_body()["template"].get("components").is_none());
    }

    #[test]
    fn flow_bodies_follow_sending_a_flow() {
        let mut f = FlowMessage {
            flow_id: "1500000000000042".into(),
            cta: "Book now".into(),
            body: "Pick a slot".into(),
            flow_token: Some("tok-1".into()),
            screen: Some("BOOKING".into()),
            data: Some(json!({"day": "mon"})),
            draft: true,
        };
        let b = WaMessage {
            content: WaContent::Flow(f.clone()),
            ..WaMessage::text("12025550101", "")
        }
        .to_body();
        assert_eq!(b["type"], "interactive");
        assert_eq!(
            b["interactive"],
            json!({"type": "flow", "body": {"text": "Pick a slot"}, "action": {"name": "flow",
                "parameters": {"flow_message_version": "3", "flow_id": "1500000000000042",
                    "flow_cta": "Book now", "flow_token": "tok-1", "mode": "draft",
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": "BOOKING", "data": {"day": "mon"}}}}})
        );
        f.screen = None;
        f.data = None;
        f.flow_token = None;
        f.draft = false;
        assert_eq!(
            f.interactive()["action"]["parameters"],
            json!({"flow_message_version": "3", "flow_id": "1500000000000042",
                "flow_cta": "Book now", "flow_action": "data_exchange"})
        );
    }

    #[test]
    fn page_bodies() {
        let b = PageMessage::text("7100000000000001", "Yes").to_body();
        assert_eq!(
            b,
            json!({"recipient":{"id":"7100000000000001"},"messaging_type":"RESPONSE","message":{"text":"Yes"}})
        );
        let r = PageMessage {
            content: PageContent::Reaction {
                message_id: "m1".into(),
                reaction: Some("love".into()),
            },
            ..PageMessage::text("6400000000000001", "")
        };
        assert_eq!(r.to_body()["sender_action"], "react");
        assert_eq!(r.to_body()["payload"]["reaction"], "love");
    }

    #[test]
    fn parses_reference_shapes() {
        let send: WaSendResponse = serde_json::from_str(
            r#"{"messaging_product":"whatsapp","contacts":[{"input":"+1 202 555 0101","wa_id":"12025550101"}],
                "messages":[{"id":"wamid.GAsx","message_status":"accepted"}]}"#,
        )
        .unwrap();
        assert_eq!(send.message_id(), "wamid.GAsx");
        let tok: TokenResponse =
            serde_json::from_str(r#"{"business_token":"EAAF","token_type":"bearer"}"#).unwrap();
        assert_eq!(tok.access_token, "EAAF");
        assert_eq!(tok.expires_in, None);
        let dbg: DebugToken = serde_json::from_str(
            r#"{"app_id":"900000000000001","type":"SYSTEM_USER","application":"Gateway App",
              "data_access_expires_at":0,"expires_at":0,"is_valid":true,"issued_at":1790000000,
              "scopes":["whatsapp_business_management"],
              "granular_scopes":[{"scope":"whatsapp_business_management","target_ids":["100000000000001"]},
                                 {"scope":"public_profile"}],"user_id":"3100000000000001"}"#,
        )
        .unwrap();
        assert_eq!(
            dbg.targets("whatsapp_business_management"),
            vec!["100000000000001"]
        );
        let subs: ListPage<SubscribedApp> = serde_json::from_str(
            r#"{"data":[{"whatsapp_business_api_data":{"id":"900000000000001","name":"Gateway App"},
               "override_callback_uri":"https://gw.example.com/wa"}]}"#,
        )
        .unwrap();
        assert_eq!(subs.data[0].app_id(), Some("900000000000001"));
        let page: ListPage<PageAccount> = serde_json::from_str(
            r#"{"data":[{"id":"150000000000001","name":"Example Store","access_token":"EAAP",
               "tasks":["MESSAGING"],"instagram_business_account":{"id":"17841400000000001","username":"example.store"}}],
               "paging":{"cursors":{"before":"a","after":"b"}}}"#,
        )
        .unwrap();
        assert!(page.data[0].can_message());
        assert!(page.paging.unwrap().next.is_none());
        let phone: PhoneNumber = serde_json::from_str(
            r#"{"id":"110000000000001","display_phone_number":"+1 202-555-0100","quality_rating":"GREEN"}"#,
        )
        .unwrap();
        assert_eq!(phone.digits(), "12025550100");
        let media: MediaInfo = serde_json::from_str(
            r#"{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/x","mime_type":"image/jpeg",
               "sha256":"7c6f","file_size":61901,"id":"1200000000000001"}"#,
        )
        .unwrap();
        assert_eq!(media.file_size, Some(61901));
    }
}
