-- Account signals (SPEC §13): Meta's `account_update` and
-- `phone_number_quality_update` webhooks say whether the WhatsApp account
-- stands (`ok`), is restricted, disabled or flagged. Kept on the channel next
-- to `quality_rating` so the API and the Portal show it without a Graph call.
ALTER TABLE channels ADD COLUMN account_status TEXT NOT NULL DEFAULT 'ok';
