-- Inbound webhooks, events, the customer relay and outbound message ids
-- (SPEC §4, §6). Same conventions as 0001: TEXT ids, BIGINT unix-millisecond
-- timestamps, INTEGER 0/1 flags, JSON and ciphertext as TEXT.

-- Every Meta POST whose signature verified, byte for byte, so nothing Meta
-- told us is lost even when it matched no channel. `orphaned` = 1 when at
-- least one entry named an asset no active channel holds (visible to
-- operators with `switchboard admin orphans`).
CREATE TABLE inbound_payloads (
    id TEXT PRIMARY KEY,
    meta_app_id TEXT,
    object TEXT,
    body TEXT NOT NULL,
    orphaned INTEGER NOT NULL,
    orphan_assets TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX inbound_payloads_received ON inbound_payloads (received_at);
CREATE INDEX inbound_payloads_orphaned ON inbound_payloads (orphaned, received_at);

-- Normalised events, channel events (channel_id set) and account events
-- (channel_id NULL). `dedupe_key` is built from Meta's ids, so a payload Meta
-- sends twice cannot create a second event. `payload` is the customer JSON
-- as AES-GCM ciphertext, kept for replay until the retention purge.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT REFERENCES channels(id),
    event TEXT NOT NULL,
    dedupe_key TEXT,
    payload TEXT NOT NULL,
    inbound_payload_id TEXT,
    occurred_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_dedupe ON events (channel_id, dedupe_key);
CREATE UNIQUE INDEX events_account_dedupe ON events (account_id, dedupe_key) WHERE channel_id IS NULL;
CREATE INDEX events_channel ON events (channel_id, created_at);
CREATE INDEX events_account ON events (account_id, created_at);
CREATE INDEX events_created ON events (created_at);

-- Messages the business sent, keyed by Switchboard's UUID and by Meta's id,
-- so status webhooks map back to the id the customer got from /messages/send.
-- `status_rank` orders queued < sent < delivered < read; failed is terminal.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    meta_message_id TEXT,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    request TEXT,
    idempotency_key TEXT,
    request_hash TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_meta ON messages (channel_id, meta_message_id);
CREATE INDEX messages_recipient ON messages (channel_id, recipient, created_at);
CREATE UNIQUE INDEX messages_idempotency ON messages (account_id, idempotency_key);
CREATE INDEX messages_queue ON messages (next_attempt_at) WHERE status = 'queued';

-- The people who wrote to a channel: the last inbound time opens the 24-hour
-- window for free-form sends.
CREATE TABLE contacts (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    contact_id TEXT NOT NULL,
    name TEXT,
    last_inbound_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, contact_id)
);

-- Account-level webhook endpoints (SPEC §6); the secret is ciphertext.
CREATE TABLE event_endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    retry_policy TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX event_endpoints_account ON event_endpoints (account_id, created_at);

-- One delivery per (event, target). `lane` 0 = first attempt, 1 = retries,
-- claimed separately so a dead endpoint cannot starve healthy ones. Claims
-- are leases (`lease_until`), never in-memory ownership. `payload` is the
-- body as AES-GCM ciphertext, cleared once delivered or given up.
-- status: pending | delivered | failed (a retry is scheduled) | exhausted | held
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    event_id TEXT NOT NULL REFERENCES events(id),
    event TEXT NOT NULL,
    channel_id TEXT REFERENCES channels(id),
    endpoint_id TEXT REFERENCES event_endpoints(id),
    endpoint_url TEXT NOT NULL,
    retry_policy TEXT NOT NULL,
    status TEXT NOT NULL,
    lane INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    payload TEXT,
    next_attempt_at BIGINT,
    deadline_at BIGINT,
    lease_until BIGINT,
    lease_owner TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (lane, next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_held ON deliveries (account_id, id) WHERE status = 'held';
CREATE INDEX deliveries_account ON deliveries (account_id, id);
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- What each attempt saw; stays after the payload is cleared.
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- "At most one per channel per hour" marks for warning mails and the like.
CREATE TABLE alert_marks (
    key TEXT PRIMARY KEY,
    sent_at BIGINT NOT NULL
);

ALTER TABLE channels ADD COLUMN retry_policy TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE channels ADD COLUMN last_event_at BIGINT;
