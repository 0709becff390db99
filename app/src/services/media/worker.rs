//! The media worker: downloads inbound media right after the ingest commits
//! (Meta's URLs expire within minutes), claimed by lease from `media_jobs` so
//! several processes share the work and a crashed worker's jobs come back.
//!
//! Per job: fetch (WhatsApp `GET /{media-id}` then the download with the
//! channel's token; Messenger/Instagram the attachment URL), check the
//! digest Meta gave, store, then in one transaction: the file row, the event
//! and delivery payloads (`media.url`, `size`, `sha256`, `base64` per the
//! channel's `media_mode`), the deliveries made due, the job done.
//!
//! Failures: [`QUICK_ATTEMPTS`] tries a second apart while the deliveries
//! wait; then the event goes out with `media.error` and the download goes on
//! in the background ([`BACKGROUND_DELAYS_MS`]); a late success updates the
//! stored event and any delivery still queued.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub use super::fetch::Failure;
use super::{inline, sha256_hex};
use crate::domain::media::{self as rules, MediaMode};
use crate::error::{AppError, AppResult};
use crate::services::channels;
use crate::state::AppState;
use crate::store;
use crate::store::media::{self as db, Job};

/// Attempts while the event's deliveries wait, one second apart.
pub const QUICK_ATTEMPTS: i64 = 3;
/// Delays of the background attempts after the event went out with an error.
pub const BACKGROUND_DELAYS_MS: [i64; 3] = [60_000, 5 * 60_000, 30 * 60_000];
/// A claim lasts this long; a download times out after 120 s.
pub const LEASE_MS: i64 = 180_000;
/// Jobs worked on at once by one process.
pub const CONCURRENCY: usize = 4;
const POLL: Duration = Duration::from_millis(250);

/// The running worker of this process.
pub struct MediaWorkerHandle {
    state: AppState,
    owner: Arc<str>,
    task: JoinHandle<()>,
}

impl MediaWorkerHandle {
    /// Waits for the loop to end (after `accepting` turned false and the jobs
    /// in flight finished, at most ~10 s) and gives back the leases.
    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        match db::release_job_leases(&self.state.db, &self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "media worker: gave back leases"),
            Err(e) => tracing::warn!(error = %e, "media worker: giving back leases failed"),
        }
    }
}

pub fn spawn(state: &AppState) -> MediaWorkerHandle {
    let owner: Arc<str> = format!(
        "media-{}-{}",
        std::process::id(),
        crate::crypto::random_hex(6)
    )
    .into();
    let task = tokio::spawn(run(state.clone(), owner.clone()));
    MediaWorkerHandle {
        state: state.clone(),
        owner,
        task,
    }
}

async fn run(state: AppState, owner: Arc<str>) {
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    while state.accepting.load(Ordering::SeqCst) {
        state.heartbeats.beat(crate::heartbeat::Worker::Media);
        let free = sem.available_permits();
        if free > 0 {
            match db::claim_jobs(&state.db, &owner, state.now(), LEASE_MS, free as i64).await {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(permit) = sem.clone().acquire_owned().await else {
                            break;
                        };
                        let (state, owner) = (state.clone(), owner.clone());
                        tokio::spawn(async move {
                            if let Err(e) = work(&state, &owner, job).await {
                                tracing::warn!(error = %e, "media job failed to record");
                            }
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming media jobs failed"),
            }
        }
        tokio::select! {
            _ = state.media.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        sem.acquire_many(CONCURRENCY as u32),
    )
    .await;
}

/// One attempt at one job, recorded.
pub async fn work(state: &AppState, owner: &str, job: Job) -> AppResult<()> {
    let media = db::get(&state.db, &job.media_id).await?;
    let Some(media) = media else {
        return Ok(()); // purged meanwhile
    };
    let channel = store::channels::get(&state.db, &media.account_id, &job.channel_id).await?;
    let fetched = match &channel {
        Some(ch) => fetch(state, ch, &media.kind, &job).await,
        None => Err(Failure::new("channel_gone", "the channel no longer exists")),
    };
    let attempts = job.attempts + 1;
    let now = state.now();
    // The fetch is done; take this process's SQLite write turn like the
    // ingest and the relay, so this transaction does not lose a busy race.
    let _turn = state.db.write_turn().await;
    let mut tx = state.db.begin().await?;
    let mut due = 0;
    match fetched {
        Ok((bytes, mime)) => {
            let sha = sha256_hex(&bytes);
            let size = bytes.len() as i64;
            state.media.put(&media.object_key, bytes.clone()).await?;
            db::mark_stored(&mut tx, &media.id, &mime, size, &sha, now).await?;
            let mode = channel
                .as_ref()
                .and_then(|c| MediaMode::parse(&c.media_mode))
                .unwrap_or_default();
            let (with_b64, with_link) = mode.carries(size as u64);
            let url = super::signed_url(state, &media.id);
            rewrite(state, &mut tx, &job.event_id, |m| {
                m["url"] = if with_link { json!(url) } else { Value::Null };
                m["mime_type"] = json!(mime);
                m["size"] = json!(size);
                m["sha256"] = json!(sha);
                if with_b64 {
                    m["base64"] = json!(inline(&bytes));
                }
                if let Some(o) = m.as_object_mut() {
                    o.remove("error");
                }
            })
            .await?;
            if !db::finish_attempt(
                &mut tx,
                &media.id,
                owner,
                db::DONE,
                attempts,
                None,
                None,
                now,
            )
            .await?
            {
                return Ok(()); // the lease ran out and someone else has it
            }
            due = db::release_deliveries(&mut tx, &job.event_id, now).await?;
        }
        Err(f) => {
            let text = format!("{}: {}", f.code, f.detail);
            tracing::warn!(media = %media.id, attempt = attempts, error = %text, "media download failed");
            let background = (attempts - QUICK_ATTEMPTS).max(0) as usize;
            // A refused source or an oversized file fails for good at once.
            let (state_after, next) = if f.permanent {
                (db::FAILED, None)
            } else if job.state == db::WAITING && attempts < QUICK_ATTEMPTS {
                (db::WAITING, Some(now + 1000 * attempts))
            } else if background < BACKGROUND_DELAYS_MS.len() {
                (db::RETRYING, Some(now + BACKGROUND_DELAYS_MS[background]))
            } else {
                (db::FAILED, None)
            };
            if job.state == db::WAITING && state_after != db::WAITING {
                // The customer waited long enough: the event goes out without the file.
                rewrite(state, &mut tx, &job.event_id, |m| {
                    m["url"] = Value::Null;
                    m["error"] = json!({"code": f.code, "detail": f.detail});
                })
                .await?;
            }
            if state_after == db::FAILED {
                db::mark_failed(&mut tx, &media.id).await?;
            }
            if !db::finish_attempt(
                &mut tx,
                &media.id,
                owner,
                state_after,
                attempts,
                next,
                Some(&text),
                now,
            )
            .await?
            {
                return Ok(());
            }
            if state_after != db::WAITING {
                due = db::release_deliveries(&mut tx, &job.event_id, now).await?;
            }
        }
    }
    tx.commit().await?;
    if due > 0 {
        state.relay_wake.notify_waiters();
    }
    Ok(())
}

/// Rewrites `data.media` of the stored event (and of its queued deliveries).
async fn rewrite(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    event_id: &str,
    edit: impl FnOnce(&mut Value),
) -> AppResult<()> {
    let Some(ct) = db::event_payload(tx, event_id).await? else {
        return Ok(()); // purged
    };
    let raw = state
        .cipher
        .decrypt(&ct)
        .map_err(|e| AppError::Internal(format!("event {event_id}: {e}")))?;
    let mut body: Value =
        serde_json::from_slice(&raw).map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(m) = body.pointer_mut("/data/media") else {
        return Ok(());
    };
    edit(m);
    let raw = serde_json::to_vec(&body).map_err(|e| AppError::Internal(e.to_string()))?;
    db::rewrite_payloads(tx, event_id, || state.cipher.encrypt(&raw)).await?;
    Ok(())
}

/// Downloads the file of `job`: the bytes and their MIME type (an essence).
/// `kind` is the media's type, whose cap applies.
async fn fetch(
    state: &AppState,
    ch: &crate::store::channels::Channel,
    kind: &str,
    job: &Job,
) -> Result<(Vec<u8>, String), Failure> {
    let cap = rules::inbound_max_bytes(&ch.channel_type, kind);
    let fetcher = &state.media.fetcher;
    let (bytes, mime, meta_sha) = match job.source_kind.as_str() {
        "meta_media" => {
            let token = channels::token(state, ch)
                .map_err(|e| Failure::new("token_unavailable", e.public_detail()))?;
            let info = state
                .meta
                .media_info(&job.source, &token)
                .await
                .map_err(|e| Failure::new("meta_error", format!("GET /{}: {e}", job.source)))?;
            if let Some(n) = info.file_size
                && n > 0
                && n as u64 > cap
            {
                return Err(super::fetch::too_large(cap));
            }
            let (bytes, ctype) = fetcher.get(&info.url, Some(&token), cap).await?;
            if let Some(n) = info.file_size
                && n != bytes.len() as i64
            {
                return Err(Failure::new(
                    "size_mismatch",
                    format!("Meta said {n} bytes, the download had {}", bytes.len()),
                ));
            }
            let mime = if info.mime_type.is_empty() {
                ctype.unwrap_or_default()
            } else {
                info.mime_type
            };
            (bytes, mime, info.sha256)
        }
        _ => {
            let (bytes, ctype) = fetcher.get(&job.source, None, cap).await?;
            (bytes, ctype.unwrap_or_default(), None)
        }
    };
    let actual = sha256_hex(&bytes);
    for claimed in [job.expected_sha256.as_deref(), meta_sha.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Some(want) = digest_hex(claimed)
            && want != actual
        {
            return Err(Failure::new(
                "checksum_mismatch",
                format!("the file's SHA-256 is {actual}, Meta said {want}"),
            ));
        }
    }
    // Only the essence is stored: `/media/{id}` answers with it.
    Ok((bytes, rules::essence_or_binary(&mime)))
}

/// Meta's digest as lowercase hex: webhooks carry base64 of the digest, the
/// media node hex. `None` when it is neither (not checked).
pub fn digest_hex(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(s.to_ascii_lowercase());
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .filter(|d| d.len() == 32)
        .map(hex::encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_either_encoding() {
        let hex = sha256_hex(b"abc");
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex).unwrap());
        assert_eq!(digest_hex(&b64).as_deref(), Some(hex.as_str()));
        assert_eq!(
            digest_hex(&hex.to_uppercase()).as_deref(),
            Some(hex.as_str())
        );
        assert_eq!(digest_hex("ZmFrZS1hdWRpbw=="), None);
    }
}
