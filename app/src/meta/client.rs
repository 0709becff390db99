//! The one Graph API client, used in live and sandbox mode alike: only the
//! base URLs differ (SPEC §2). Every call returns typed data or a [`MetaError`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{ErrorClass, GraphError, MetaError};
use super::types::*;

/// Where and as whom the client talks to Meta.
#[derive(Clone, Debug)]
pub struct GraphSettings {
    /// `https://graph.facebook.com`, or `{base}/sandbox/graph` in sandbox mode.
    pub graph_url: String,
    /// `https://graph.instagram.com` (Instagram token refresh lives there).
    pub instagram_graph_url: String,
    /// `v26.0` etc.
    pub version: String,
    pub app_id: String,
    pub app_secret: String,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    settings: GraphSettings,
    page_limit: u32,
}

/// Page size asked for on list calls; more pages are followed.
const PAGE_LIMIT: u32 = 100;
/// Guards against a `next` link that never ends.
const MAX_PAGES: usize = 100;

impl GraphClient {
    pub fn new(settings: GraphSettings) -> GraphClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Meta answers within seconds; a stuck call must not hold a worker.
            .timeout(Duration::from_secs(30))
            .user_agent(format!("Switchboard/{}", crate::VERSION))
            .build()
            .expect("static reqwest configuration");
        GraphClient {
            http,
            settings,
            page_limit: PAGE_LIMIT,
        }
    }

    /// A smaller page size, so tests can see paging followed.
    pub fn with_page_limit(mut self, limit: u32) -> GraphClient {
        self.page_limit = limit.max(1);
        self
    }

    pub fn settings(&self) -> &GraphSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.settings.graph_url.trim_end_matches('/'),
            self.settings.version,
            path.trim_start_matches('/')
        )
    }

    fn app_token(&self) -> String {
        format!("{}|{}", self.settings.app_id, self.settings.app_secret)
    }

    /// Sends, reads the body and turns non-2xx answers into typed errors.
    async fn execute<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, MetaError> {
        let res = req.send().await?;
        let status = res.status().as_u16();
        let body = res.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(match GraphError::parse(status, &body) {
                Some(g) => MetaError::Graph(Box::new(g)),
                None => MetaError::Decode {
                    http_status: status,
                    message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                },
            });
        }
        // Some error answers come with 200 (rare, older endpoints).
        if let Some(g) = GraphError::parse(status, &body) {
            return Err(MetaError::Graph(Box::new(g)));
        }
        serde_json::from_slice(&body).map_err(|e| MetaError::Decode {
            http_status: status,
            message: e.to_string(),
        })
    }

    /// GETs are idempotent, so one retry on a transient failure is safe.
    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> Result<T, MetaError> {
        let attempt = || self.execute::<T>(self.http.get(url).bearer_auth(token).query(query));
        match attempt().await {
            Err(e) if e.class() == ErrorClass::Transient => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                attempt().await
            }
            other => other,
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        url: &str,
        token: &str,
        body: &Value,
    ) -> Result<T, MetaError> {
        self.execute(self.http.post(url).bearer_auth(token).json(body))
            .await
    }

    async fn delete(
        &self,
        url: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> Result<(), MetaError> {
        let s: Success = self
            .execute(self.http.delete(url).bearer_auth(token).query(query))
            .await?;
        success(s)
    }

    /// Follows `paging.next` until the end. Only links on the configured Graph
    /// host are followed, so a forged `next` cannot send our token elsewhere.
    async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, MetaError> {
        let limit = self.page_limit.to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("limit", &limit));
        let mut page: ListPage<T> = self.get(&self.url(path), token, &q).await?;
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            all.append(&mut page.data);
            let next = page.paging.and_then(|p| p.next);
            match next {
                Some(n) if n.starts_with(self.settings.graph_url.trim_end_matches('/')) => {
                    page = self.get(&n, token, &[]).await?;
                }
                _ => break,
            }
        }
        Ok(all)
    }

    // ---- OAuth and tokens -------------------------------------------------

    /// Exchanges a dialog/Embedded Signup `code`. `redirect_uri` must be the one
    /// used in the dialog (none for the JS SDK popup flow).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<TokenResponse, MetaError> {
        let mut q = vec![
            ("client_id", self.settings.app_id.as_str()),
            ("client_secret", self.settings.app_secret.as_str()),
            ("code", code),
        ];
        if let Some(r) = redirect_uri {
            q.push(("redirect_uri", r));
        }
        self.execute(self.http.get(self.url("oauth/access_token")).query(&q))
            .await
    }

    /// Short-lived user token → long-lived (about 60 days).
    pub async fn exchange_long_lived(&self, short_token: &str) -> Result<TokenResponse, MetaError> {
        let q = [
            ("grant_type", "fb_exchange_token"),
            ("client_id", self.settings.app_id.as_str()),
            ("client_secret", self.settings.app_secret.as_str()),
            ("fb_exchange_token", short_token),
        ];
        self.execute(self.http.get(self.url("oauth/access_token")).query(&q))
            .await
    }

    /// Instagram Login tokens are refreshed on graph.instagram.com.
    pub async fn refresh_instagram_token(&self, token: &str) -> Result<TokenResponse, MetaError> {
        let url = format!(
            "{}/refresh_access_token",
            self.settings.instagram_graph_url.trim_end_matches('/')
        );
        let q = [("grant_type", "ig_refresh_token"), ("access_token", token)];
        self.execute(self.http.get(url).query(&q)).await
    }

    /// Inspects any token with the app token (granted assets, expiry, validity).
    pub async fn debug_token(&self, input_token: &str) -> Result<DebugToken, MetaError> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            data: DebugToken,
        }
        let w: Wrap = self
            .get(
                &self.url("debug_token"),
                &self.app_token(),
                &[("input_token", input_token)],
            )
            .await?;
        Ok(w.data)
    }

    /// `debug_token` with the token itself as caller: Meta lets a token inspect
    /// itself, which is how an unknown (customer's own) app id is learned.
    pub async fn debug_own_token(&self, token: &str) -> Result<DebugToken, MetaError> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            data: DebugToken,
        }
        let w: Wrap = self
            .get(&self.url("debug_token"), token, &[("input_token", token)])
            .await?;
        Ok(w.data)
    }

    /// `debug_token` with the app access token `{app_id}|{app_secret}` as
    /// caller: Meta answers only when the secret is the app's, so this is how
    /// a customer's app secret is checked before any webhook relies on it.
    pub async fn debug_token_as_app(
        &self,
        app_id: &str,
        app_secret: &str,
        token: &str,
    ) -> Result<DebugToken, MetaError> {
        #[derive(serde::Deserialize)]
        struct Wrap {
            data: DebugToken,
        }
        let app_token = format!("{app_id}|{app_secret}");
        let w: Wrap = self
            .get(
                &self.url("debug_token"),
                &app_token,
                &[("input_token", token)],
            )
            .await?;
        Ok(w.data)
    }

    // ---- Assets -----------------------------------------------------------

    pub async fn me_accounts(&self, user_token: &str) -> Result<Vec<PageAccount>, MetaError> {
        self.get_all(
            "me/accounts",
            user_token,
            &[(
                "fields",
                "id,name,access_token,tasks,category,instagram_business_account{id,username}",
            )],
        )
        .await
    }

    /// The Instagram professional account linked to a Page, if any.
    pub async fn page_instagram_account(
        &self,
        page_id: &str,
        token: &str,
    ) -> Result<Option<IgAccountRef>, MetaError> {
        #[derive(serde::Deserialize)]
        struct Page {
            instagram_business_account: Option<IgAccountRef>,
        }
        let p: Page = self
            .get(
                &self.url(page_id),
                token,
                &[("fields", "instagram_business_account{id,username,name}")],
            )
            .await?;
        Ok(p.instagram_business_account)
    }

    pub async fn phone_numbers(
        &self,
        waba_id: &str,
        token: &str,
    ) -> Result<Vec<PhoneNumber>, MetaError> {
        self.get_all(
            &format!("{waba_id}/phone_numbers"),
            token,
            &[(
                "fields",
                "id,display_phone_number,verified_name,quality_rating,code_verification_status,name_status,status,platform_type,messaging_limit_tier,account_mode,is_pin_enabled,is_on_biz_app",
            )],
        )
        .await
    }

    /// Registers a number on Cloud API with its 6-digit two-step PIN.
    pub async fn register_phone(
        &self,
        phone_number_id: &str,
        pin: &str,
        token: &str,
    ) -> Result<(), MetaError> {
        let s: Success = self
            .post(
                &self.url(&format!("{phone_number_id}/register")),
                token,
                &json!({"messaging_product": "whatsapp", "pin": pin}),
            )
            .await?;
        success(s)
    }

    /// Installs our app on a WABA, Page or Instagram account.
    pub async fn subscribe_app(
        &self,
        asset_id: &str,
        token: &str,
        sub: &Subscription,
    ) -> Result<(), MetaError> {
        let mut body = json!({});
        if !sub.fields.is_empty() {
            body["subscribed_fields"] = json!(sub.fields.join(","));
        }
        if let Some(u) = &sub.override_callback_uri {
            body["override_callback_uri"] = json!(u);
        }
        if let Some(v) = &sub.verify_token {
            body["verify_token"] = json!(v);
        }
        let s: Success = self
            .post(
                &self.url(&format!("{asset_id}/subscribed_apps")),
                token,
                &body,
            )
            .await?;
        success(s)
    }

    pub async fn subscribed_apps(
        &self,
        asset_id: &str,
        token: &str,
    ) -> Result<Vec<SubscribedApp>, MetaError> {
        let page: ListPage<SubscribedApp> = self
            .get(
                &self.url(&format!("{asset_id}/subscribed_apps")),
                token,
                &[],
            )
            .await?;
        Ok(page.data)
    }

    pub async fn unsubscribe_app(&self, asset_id: &str, token: &str) -> Result<(), MetaError> {
        self.delete(
            &self.url(&format!("{asset_id}/subscribed_apps")),
            token,
            &[],
        )
        .await
    }

    // ---- Messages ---------------------------------------------------------

    pub async fn send_whatsapp(
        &self,
        phone_number_id: &str,
        token: &str,
        msg: &WaMessage,
    ) -> Result<WaSendResponse, MetaError> {
        self.post(
            &self.url(&format!("{phone_number_id}/messages")),
            token,
            &msg.to_body(),
        )
        .await
    }

    /// Messenger Send API with the Page token.
    pub async fn send_page_message(
        &self,
        page_id: &str,
        token: &str,
        msg: &PageMessage,
    ) -> Result<SendApiResponse, MetaError> {
        self.post(
            &self.url(&format!("{page_id}/messages")),
            token,
            &msg.to_body(),
        )
        .await
    }

    /// Instagram messaging (Facebook Login variant) with the linked Page's token.
    pub async fn send_instagram_message(
        &self,
        ig_id: &str,
        token: &str,
        msg: &PageMessage,
    ) -> Result<SendApiResponse, MetaError> {
        let mut body = msg.to_body();
        // Instagram Login samples omit it and it carries nothing extra there.
        if let Some(o) = body.as_object_mut()
            && msg.tag.is_none()
        {
            o.remove("messaging_type");
        }
        self.post(&self.url(&format!("{ig_id}/messages")), token, &body)
            .await
    }

    /// WhatsApp read receipt for an inbound message (and every earlier one),
    /// with the typing indicator when `typing` (it also marks read).
    pub async fn mark_read_whatsapp(
        &self,
        phone_number_id: &str,
        token: &str,
        message_id: &str,
        typing: bool,
    ) -> Result<Value, MetaError> {
        let mut body = serde_json::json!({"messaging_product": "whatsapp", "status": "read",
            "message_id": message_id});
        if typing {
            body["typing_indicator"] = serde_json::json!({"type": "text"});
        }
        self.post(
            &self.url(&format!("{phone_number_id}/messages")),
            token,
            &body,
        )
        .await
    }

    /// A Messenger/Instagram `sender_action` (`mark_seen`, `typing_on`) to one
    /// user, through the Page's or Instagram account's messages edge.
    pub async fn sender_action(
        &self,
        asset_id: &str,
        token: &str,
        recipient_id: &str,
        action: &str,
    ) -> Result<Value, MetaError> {
        let body = serde_json::json!({"recipient": {"id": recipient_id}, "sender_action": action});
        self.post(&self.url(&format!("{asset_id}/messages")), token, &body)
            .await
    }

    // ---- Templates --------------------------------------------------------

    /// Every template of a WABA (all languages), following every page.
    pub async fn list_templates(
        &self,
        waba_id: &str,
        token: &str,
    ) -> Result<Vec<Template>, MetaError> {
        self.get_all(
            &format!("{waba_id}/message_templates"),
            token,
            &[(
                "fields",
                "id,name,language,status,category,parameter_format,components,rejected_reason,quality_score",
            )],
        )
        .await
    }

    pub async fn create_template(
        &self,
        waba_id: &str,
        token: &str,
        t: &NewTemplate,
    ) -> Result<CreatedTemplate, MetaError> {
        let body = serde_json::to_value(t).map_err(|e| MetaError::Decode {
            http_status: 0,
            message: e.to_string(),
        })?;
        self.post(
            &self.url(&format!("{waba_id}/message_templates")),
            token,
            &body,
        )
        .await
    }

    pub async fn edit_template(
        &self,
        template_id: &str,
        token: &str,
        edit: &TemplateEdit,
    ) -> Result<(), MetaError> {
        let body = serde_json::to_value(edit).map_err(|e| MetaError::Decode {
            http_status: 0,
            message: e.to_string(),
        })?;
        let s: Success = self.post(&self.url(template_id), token, &body).await?;
        success(s)
    }

    /// Deletes every language of `name`, or only `template_id` (`hsm_id`) when given.
    pub async fn delete_template(
        &self,
        waba_id: &str,
        token: &str,
        name: &str,
        template_id: Option<&str>,
    ) -> Result<(), MetaError> {
        let mut q = vec![("name", name)];
        if let Some(id) = template_id {
            q.push(("hsm_id", id));
        }
        self.delete(
            &self.url(&format!("{waba_id}/message_templates")),
            token,
            &q,
        )
        .await
    }

    // ---- Media and profiles -----------------------------------------------

    pub async fn media_info(&self, media_id: &str, token: &str) -> Result<MediaInfo, MetaError> {
        self.get(&self.url(media_id), token, &[]).await
    }

    /// Uploads a file for sending (reference §6.1): multipart with
    /// `messaging_product`, `type` and the `file`; Meta answers the media id.
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &str,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, MetaError> {
        #[derive(serde::Deserialize)]
        struct Uploaded {
            id: String,
        }
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime_type)
            .map_err(|e| MetaError::Decode {
                http_status: 0,
                message: format!("MIME type `{mime_type}`: {e}"),
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_string())
            .part("file", part);
        let u: Uploaded = self
            .execute(
                self.http
                    .post(self.url(&format!("{phone_number_id}/media")))
                    .bearer_auth(token)
                    .timeout(Duration::from_secs(120))
                    .multipart(form),
            )
            .await?;
        Ok(u.id)
    }

    /// Downloads the bytes behind a [`MediaInfo::url`]; Meta's CDN wants the
    /// same bearer token and answers an HTML page without it.
    pub async fn download_media(&self, url: &str, token: &str) -> Result<Vec<u8>, MetaError> {
        let res = self
            .http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(120))
            .send()
            .await?;
        let status = res.status().as_u16();
        let body = res.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(match GraphError::parse(status, &body) {
                Some(g) => MetaError::Graph(Box::new(g)),
                None => MetaError::Decode {
                    http_status: status,
                    message: "media download failed".into(),
                },
            });
        }
        Ok(body.to_vec())
    }

    /// A Messenger or Instagram user's profile; `None` when Meta will not show
    /// it (never wrote, no consent, unknown id), which is normal, not a failure.
    pub async fn user_profile(
        &self,
        user_id: &str,
        fields: &str,
        token: &str,
    ) -> Result<Option<UserProfile>, MetaError> {
        match self
            .get::<UserProfile>(&self.url(user_id), token, &[("fields", fields)])
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(MetaError::Graph(g)) if g.means_no_profile() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn success(s: Success) -> Result<(), MetaError> {
    if s.success {
        Ok(())
    } else {
        Err(MetaError::Decode {
            http_status: 200,
            message: "Meta answered without `success: true`".into(),
        })
    }
}

/// Instagram Send API profile fields, for callers.
pub const INSTAGRAM_PROFILE_FIELDS: &str =
    "name,username,profile_pic,follower_count,is_verified_user";
/// Messenger profile fields available with `pages_messaging`.
pub const MESSENGER_PROFILE_FIELDS: &str = "first_name,last_name,profile_pic";
