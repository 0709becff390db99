-- WhatsApp statuses that arrived before the send they belong to had recorded
-- Meta's message id (Meta can report `sent`/`delivered` within milliseconds
-- of answering the send). They wait here and are applied when the send
-- records its id (services::messages::sent, or the send queue loop when the
-- two transactions crossed), or after a few minutes as
-- statuses of an unknown message (services::inbound::release_early_statuses).
CREATE TABLE early_statuses (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id),
    meta_message_id TEXT NOT NULL,
    payload_id TEXT NOT NULL,
    status TEXT NOT NULL,
    recipient TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    errors TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX early_statuses_message ON early_statuses (channel_id, meta_message_id);
CREATE INDEX early_statuses_age ON early_statuses (received_at);
