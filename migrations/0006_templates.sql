-- WhatsApp message templates and token lifecycle (SPEC §5.3, §5.5). Same
-- conventions as 0001: TEXT ids, BIGINT unix-millisecond timestamps, JSON as TEXT.

-- The local copy of a WABA's templates, per account (templates belong to the
-- WABA, so every number of that WABA in the account shares them). Filled by
-- syncs from Meta, creates and edits through Switchboard, and Meta's
-- `message_template_status_update` webhooks. `status_at` is when the status
-- was last learned (second precision): a webhook older than a sync is ignored.
CREATE TABLE templates (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    waba_id TEXT NOT NULL,
    meta_template_id TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT,
    status TEXT NOT NULL,
    parameter_format TEXT NOT NULL,
    components TEXT NOT NULL,
    rejected_reason TEXT,
    quality_score TEXT,
    status_at BIGINT NOT NULL,
    synced_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, waba_id, meta_template_id)
);
CREATE INDEX templates_name ON templates (account_id, waba_id, name, language);
CREATE INDEX templates_meta_id ON templates (waba_id, meta_template_id);

-- Token refresh bookkeeping of the background job: when a process last looked
-- at the channel's token (a claim, so two processes do not refresh at once)
-- and why the last refresh failed (then it is retried a day later, not every run).
ALTER TABLE channels ADD COLUMN token_checked_at BIGINT;
ALTER TABLE channels ADD COLUMN token_refresh_failed_at BIGINT;
ALTER TABLE channels ADD COLUMN token_refresh_error TEXT;
