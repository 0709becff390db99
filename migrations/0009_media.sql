-- Media (SPEC §4.4, §5.1): inbound files fetched from Meta and files
-- customers upload for sending, kept in an object store (a local directory or
-- an S3-compatible bucket) under `object_key`. Same conventions as 0001: TEXT
-- ids, BIGINT unix-millisecond timestamps, INTEGER 0/1 flags.

-- One file. `direction` is `in` (from Meta) or `out` (uploaded through
-- POST /api/v1/media). `status`: `pending` (inbound, not fetched yet),
-- `stored`, `failed` (inbound, every download attempt failed). `sha256` is
-- lowercase hex of the stored bytes. Rows and objects are purged together
-- with the events (SWITCHBOARD_EVENT_RETENTION_DAYS).
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    object_key TEXT NOT NULL,
    mime_type TEXT,
    size BIGINT,
    sha256 TEXT,
    filename TEXT,
    created_at BIGINT NOT NULL,
    stored_at BIGINT
);
CREATE INDEX media_account ON media (account_id, status);
CREATE INDEX media_created ON media (created_at);

-- The download of one inbound media file, claimed by lease like deliveries.
-- While `state` is `waiting` the event's deliveries have no next_attempt_at
-- (the relay does not see them); the worker stores the file, rewrites the
-- event and delivery payloads and makes the deliveries due. After the quick
-- retries the event goes out with `media.error` and the job turns `retrying`
-- (background attempts); it ends `done` or `failed`.
-- `source_kind`: `meta_media` (WhatsApp media id, `GET /{id}` then download
-- with the token) or `url` (Messenger/Instagram attachment URL).
-- `expected_sha256`: what the webhook said (base64 of the digest on WhatsApp).
CREATE TABLE media_jobs (
    media_id TEXT PRIMARY KEY REFERENCES media(id),
    event_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source TEXT NOT NULL,
    expected_sha256 TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    lease_owner TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX media_jobs_due ON media_jobs (state, next_attempt_at);
CREATE INDEX media_jobs_event ON media_jobs (event_id);

-- Uploaded media handed to Meta once per channel: WhatsApp media ids stay
-- usable for 30 days, so a file sent many times is uploaded once.
CREATE TABLE media_uploads (
    media_id TEXT NOT NULL REFERENCES media(id),
    channel_id TEXT NOT NULL,
    meta_media_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (media_id, channel_id)
);

-- How a channel's message.received events carry media: `link` (a signed
-- URL, the default), `base64` (the bytes inline up to 5 MB, a link above),
-- `both`.
ALTER TABLE channels ADD COLUMN media_mode TEXT NOT NULL DEFAULT 'link';
