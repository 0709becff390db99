-- The built-in Meta sandbox (SPEC §9). Its own tables, never read by the
-- product, which reaches the sandbox only over HTTP like the real Meta.
-- Same conventions as 0001: TEXT ids, BIGINT ms timestamps, INTEGER flags, JSON as TEXT.

-- Businesses, WABAs, phone numbers, Pages and Instagram accounts in one table:
-- kind tells them apart, parent_id links number→WABA, WABA→business, IG→Page.
CREATE TABLE sandbox_assets (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_assets_kind ON sandbox_assets (kind, parent_id);

-- Bearer tokens the sandbox issued. asset_ids/scopes are JSON arrays.
CREATE TABLE sandbox_tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject_id TEXT,
    asset_ids TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at BIGINT,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Dialog codes: single use, short-lived, bound to the redirect_uri.
CREATE TABLE sandbox_codes (
    code TEXT PRIMARY KEY,
    redirect_uri TEXT NOT NULL,
    login_kind TEXT NOT NULL,
    asset_ids TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

-- App installations on WABAs, Pages and Instagram accounts (subscribed_apps).
CREATE TABLE sandbox_subscriptions (
    asset_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    override_callback_uri TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (asset_id, app_id)
);

-- End users who wrote to an asset: names for profiles, last inbound for the 24 h window.
CREATE TABLE sandbox_users (
    asset_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT,
    last_inbound_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (asset_id, user_id)
);

-- Every message in both directions; direction is 'in' (user → business) or 'out'.
CREATE TABLE sandbox_messages (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sandbox_messages_asset ON sandbox_messages (asset_id, peer, created_at);

CREATE TABLE sandbox_templates (
    id TEXT PRIMARY KEY,
    waba_id TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    parameter_format TEXT NOT NULL,
    components TEXT NOT NULL,
    rejected_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_templates_waba ON sandbox_templates (waba_id, name);

-- Media bytes (base64) behind GET /{media-id} and its download URL.
CREATE TABLE sandbox_media (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Injected failures: graph_error / latency on a path substring, webhook switches.
CREATE TABLE sandbox_faults (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    path TEXT,
    remaining BIGINT NOT NULL,
    spec TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Webhooks sent (or to be retried) to the product, with Meta's signature.
CREATE TABLE sandbox_webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_status_code BIGINT,
    last_error TEXT,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_webhooks_due ON sandbox_webhooks (status, next_attempt_at);
