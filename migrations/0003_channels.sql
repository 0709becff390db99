-- Channels and the ways to connect them (SPEC §3). Same conventions as 0001:
-- TEXT ids, BIGINT unix-millisecond timestamps, INTEGER 0/1 flags, JSON and
-- ciphertext as TEXT. Partial indexes (WHERE …) work on SQLite and PostgreSQL.

-- Where the hosted connect flow may send a browser back to (§3.2.1).
CREATE TABLE redirect_uris (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    uri_pattern TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX redirect_uris_account ON redirect_uris (account_id, created_at);

-- Own Meta apps of customers who connect by hand (§3.4). Secrets are AES-GCM
-- ciphertext; the verify token also as SHA-256 so the per-app webhook
-- handshake can find the app without decrypting every row.
CREATE TABLE meta_apps (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    meta_app_id TEXT NOT NULL,
    app_secret TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    verify_token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX meta_apps_account_app ON meta_apps (account_id, meta_app_id);
CREATE INDEX meta_apps_verify ON meta_apps (verify_token_hash);
CREATE INDEX meta_apps_app ON meta_apps (meta_app_id);

-- One Meta asset bound to one account. asset_id is the routing id of the type
-- (phone_number_id, Instagram account id, Page id). A soft-deleted channel
-- keeps its row (history, webhook settings) and is reactivated in place.
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_type TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    phone_number TEXT,
    waba_id TEXT,
    ig_username TEXT,
    page_id TEXT,
    access_token TEXT NOT NULL,
    token_expires_at BIGINT,
    meta_app_ref TEXT REFERENCES meta_apps(id),
    quality_rating TEXT,
    webhook_url TEXT,
    webhook_secret TEXT,
    webhook_events TEXT NOT NULL,
    health TEXT,
    health_checked_at BIGINT,
    connected_at BIGINT NOT NULL,
    deactivated_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX channels_account_asset ON channels (account_id, channel_type, asset_id);
-- At most one account holds an asset at a time.
CREATE UNIQUE INDEX channels_active_asset ON channels (channel_type, asset_id) WHERE is_active = 1;
CREATE INDEX channels_account ON channels (account_id, created_at);
CREATE INDEX channels_waba ON channels (waba_id);
CREATE INDEX channels_page ON channels (page_id);

-- One run of the hosted connect flow. The OAuth state is stored as a hash;
-- the discovered assets (with their tokens) are ciphertext.
CREATE TABLE setup_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_type TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    client_state TEXT,
    oauth_state_hash TEXT,
    status TEXT NOT NULL,
    candidates TEXT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX setup_sessions_state ON setup_sessions (oauth_state_hash);

-- Single-use codes handed to redirect_uri; only the hash is stored.
CREATE TABLE connect_codes (
    code_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
