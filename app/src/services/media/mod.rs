//! Media (SPEC §4.4, §5.1): inbound files fetched from Meta and kept in an
//! object store, signed expiring links to them, uploads for sending, and
//! retention.
//!
//! Inbound durability: the ingest stays fast and never waits for Meta's CDN.
//! Inside its transaction [`prepare_inbound`] gives the file a Switchboard id
//! and [`await_download`] records a `media_jobs` row and keeps the event's
//! deliveries from being due. After the commit the [`worker`] claims the job
//! by lease, downloads and stores the file, rewrites the stored event and
//! delivery payloads (both encrypted) with `media.url`/`media.base64`, and
//! makes the deliveries due. If the quick attempts fail, the event goes out
//! with `media.error` and the download is retried in the background; a later
//! success updates the stored event (replays then carry the link).

pub mod fetch;
pub mod worker;

use std::ops::Range;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::domain::ChannelType;
use crate::domain::billing::Tier;
use crate::domain::media::{self as rules, MediaKind, MediaMode, UploadedMedia};
use crate::error::{AppError, AppResult};
use crate::services::{channels, licenses};
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;
use crate::store::events::Event;
use crate::store::media::{self as db, MediaRow};

type HmacSha256 = Hmac<Sha256>;

/// Where files live, how links are signed, and the worker's wake-up call.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    /// HMAC key for `/media/{id}` links, derived from the secret key.
    url_key: [u8; 32],
    /// How long a link works.
    pub ttl_ms: i64,
    wake: Arc<tokio::sync::Notify>,
    /// Downloads of inbound media: Meta's hosts only, guarded, capped.
    fetcher: fetch::Fetcher,
    /// `s3://bucket` or the local directory, for logs.
    pub location: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl MediaStore {
    /// The configured store: an S3-compatible bucket when one is set, else
    /// a local directory (created when missing).
    pub fn new(config: &Config, secret_key: &[u8]) -> Result<MediaStore, String> {
        let (store, location): (Arc<dyn ObjectStore>, String) = match &config.media.s3 {
            Some(s3) => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
                }
                if let (Some(k), Some(s)) = (&s3.access_key_id, &s3.secret_access_key) {
                    b = b.with_access_key_id(k).with_secret_access_key(s);
                }
                let store = b
                    .build()
                    .map_err(|e| format!("SWITCHBOARD_MEDIA_S3_*: {e}"))?;
                (Arc::new(store), format!("s3://{}", s3.bucket))
            }
            None => {
                let dir = config.media_dir();
                std::fs::create_dir_all(&dir).map_err(|e| {
                    format!(
                        "SWITCHBOARD_MEDIA_DIR: cannot create {}: {e}",
                        dir.display()
                    )
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| format!("SWITCHBOARD_MEDIA_DIR {}: {e}", dir.display()))?;
                (Arc::new(store), dir.display().to_string())
            }
        };
        let mut mac = HmacSha256::new_from_slice(secret_key).expect("HMAC takes any key");
        mac.update(b"switchboard media links v1");
        let mut url_key = [0u8; 32];
        url_key.copy_from_slice(&mac.finalize().into_bytes());
        let fetcher = fetch::Fetcher::new(config)?;
        Ok(MediaStore {
            store,
            url_key,
            ttl_ms: i64::from(config.media.url_ttl_hours) * crate::clock::HOUR_MS,
            wake: Arc::new(tokio::sync::Notify::new()),
            fetcher,
            location,
        })
    }

    /// Tells the worker that downloads may be waiting (after the ingest commits).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn signature(&self, id: &str, exp: i64) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.url_key).expect("HMAC takes any key");
        mac.update(format!("{id}.{exp}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `exp` (unix seconds) and `sig` of a link to `id` that works until `until_ms`.
    pub fn sign(&self, id: &str, until_ms: i64) -> (i64, String) {
        let exp = until_ms / 1000;
        (exp, self.signature(id, exp))
    }

    /// Checks a link: 403 `invalid_signature` for a wrong or missing
    /// signature, 403 `link_expired` after `exp` (constant-time compare).
    pub fn verify(
        &self,
        id: &str,
        exp: Option<&str>,
        sig: Option<&str>,
        now_ms: i64,
    ) -> AppResult<()> {
        let bad = || {
            AppError::client(
                403,
                "invalid_signature",
                "the media link's signature does not match; use the url from the event as it is",
            )
        };
        let exp: i64 = exp.and_then(|e| e.trim().parse().ok()).ok_or_else(bad)?;
        let sig = sig.ok_or_else(bad)?;
        let want = self.signature(id, exp);
        if !crate::crypto::constant_time_eq(want.as_bytes(), sig.trim().as_bytes()) {
            return Err(bad());
        }
        if exp * 1000 <= now_ms {
            return Err(AppError::client(
                403,
                "link_expired",
                "the media link has expired; replay the event for a fresh one",
            ));
        }
        Ok(())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        self.store
            .put(&ObjectPath::from(key), bytes.into())
            .await
            .map(|_| ())
            .map_err(|e| AppError::Internal(format!("storing media {key}: {e}")))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> AppResult<axum::body::Bytes> {
        self.store
            .get_range(&ObjectPath::from(key), range)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => AppError::not_found("media"),
                e => AppError::Internal(format!("reading media {key}: {e}")),
            })
    }

    async fn get_all(&self, key: &str) -> AppResult<axum::body::Bytes> {
        let r = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => AppError::not_found("media"),
                e => AppError::Internal(format!("reading media {key}: {e}")),
            })?;
        r.bytes()
            .await
            .map_err(|e| AppError::Internal(format!("reading media {key}: {e}")))
    }

    async fn remove(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn object_key(account_id: &str, id: &str) -> String {
    format!("{account_id}/{id}")
}

/// The absolute signed link to a stored file, valid for the configured time.
pub fn signed_url(state: &AppState, id: &str) -> String {
    signed_url_until(state, id, state.now() + state.media.ttl_ms)
}

pub fn signed_url_until(state: &AppState, id: &str, until_ms: i64) -> String {
    let (exp, sig) = state.media.sign(id, until_ms);
    format!("{}/media/{id}?exp={exp}&sig={sig}", state.config.base())
}

// ---- inbound: the ingest's part ---------------------------------------------------

/// What to fetch for one inbound media event.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingDownload {
    pub media_id: String,
    pub kind: String,
    /// `meta_media` (WhatsApp media id) or `url`.
    pub source_kind: &'static str,
    pub source: String,
    pub expected_sha256: Option<String>,
    pub filename: Option<String>,
}

/// Called by the ingest before an event is stored: a `data.media` gets its
/// Switchboard id (`url` stays null until the file is stored) and loses the
/// Meta side (`source_url`, Meta's media id), which customers never see.
/// Returns the data to store and what to download, if anything.
pub fn prepare_inbound(ch: &Channel, mut data: Value) -> (Value, Option<PendingDownload>) {
    let kind = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(media) = data.get_mut("media").and_then(Value::as_object_mut) else {
        return (data, None);
    };
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
    let meta_id = text(media.get("id").cloned());
    let source_url = text(media.remove("source_url"));
    let source = match (ch.channel_type.as_str(), meta_id, source_url) {
        ("whatsapp", Some(id), _) => Some(("meta_media", id)),
        (_, _, Some(url)) => Some(("url", url)),
        _ => None,
    };
    let Some((source_kind, source)) = source else {
        media.insert("id".into(), Value::Null);
        media.insert(
            "error".into(),
            json!({"code": "no_source", "detail": "Meta sent no way to fetch this file"}),
        );
        return (data, None);
    };
    let media_id = crate::services::new_id();
    media.insert("id".into(), json!(media_id));
    media.insert("url".into(), Value::Null);
    let pending = PendingDownload {
        media_id,
        kind,
        source_kind,
        source,
        expected_sha256: text(media.get("sha256").cloned()),
        filename: text(media.get("filename").cloned()),
    };
    (data, Some(pending))
}

/// Called by the ingest after the event is stored, in the same transaction:
/// the file's row, its download job, and the event's deliveries held until
/// the worker is done.
pub async fn await_download(
    tx: &mut sqlx::AnyConnection,
    ch: &Channel,
    event: &Event,
    p: PendingDownload,
    now: i64,
) -> Result<(), sqlx::Error> {
    db::insert(
        tx,
        &MediaRow {
            id: p.media_id.clone(),
            account_id: ch.account_id.clone(),
            channel_id: Some(ch.id.clone()),
            direction: db::IN.into(),
            kind: p.kind.clone(),
            status: db::PENDING.into(),
            object_key: object_key(&ch.account_id, &p.media_id),
            mime_type: None,
            size: None,
            sha256: None,
            filename: p.filename.clone(),
            created_at: now,
            stored_at: None,
        },
    )
    .await?;
    db::insert_job(
        tx,
        &db::Job {
            media_id: p.media_id,
            event_id: event.id.clone(),
            channel_id: ch.id.clone(),
            source_kind: p.source_kind.into(),
            source: p.source,
            expected_sha256: p.expected_sha256,
            state: db::WAITING.into(),
            attempts: 0,
            created_at: now,
        },
    )
    .await?;
    db::hold_deliveries(tx, &event.id).await?;
    Ok(())
}

// ---- serving ------------------------------------------------------------------------

/// A file to answer `GET /media/{id}` with.
pub struct Served {
    pub mime_type: String,
    pub filename: Option<String>,
    pub total: u64,
    /// `Some` for a satisfiable `Range` request: the bytes it covers.
    pub range: Option<(u64, u64)>,
    pub body: axum::body::Bytes,
}

/// The outcome of parsing a `Range` header against a file of `total` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// No header, or one this server answers with the whole file (several
    /// ranges, other units, syntax it does not know).
    Whole,
    /// Inclusive first and last byte.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// Single `bytes=` ranges: `a-b`, `a-`, `-n`.
pub fn parse_range(header: Option<&str>, total: u64) -> RangeAsk {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match num(b) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(n) if total > 0 => RangeAsk::Part(total.saturating_sub(n), total - 1),
            Some(_) => RangeAsk::Unsatisfiable,
            None => RangeAsk::Whole,
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeAsk::Whole;
            };
            let end = if b.is_empty() { Some(u64::MAX) } else { num(b) };
            match end {
                None => RangeAsk::Whole,
                Some(end) if end < start => RangeAsk::Whole,
                Some(_) if start >= total => RangeAsk::Unsatisfiable,
                Some(end) => RangeAsk::Part(start, end.min(total - 1)),
            }
        }
        (true, true) => RangeAsk::Whole,
    }
}

/// `GET /media/{id}?exp&sig`: checks the link, then the file (404 when it is
/// unknown, not stored yet or purged), then the range.
pub async fn open(
    state: &AppState,
    id: &str,
    exp: Option<&str>,
    sig: Option<&str>,
    range: Option<&str>,
) -> AppResult<Served> {
    state.media.verify(id, exp, sig, state.now())?;
    let m = db::get(&state.db, id)
        .await?
        .filter(|m| m.status == db::STORED)
        .ok_or_else(|| AppError::not_found("media"))?;
    let total = m.size.unwrap_or(0).max(0) as u64;
    // Rows stored before types were reduced to their essence are answered
    // the same way as new ones.
    let mime_type = rules::essence_or_binary(m.mime_type.as_deref().unwrap_or_default());
    match parse_range(range, total) {
        RangeAsk::Unsatisfiable => Err(AppError::client(
            416,
            "range_not_satisfiable",
            format!("the file is {total} bytes; ask for a range within it"),
        )),
        RangeAsk::Part(a, b) => Ok(Served {
            body: state.media.get_range(&m.object_key, a..b + 1).await?,
            mime_type,
            filename: m.filename,
            total,
            range: Some((a, b)),
        }),
        RangeAsk::Whole => Ok(Served {
            body: state.media.get_all(&m.object_key).await?,
            mime_type,
            filename: m.filename,
            total,
            range: None,
        }),
    }
}

// ---- uploads (POST /api/v1/media) ----------------------------------------------------

/// The limit an upload of `mime` is held to, with the kind it counts as.
/// `kind` is what the caller said it will send the file as, if anything.
/// A malformed type is refused like an unsupported one.
pub fn upload_rule(mime: &str, kind: Option<&str>) -> AppResult<(MediaKind, u64)> {
    if rules::essence(mime).is_none() {
        return Err(AppError::bad_request(
            "unsupported_media_type",
            "the file's Content-Type is not a valid MIME type such as image/jpeg",
        ));
    }
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => MediaKind::parse(k).ok_or_else(|| {
            AppError::validation(format!(
                "type: `{k}` is not one of image, video, audio, document, sticker"
            ))
        })?,
        None => MediaKind::for_mime(mime),
    };
    if !kind.accepts(mime) {
        let allowed = kind.mime_types().join(", ");
        return Err(AppError::bad_request(
            "unsupported_media_type",
            format!(
                "`{}` is not accepted for {} messages; Meta takes {allowed}",
                rules::base_mime(mime),
                kind.as_str()
            ),
        ));
    }
    Ok((kind, kind.max_bytes()))
}

/// `media_too_large` naming the limit.
pub fn too_large(kind: MediaKind, limit: u64) -> AppError {
    AppError::bad_request(
        "media_too_large",
        format!(
            "{} files may be at most {} ({limit} bytes) on WhatsApp; this one is larger",
            kind.as_str(),
            rules::human_size(limit)
        ),
    )
}

/// Stores an uploaded file for sending (pro tier only).
pub async fn upload(
    state: &AppState,
    account_id: &str,
    bytes: Vec<u8>,
    mime: &str,
    kind: Option<&str>,
    filename: Option<&str>,
) -> AppResult<UploadedMedia> {
    licenses::require_tier(state, account_id, Tier::Pro).await?;
    let (kind, limit) = upload_rule(mime, kind)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(kind, limit));
    }
    if bytes.is_empty() {
        return Err(AppError::validation("file: the file is empty"));
    }
    let id = crate::services::new_id();
    let key = object_key(account_id, &id);
    let sha = sha256_hex(&bytes);
    let size = bytes.len() as u64;
    // Only the essence is kept: it is what `/media/{id}` answers with.
    let mime = rules::essence_or_binary(mime);
    state.media.put(&key, bytes).await?;
    let now = state.now();
    let filename = filename.map(sanitize_filename).filter(|f| !f.is_empty());
    let mut conn = state.db.pool.acquire().await?;
    db::insert(
        &mut conn,
        &MediaRow {
            id: id.clone(),
            account_id: account_id.to_string(),
            channel_id: None,
            direction: db::OUT.into(),
            kind: kind.as_str().into(),
            status: db::STORED.into(),
            object_key: key,
            mime_type: Some(mime.clone()),
            size: Some(size as i64),
            sha256: Some(sha.clone()),
            filename,
            created_at: now,
            stored_at: Some(now),
        },
    )
    .await?;
    Ok(UploadedMedia {
        id,
        mime_type: mime,
        size,
        sha256: sha,
    })
}

/// A file name safe for a header: no path, quotes or control characters.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != ';')
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

// ---- sending ------------------------------------------------------------------------

/// How a send refers to an uploaded file on one channel: WhatsApp gets a
/// Meta media id (uploaded once per channel, reused for 30 days); Messenger
/// and Instagram fetch the file from its signed link.
pub enum ForSend {
    MetaId(String),
    Link(String),
}

/// WhatsApp keeps uploaded media ids this long; ours are reused a day less.
const META_MEDIA_TTL_MS: i64 = 29 * crate::clock::DAY_MS;

/// Resolves `media_id` (a Switchboard media id of the account) for sending
/// as `kind` on `ch`, checking Meta's type and size rules for that kind.
pub async fn for_send(
    state: &AppState,
    ch: &Channel,
    media_id: &str,
    kind: MediaKind,
) -> AppResult<ForSend> {
    let m = db::get(&state.db, media_id.trim())
        .await?
        .filter(|m| m.account_id == ch.account_id && m.status == db::STORED)
        .ok_or_else(|| {
            AppError::validation(format!(
                "media.media_id: no stored media {media_id} in this account; upload it with POST /api/v1/media"
            ))
        })?;
    let mime = m.mime_type.clone().unwrap_or_default();
    upload_rule(&mime, Some(kind.as_str()))?;
    let size = m.size.unwrap_or(0).max(0) as u64;
    if size > kind.max_bytes() {
        return Err(too_large(kind, kind.max_bytes()));
    }
    if channels::channel_type(ch) != ChannelType::Whatsapp {
        // Meta fetches it within seconds; the link outlives a queued send (4 h).
        return Ok(ForSend::Link(signed_url(state, &m.id)));
    }
    let now = state.now();
    if let Some(id) = db::upload_of(&state.db, &m.id, &ch.id, now).await? {
        return Ok(ForSend::MetaId(id));
    }
    let bytes = state.media.get_all(&m.object_key).await?;
    let token = channels::token(state, ch)?;
    let filename = m
        .filename
        .clone()
        .unwrap_or_else(|| format!("{}.{}", kind.as_str(), extension(&mime)));
    let meta_id = state
        .meta
        .upload_media(&ch.asset_id, &token, bytes.to_vec(), &mime, &filename)
        .await
        .map_err(|e| {
            AppError::client(
                502,
                "meta_error",
                format!("Meta refused the media upload: {e}"),
            )
        })?;
    db::remember_upload(&state.db, &m.id, &ch.id, &meta_id, now + META_MEDIA_TTL_MS).await?;
    Ok(ForSend::MetaId(meta_id))
}

/// A file extension for a MIME type (names of uploads without one).
pub fn extension(mime: &str) -> &'static str {
    match rules::base_mime(mime).as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/csv" => "csv",
        _ => "bin",
    }
}

// ---- retention and figures -----------------------------------------------------------

/// Removes files (objects and rows) older than the event retention; called
/// by the event purge. Returns how many.
pub async fn purge_before(state: &AppState, cutoff: i64) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let batch = db::expired(&state.db, cutoff, 200).await?;
        if batch.is_empty() {
            break;
        }
        let mut gone = Vec::with_capacity(batch.len());
        for (id, key) in &batch {
            match state.media.remove(key).await {
                Ok(()) => gone.push(id.clone()),
                Err(e) => {
                    tracing::warn!(media = %id, error = %e, "deleting a media object failed; kept for the next purge")
                }
            }
        }
        total += db::delete(&state.db, &gone).await?;
        if gone.len() < batch.len() || batch.len() < 200 {
            break;
        }
    }
    if total > 0 {
        tracing::info!(files = total, "purged media past retention");
    }
    Ok(total)
}

/// Stored bytes and files of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

pub async fn usage(state: &AppState, account_id: &str) -> AppResult<Usage> {
    let (bytes, files) = db::usage(&state.db, account_id).await?;
    Ok(Usage {
        bytes: bytes.max(0) as u64,
        files: files.max(0) as u64,
    })
}

/// Sets a channel's `media_mode` (PATCH /api/v1/channels/{id}, the Portal).
pub async fn set_mode(
    state: &AppState,
    account_id: &str,
    channel_id: &str,
    mode: &str,
) -> AppResult<MediaMode> {
    let m = MediaMode::parse(mode).ok_or_else(|| {
        AppError::bad_request(
            "invalid_media_mode",
            format!("media_mode `{mode}` is not one of link, base64, both"),
        )
    })?;
    channels::load(state, account_id, channel_id).await?;
    store::channels::set_media_mode(&state.db, channel_id, m.as_str(), state.now()).await?;
    Ok(m)
}

/// The media of a stored event as the Portal shows it: a fresh link when the
/// file is stored (`None` otherwise).
pub async fn fresh_link(state: &AppState, account_id: &str, id: &str) -> AppResult<Option<String>> {
    Ok(db::get(&state.db, id)
        .await?
        .filter(|m| m.account_id == account_id && m.status == db::STORED)
        .map(|m| signed_url(state, &m.id)))
}

/// Base64 of `bytes` (standard alphabet, padded), as `media.base64` carries it.
pub(crate) fn inline(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), RangeAsk::Part(0, 3));
        assert_eq!(parse_range(Some("bytes=4-"), 10), RangeAsk::Part(4, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), RangeAsk::Part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), RangeAsk::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), RangeAsk::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=x-"), 10), RangeAsk::Whole);
    }

    #[test]
    fn upload_rules_name_the_limit() {
        assert_eq!(upload_rule("image/png", None).unwrap().1, 5 * rules::MB);
        assert_eq!(
            upload_rule("image/gif", None).unwrap_err().code(),
            "unsupported_media_type"
        );
        assert_eq!(
            upload_rule("image/png", Some("video")).unwrap_err().code(),
            "unsupported_media_type"
        );
        assert_eq!(
            upload_rule("image/png", Some("fax")).unwrap_err().code(),
            "validation_error"
        );
        let e = too_large(MediaKind::Image, 5 * rules::MB);
        assert!(
            e.public_detail().contains("5.0 MB"),
            "{}",
            e.public_detail()
        );
    }

    #[test]
    fn filenames_are_tamed() {
        assert_eq!(sanitize_filename("../../etc/pa\"ss;wd"), "passwd");
        assert_eq!(sanitize_filename("C:\\x\\invoice.pdf"), "invoice.pdf");
    }

    fn channel(t: &str) -> Channel {
        Channel::connected(crate::store::channels::NewChannel {
            id: "c".into(),
            account_id: "a".into(),
            channel_type: t.into(),
            asset_id: "1".into(),
            name: "n".into(),
            access_token: String::new(),
            connected_at: 0,
        })
    }

    #[test]
    fn inbound_media_gets_our_id_and_loses_metas_side() {
        let data = json!({"type": "image", "media": {"id": "1200", "mime_type": "image/jpeg",
            "sha256": "abc=", "size": null, "caption": "c", "filename": null, "url": null,
            "source_url": null}});
        let (d, p) = prepare_inbound(&channel("whatsapp"), data);
        let p = p.unwrap();
        assert_eq!((p.source_kind, p.source.as_str()), ("meta_media", "1200"));
        assert_eq!(p.expected_sha256.as_deref(), Some("abc="));
        assert_eq!(d["media"]["id"], p.media_id.as_str());
        assert!(d["media"].get("source_url").is_none());
        let data = json!({"type": "video", "media": {"id": null, "source_url": "https://cdn/x"}});
        let (d, p) = prepare_inbound(&channel("facebook"), data);
        assert_eq!(p.unwrap().source_kind, "url");
        assert!(d["media"].get("source_url").is_none());
        let (d, p) = prepare_inbound(&channel("instagram"), json!({"type": "text", "text": "x"}));
        assert!(p.is_none());
        assert_eq!(d["text"], "x");
    }
}
