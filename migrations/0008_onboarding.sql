-- Onboarding links (SPEC §6): hosted sign-up pages that let a customer's end
-- user connect a Meta asset into the customer's account with preset webhook
-- settings. Same conventions as 0001: TEXT ids, BIGINT unix-millisecond
-- timestamps, INTEGER 0/1 flags, JSON and ciphertext as TEXT.

-- status: `pending` → `completing` (one hosted flow holds the link while it
-- connects) → `completed`; back to `pending` when that connect fails.
-- `expired` is not stored: a pending link past expires_at reports it.
-- webhook_secret is AES-GCM ciphertext (the clear value is shown once, on
-- create). The asset fields are a snapshot taken at completion.
CREATE TABLE onboarding_links (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    external_id TEXT,
    channel_type TEXT NOT NULL,
    redirect_url TEXT,
    webhook_url TEXT,
    webhook_secret TEXT,
    webhook_events TEXT,
    status TEXT NOT NULL,
    channel_id TEXT REFERENCES channels(id),
    phone_number_id TEXT,
    phone_number TEXT,
    waba_id TEXT,
    is_phone_registered INTEGER,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX onboarding_links_account ON onboarding_links (account_id, created_at);

-- A hosted setup session started from an onboarding link finishes the link
-- instead of handing out a connect code.
ALTER TABLE setup_sessions ADD COLUMN onboarding_link_id TEXT;

-- The account's logo on hosted pages: a small image kept as base64 text so
-- the same column type works on SQLite and PostgreSQL.
CREATE TABLE account_logos (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    mime_type TEXT NOT NULL,
    data TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
