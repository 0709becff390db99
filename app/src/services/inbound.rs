//! Meta webhooks in (SPEC §4.1–4.2): a verified payload is routed to its
//! channels, normalised into events and written — raw body, events and their
//! deliveries — in one transaction before Meta gets its 200.
//!
//! Writes go through one writer task per process that commits a batch of
//! payloads per transaction (group commit): with `synchronous=FULL` each commit
//! costs an fsync, and sharing it keeps throughput from collapsing to one
//! fsync per request. Nobody is answered before their batch is committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::domain::events::{Billing, Item, MessageStatus, MetaErrorRef, Route, Routed};
use crate::error::{AppError, AppResult};
use crate::services::{account_events, fanout, licenses, media};

const TEMPLATE_EVENT: &str = "template.status_updated";
const ACCOUNT_SIGNAL_EVENT: &str = "channel.account_update";
use crate::state::AppState;
use crate::store;
use crate::store::channels::Channel;
use crate::store::messages::Message;

/// Most payloads committed in one transaction.
const MAX_BATCH: usize = 128;
/// Payloads waiting for the writer before senders are made to wait.
const QUEUE: usize = 4096;

/// A Meta POST whose signature verified.
#[derive(Debug)]
pub struct Received {
    pub via: Via,
    pub body: Vec<u8>,
}

/// Whose secret verified a payload, which decides the channels it may reach
/// (SPEC §14): a secret vouches only for channels connected through it.
#[derive(Debug, Clone)]
pub enum Via {
    /// The installation's own app (its id, when configured): channels
    /// connected through the setup flow.
    Platform(Option<String>),
    /// A customer's own app: channels connected through one of these
    /// `meta_apps` rows, the ones whose secret verified the body.
    App { app_id: String, rows: Vec<String> },
}

impl Via {
    fn meta_app_id(&self) -> Option<String> {
        match self {
            Via::Platform(id) => id.clone(),
            Via::App { app_id, .. } => Some(app_id.clone()),
        }
    }

    /// True when a payload that came this way may reach `c`.
    pub fn reaches(&self, c: &Channel) -> bool {
        match (self, &c.meta_app_ref) {
            (Via::Platform(_), None) => true,
            (Via::App { rows, .. }, Some(r)) => rows.contains(r),
            _ => false,
        }
    }
}

struct Job {
    received: Received,
    routed: Result<Vec<Routed>, String>,
    reply: Option<oneshot::Sender<AppResult<()>>>,
}

/// The handle of the group-commit writer kept in `AppState`.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
    rx: Arc<Mutex<Option<mpsc::Receiver<Job>>>>,
}

impl Default for Ingest {
    fn default() -> Self {
        Self::new()
    }
}

impl Ingest {
    pub fn new() -> Ingest {
        let (tx, rx) = mpsc::channel(QUEUE);
        Ingest {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
        }
    }
}

fn unavailable() -> AppError {
    AppError::unavailable("the webhook could not be stored right now; Meta will retry")
}

/// Parses, stores and fans out one verified payload; returns once it is
/// committed. A body that is not Meta JSON is still stored (as orphaned).
pub async fn accept(state: &AppState, received: Received) -> AppResult<()> {
    let routed = crate::meta::webhook::parse(&received.body);
    let (reply, wait) = oneshot::channel();
    state
        .ingest
        .tx
        .send(Job {
            received,
            routed,
            reply: Some(reply),
        })
        .await
        .map_err(|_| unavailable())?;
    wait.await.map_err(|_| unavailable())?
}

/// Starts the writer task (once per state).
pub fn spawn_writer(state: &AppState) {
    let Some(rx) = state.ingest.rx.lock().ok().and_then(|mut r| r.take()) else {
        return;
    };
    tokio::spawn(writer(state.clone(), rx));
}

async fn writer(state: AppState, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        match commit(&state, &batch).await {
            Ok(()) => finish(&mut batch, || Ok(())),
            Err(e) if batch.len() == 1 => {
                tracing::error!(error = %e, "storing a Meta webhook failed");
                finish(&mut batch, unavailable_err);
            }
            Err(e) => {
                // One bad payload must not fail its neighbours: retry alone.
                tracing::warn!(error = %e, size = batch.len(), "batch failed; storing payloads one by one");
                for job in &mut batch {
                    let one = std::slice::from_ref(job);
                    let r = commit(&state, one).await.map_err(|e| {
                        tracing::error!(error = %e, "storing a Meta webhook failed");
                        unavailable()
                    });
                    if let Some(reply) = job.reply.take() {
                        let _ = reply.send(r);
                    }
                }
            }
        }
        state.metrics.observe_request(
            "ingest_batch",
            200,
            started.elapsed().as_secs_f64() * 1000.0,
        );
        state.relay_wake.notify_waiters();
        state.media.wake();
    }
}

fn unavailable_err() -> AppResult<()> {
    Err(unavailable())
}

fn finish(batch: &mut [Job], result: impl Fn() -> AppResult<()>) {
    for job in batch {
        if let Some(reply) = job.reply.take() {
            let _ = reply.send(result());
        }
    }
}

/// Read-only facts looked up once per batch: channels by route, and whether
/// a channel holds a license of its own (deliveries are held without one).
#[derive(Default)]
struct Lookups {
    channels: HashMap<Route, Vec<Channel>>,
    /// By channel id ([`licenses::Entitlement::holds`]).
    licensed: HashMap<String, bool>,
    /// Account-event plans by account (template status updates).
    template_plans: HashMap<String, account_events::Plan>,
    /// Account-event plans by account (account signals, SPEC §13).
    signal_plans: HashMap<String, account_events::Plan>,
}

impl Lookups {
    async fn channels(&mut self, state: &AppState, route: &Route) -> AppResult<Vec<Channel>> {
        if let Some(c) = self.channels.get(route) {
            return Ok(c.clone());
        }
        let found = match route.asset() {
            Some((t, id)) => store::channels::active_by_asset(&state.db, t, id)
                .await?
                .into_iter()
                .collect(),
            None => store::channels::active_on_waba(&state.db, route.id()).await?,
        };
        self.channels.insert(route.clone(), found.clone());
        Ok(found)
    }

    async fn licensed(&mut self, state: &AppState, ch: &Channel) -> AppResult<bool> {
        if let Some(l) = self.licensed.get(&ch.id) {
            return Ok(*l);
        }
        let l = !licenses::held(state, &ch.account_id, Some(&ch.id)).await?;
        self.licensed.insert(ch.id.clone(), l);
        Ok(l)
    }
}

async fn commit(state: &AppState, batch: &[Job]) -> AppResult<()> {
    let mut lookups = Lookups::default();
    // Resolve before the transaction so the write lock is held only for writes.
    let mut plans = Vec::with_capacity(batch.len());
    for job in batch {
        let mut routes = Vec::new();
        let mut orphans = Vec::new();
        for r in job.routed.as_deref().unwrap_or_default() {
            let chans: Vec<Channel> = lookups
                .channels(state, &r.route)
                .await?
                .into_iter()
                .filter(|c| job.received.via.reaches(c))
                .collect();
            if chans.is_empty() {
                // Messenger/Instagram give one route per item: name each asset once.
                if !orphans.iter().any(|o| o == r.route.id()) {
                    orphans.push(r.route.id().to_string());
                }
            } else {
                for c in &chans {
                    lookups.licensed(state, c).await?;
                    if matches!(r.route, Route::Waba(_))
                        && !lookups.template_plans.contains_key(&c.account_id)
                    {
                        let p = account_events::plan(state, &c.account_id, TEMPLATE_EVENT).await?;
                        lookups.template_plans.insert(c.account_id.clone(), p);
                    }
                    if matches!(r.route, Route::Waba(_))
                        && !lookups.signal_plans.contains_key(&c.account_id)
                    {
                        let p = account_events::plan(state, &c.account_id, ACCOUNT_SIGNAL_EVENT)
                            .await?;
                        lookups.signal_plans.insert(c.account_id.clone(), p);
                    }
                }
                routes.push((r, chans));
            }
        }
        plans.push((job, routes, orphans));
    }
    let _turn = state.db.write_turn().await;
    let mut tx = state.db.begin().await?;
    // Channels that got an event: their last-event time is written once per
    // batch, not once per message (one statement less per payload).
    let mut touched = std::collections::BTreeSet::new();
    let mut now = state.now();
    for (job, routes, orphans) in plans {
        now = state.now();
        let payload_id = crate::services::new_id();
        let object = serde_json::from_slice::<Value>(&job.received.body)
            .ok()
            .and_then(|v| v.get("object").and_then(Value::as_str).map(str::to_string));
        store::events::insert_payload(
            &mut tx,
            &store::events::InboundPayload {
                id: payload_id.clone(),
                meta_app_id: job.received.via.meta_app_id(),
                object,
                // End users' messages: encrypted at rest like events (SPEC §14).
                body: state.cipher.encrypt(&job.received.body),
                orphaned: !orphans.is_empty() || job.routed.is_err(),
                orphan_assets: (!orphans.is_empty())
                    .then(|| serde_json::to_string(&orphans).unwrap_or_default()),
                received_at: now,
            },
        )
        .await?;
        // Meta's own items (SPEC §13 raw passthrough): the body is parsed
        // again only when a channel of this payload asked for them.
        let wants_raw = routes
            .iter()
            .any(|(r, chans)| r.raw.is_some() && chans.iter().any(|c| c.include_raw));
        let doc: Option<Value> = if wants_raw {
            serde_json::from_slice(&job.received.body).ok()
        } else {
            None
        };
        let mut w = Writer {
            state,
            tx: &mut tx,
            lookups: &lookups,
            payload_id: &payload_id,
            now,
            touched: &mut touched,
            raw: None,
        };
        for (r, chans) in routes {
            w.raw = match (&doc, &r.raw) {
                (Some(d), Some(p)) if chans.iter().any(|c| c.include_raw) => d.pointer(p).cloned(),
                _ => None,
            };
            for item in &r.items {
                w.item(&chans, item).await?;
            }
        }
    }
    for channel_id in &touched {
        store::channels::touch_last_event(&mut tx, channel_id, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether a stored phone number and Meta's `display_phone_number` are the
/// same number: digits only on both sides (either may carry `+` or spaces).
fn same_number(stored: &str, display: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let d = digits(display);
    !d.is_empty() && digits(stored) == d
}

/// Writes the events of one payload inside the batch transaction.
struct Writer<'a> {
    state: &'a AppState,
    tx: &'a mut sqlx::AnyConnection,
    lookups: &'a Lookups,
    payload_id: &'a str,
    now: i64,
    touched: &'a mut std::collections::BTreeSet<String>,
    /// The Meta item the current items came from, for `include_raw` channels.
    raw: Option<Value>,
}

impl Writer<'_> {
    async fn item(&mut self, chans: &[Channel], item: &Item) -> AppResult<()> {
        match item {
            Item::Message {
                event,
                dedupe_key,
                occurred_at,
                contact,
                contact_name,
                data,
            } => {
                for ch in chans {
                    if *event == "message.received" {
                        store::contacts::seen(
                            self.tx,
                            &ch.id,
                            contact,
                            contact_name.as_deref(),
                            *occurred_at,
                        )
                        .await?;
                    }
                    let data = self.resolve_context(ch, data).await?;
                    self.emit(ch, event, dedupe_key, *occurred_at, data, true)
                        .await?;
                    self.touched.insert(ch.id.clone());
                }
            }
            Item::Status {
                meta_message_id,
                status,
                recipient,
                occurred_at,
                errors,
                billing,
            } => {
                for ch in chans {
                    self.status(
                        ch,
                        meta_message_id,
                        *status,
                        recipient,
                        *occurred_at,
                        errors,
                        billing,
                        true,
                    )
                    .await?;
                    self.touched.insert(ch.id.clone());
                }
            }
            Item::Watermark {
                status,
                recipient,
                watermark,
                mids,
                occurred_at,
            } => {
                for ch in chans {
                    self.watermark(ch, *status, recipient, *watermark, mids, *occurred_at)
                        .await?;
                    self.touched.insert(ch.id.clone());
                }
            }
            Item::TemplateStatus {
                dedupe_key,
                occurred_at,
                data,
            } => {
                // The local copies first, then one account event per account on the WABA.
                if let Some(waba) = chans.first().and_then(|c| c.waba_id.as_deref()) {
                    crate::services::templates::record_status(
                        self.tx,
                        waba,
                        data,
                        *occurred_at,
                        self.now,
                    )
                    .await?;
                }
                let mut seen = std::collections::HashSet::new();
                for ch in chans {
                    if seen.insert(ch.account_id.clone()) {
                        self.account_event(&ch.account_id, dedupe_key, *occurred_at, data)
                            .await?;
                    }
                }
            }
            Item::AccountUpdate {
                phone_number,
                event,
                occurred_at,
                account_status,
                quality_rating,
                details,
            } => {
                // A number's quality concerns its channel only; the WABA's
                // standing, every channel on it.
                let concerned = chans.iter().filter(|c| match phone_number {
                    None => true,
                    Some(p) => c.phone_number.as_deref().is_some_and(|n| same_number(n, p)),
                });
                for ch in concerned {
                    store::channels::set_signals(
                        self.tx,
                        &ch.id,
                        account_status.as_deref(),
                        quality_rating.as_deref(),
                        self.now,
                    )
                    .await?;
                    let Some(plan) = self.lookups.signal_plans.get(&ch.account_id) else {
                        continue;
                    };
                    let data = serde_json::json!({
                        "channel_id": ch.id,
                        "waba_id": ch.waba_id,
                        "event": event,
                        "details": details,
                    });
                    let key = format!("acct:{}:{event}:{}", ch.id, occurred_at / 1000);
                    account_events::record_in(
                        self.tx,
                        self.state,
                        plan,
                        ACCOUNT_SIGNAL_EVENT,
                        Some(&key),
                        *occurred_at,
                        data,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn account_event(
        &mut self,
        account_id: &str,
        dedupe_key: &str,
        occurred_at: i64,
        data: &Value,
    ) -> AppResult<()> {
        let Some(plan) = self.lookups.template_plans.get(account_id) else {
            return Ok(());
        };
        account_events::record_in(
            self.tx,
            self.state,
            plan,
            TEMPLATE_EVENT,
            Some(dedupe_key),
            occurred_at,
            data.clone(),
        )
        .await?;
        Ok(())
    }

    /// Adds Switchboard's id of a quoted message sent through Switchboard
    /// (`context.reply_to_message_id`, SPEC §13); Meta's id stays in
    /// `reply_to`. One look-up, only for messages that quote something.
    async fn resolve_context(&mut self, ch: &Channel, data: &Value) -> AppResult<Value> {
        let Some(reply_to) = data.pointer("/context/reply_to").and_then(Value::as_str) else {
            return Ok(data.clone());
        };
        let mut data = data.clone();
        if let Some(m) = store::messages::by_meta_id(self.tx, &ch.id, reply_to).await? {
            data["context"]["reply_to_message_id"] = json!(m.id);
        }
        Ok(data)
    }

    /// Stores one channel event; delivers it when `deliver` and the customer
    /// enabled it. Returns false for a duplicate.
    async fn emit(
        &mut self,
        ch: &Channel,
        event: &str,
        dedupe_key: &str,
        occurred_at: i64,
        data: Value,
        deliver: bool,
    ) -> AppResult<bool> {
        let event_id = fanout::new_event_id();
        // Media (SPEC §4.4): the file gets its Switchboard id here and Meta's
        // side of it (source URL, media id) leaves what customers see.
        let (data, media) = media::prepare_inbound(ch, data);
        let mut body = fanout::channel_body(
            &event_id,
            event,
            &ch.id,
            &ch.channel_type,
            occurred_at,
            data,
        );
        if ch.include_raw {
            body["raw"] = self.raw.clone().unwrap_or(Value::Null);
        }
        let targets: Vec<_> = if deliver && fanout::channel_wants(ch, event) {
            fanout::channel_target(ch).into_iter().collect()
        } else {
            vec![]
        };
        let held = !self.lookups.licensed.get(&ch.id).copied().unwrap_or(false);
        let stored = fanout::record(
            self.tx,
            &self.state.cipher,
            self.now,
            &event_id,
            &fanout::NewEvent {
                account_id: ch.account_id.clone(),
                channel_id: Some(ch.id.clone()),
                event: event.to_string(),
                dedupe_key: Some(dedupe_key.to_string()),
                inbound_payload_id: Some(self.payload_id.to_string()),
                occurred_at,
            },
            &body,
            &targets,
            held,
        )
        .await?;
        // ... and is downloaded after the commit: a media_jobs row, and the
        // event's deliveries not due until the media worker filled media.url.
        if let (Some(ev), Some(m)) = (&stored, media) {
            media::await_download(self.tx, ch, ev, m, self.now).await?;
        }
        Ok(stored.is_some())
    }

    /// A WhatsApp status for one message: mapped to the Switchboard id, never
    /// backwards, with the statuses it implies first, and read cascading.
    /// With `may_park`, a status for an unknown id waits while a send on the
    /// channel is at Meta (it is likely that send's).
    #[allow(clippy::too_many_arguments)] // the fields of one Meta status
    async fn status(
        &mut self,
        ch: &Channel,
        meta_message_id: &str,
        status: MessageStatus,
        recipient: &str,
        occurred_at: i64,
        errors: &[MetaErrorRef],
        billing: &Billing,
        may_park: bool,
    ) -> AppResult<()> {
        let mut msg = store::messages::by_meta_id(self.tx, &ch.id, meta_message_id).await?;
        if msg.is_none() && may_park {
            if store::messages::sending_on(self.tx, &ch.id, self.now).await? {
                // Meta may report a send before the send has stored the id
                // Meta answered with: wait for it (applied by messages::sent).
                let early = store::early_statuses::EarlyStatus {
                    id: crate::services::new_id(),
                    channel_id: ch.id.clone(),
                    meta_message_id: meta_message_id.to_string(),
                    payload_id: self.payload_id.to_string(),
                    status,
                    recipient: recipient.to_string(),
                    occurred_at,
                    errors: errors.to_vec(),
                    received_at: self.now,
                    details: store::early_statuses::Details {
                        billing: billing.clone(),
                        // Encrypted like every copy of Meta's payload (SPEC §14).
                        raw: self
                            .raw
                            .as_ref()
                            .filter(|_| ch.include_raw)
                            .map(|v| self.state.cipher.encrypt(v.to_string().as_bytes())),
                    },
                };
                store::early_statuses::park(self.tx, &early).await?;
                return Ok(());
            }
            // A send that finished since the first look has its id now.
            msg = store::messages::by_meta_id(self.tx, &ch.id, meta_message_id).await?;
        }
        let Some(msg) = msg else {
            // Sent outside Switchboard (another tool, the Business app): still
            // reported, without a Switchboard id.
            let data = status_data(None, status, recipient, meta_message_id, errors, billing);
            let key = format!("st:meta:{meta_message_id}:{}", status.as_str());
            self.emit(ch, status.event(), &key, occurred_at, data, true)
                .await?;
            return Ok(());
        };
        if status.rank() <= msg.status_rank {
            // Late or repeated: kept for the record, not delivered.
            let key = format!("st:{}:{}:late", msg.id, status.as_str());
            let data = status_data(
                Some(&msg),
                status,
                recipient,
                meta_message_id,
                errors,
                billing,
            );
            self.emit(ch, status.event(), &key, occurred_at, data, false)
                .await?;
            return Ok(());
        }
        self.advance(ch, &msg, status, occurred_at, errors, billing)
            .await?;
        if status == MessageStatus::Read {
            let earlier = store::messages::below_rank_until(
                self.tx,
                &ch.id,
                &msg.recipient,
                MessageStatus::Read.rank(),
                msg.created_at,
            )
            .await?;
            // Meta's pricing was for `msg`, not for the messages it implies.
            for m in earlier.iter().filter(|m| m.id != msg.id) {
                self.advance(
                    ch,
                    m,
                    MessageStatus::Read,
                    occurred_at,
                    &[],
                    &Billing::default(),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Messenger/Instagram delivery or read watermark: every earlier outbound
    /// message to the user (and the named mids) moves forward.
    async fn watermark(
        &mut self,
        ch: &Channel,
        status: MessageStatus,
        recipient: &str,
        watermark: i64,
        mids: &[String],
        occurred_at: i64,
    ) -> AppResult<()> {
        let mut covered =
            store::messages::below_rank_until(self.tx, &ch.id, recipient, status.rank(), watermark)
                .await?;
        for mid in mids {
            if let Some(m) = store::messages::by_meta_id(self.tx, &ch.id, mid).await?
                && m.status_rank < status.rank()
                && m.status != MessageStatus::Failed.as_str()
                && !covered.iter().any(|c| c.id == m.id)
            {
                covered.push(m);
            }
        }
        covered.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for m in &covered {
            self.advance(ch, m, status, occurred_at, &[], &Billing::default())
                .await?;
        }
        Ok(())
    }

    /// Moves `msg` to `status`, emitting first the statuses it implies (a read
    /// of a message never reported delivered is also its delivery; WhatsApp's
    /// `sent` likewise), each delivered only if enabled. Meta's `billing`
    /// goes with the status Meta reported, not with the implied ones.
    async fn advance(
        &mut self,
        ch: &Channel,
        msg: &Message,
        status: MessageStatus,
        occurred_at: i64,
        errors: &[MetaErrorRef],
        billing: &Billing,
    ) -> AppResult<()> {
        let mut steps = Vec::new();
        if status != MessageStatus::Failed {
            if ch.channel_type == "whatsapp"
                && msg.status_rank < MessageStatus::Sent.rank()
                && status > MessageStatus::Sent
            {
                steps.push(MessageStatus::Sent);
            }
            if msg.status_rank < MessageStatus::Delivered.rank()
                && status > MessageStatus::Delivered
            {
                steps.push(MessageStatus::Delivered);
            }
        }
        steps.push(status);
        let none = Billing::default();
        for s in steps {
            let (errs, bill): (&[MetaErrorRef], &Billing) = if s == status {
                (errors, billing)
            } else {
                (&[], &none)
            };
            let data = status_data(
                Some(msg),
                s,
                &msg.recipient,
                msg.meta_message_id.as_deref().unwrap_or_default(),
                errs,
                bill,
            );
            let key = format!("st:{}:{}", msg.id, s.as_str());
            self.emit(ch, s.event(), &key, occurred_at, data, true)
                .await?;
        }
        let error = errors.first().map(|e| format!("{} ({})", e.title, e.code));
        store::messages::advance(
            self.tx,
            &msg.id,
            status.as_str(),
            status.rank(),
            error.as_deref(),
            self.now,
        )
        .await?;
        Ok(())
    }
}

/// How long a parked status waits for its send before it is reported as a
/// status of an unknown message. Longer than a send's first-attempt lease, so
/// by then the send has recorded its id or given up.
pub const EARLY_STATUS_WAIT_MS: i64 = 2 * 60_000;

/// Applies the statuses that arrived before the send `meta_message_id`
/// recorded its id, inside the send's transaction. True when events were
/// written (the relay has work).
pub(crate) async fn apply_early_statuses(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    ch: &Channel,
    meta_message_id: &str,
    licensed: bool,
    now: i64,
) -> AppResult<bool> {
    let early = store::early_statuses::take(tx, &ch.id, meta_message_id).await?;
    if early.is_empty() {
        return Ok(false);
    }
    let mut lookups = Lookups::default();
    lookups.licensed.insert(ch.id.clone(), licensed);
    apply(state, tx, &lookups, ch, &early, now).await?;
    Ok(true)
}

/// Applies parked statuses whose send recorded its id after all (the two
/// transactions crossed), and reports those whose send never did within
/// [`EARLY_STATUS_WAIT_MS`] (sent by another tool, or a send lost with its
/// process) as they would have been on arrival. Returns how many.
pub async fn release_early_statuses(state: &AppState) -> AppResult<usize> {
    if !store::early_statuses::any(&state.db).await? {
        return Ok(0);
    }
    let now = state.now();
    let _turn = state.db.write_turn().await;
    let mut tx = state.db.begin().await?;
    let early = store::early_statuses::take_due(&mut tx, now - EARLY_STATUS_WAIT_MS, 100).await?;
    let mut lookups = Lookups::default();
    for e in &early {
        // A deleted channel takes its parked statuses with it.
        let Some(ch) = store::channels::by_id(&state.db, &e.channel_id).await? else {
            continue;
        };
        lookups.licensed(state, &ch).await?;
        apply(state, &mut tx, &lookups, &ch, std::slice::from_ref(e), now).await?;
    }
    tx.commit().await?;
    if !early.is_empty() {
        state.relay_wake.notify_one();
    }
    Ok(early.len())
}

/// Runs parked statuses through the ingest's status rule, never parking again.
async fn apply(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    lookups: &Lookups,
    ch: &Channel,
    early: &[store::early_statuses::EarlyStatus],
    now: i64,
) -> AppResult<()> {
    let mut touched = std::collections::BTreeSet::new();
    for e in early {
        let raw = e
            .details
            .raw
            .as_deref()
            .and_then(|c| state.cipher.decrypt(c).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let mut w = Writer {
            state,
            tx: &mut *tx,
            lookups,
            payload_id: &e.payload_id,
            now,
            touched: &mut touched,
            raw,
        };
        w.status(
            ch,
            &e.meta_message_id,
            e.status,
            &e.recipient,
            e.occurred_at,
            &e.errors,
            &e.details.billing,
            false,
        )
        .await?;
    }
    Ok(())
}

/// `data` of `message.sent|delivered|read|failed` (SPEC §4.2, §13).
fn status_data(
    msg: Option<&Message>,
    status: MessageStatus,
    recipient: &str,
    meta_message_id: &str,
    errors: &[MetaErrorRef],
    billing: &Billing,
) -> Value {
    let mut data = json!({
        "message_id": msg.map(|m| m.id.clone()),
        "status": status.as_str(),
        "recipient": recipient,
        "meta_message_id": meta_message_id,
        "pricing": billing.pricing,
        "conversation": billing.conversation,
    });
    if status == MessageStatus::Failed {
        data["error"] = json!(errors.first().map(|e| e.title.clone()));
        data["errors"] = json!(errors);
    }
    data
}
