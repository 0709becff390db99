-- Raw passthrough (SPEC §13): a channel may ask for Meta's own item (the
-- `change.value` or `messaging[]` item) next to the normalised `data` of
-- every event it receives. Off by default: it doubles what is stored and sent.
ALTER TABLE channels ADD COLUMN include_raw BIGINT NOT NULL DEFAULT 0;

-- A WhatsApp status parked until its send records Meta's id keeps what else
-- Meta said with it: `{"pricing", "conversation", "raw"}` as JSON (`raw` is
-- ciphertext, present only for channels that want it). NULL for rows parked
-- before this migration.
ALTER TABLE early_statuses ADD COLUMN details TEXT;
