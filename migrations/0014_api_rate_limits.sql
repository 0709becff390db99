-- The per-API-key rate limit (SPEC §10, §14) where several processes share one
-- PostgreSQL database: one row per key, moved by one atomic upsert per
-- request, so every process spends from the same bucket. The bucket is kept
-- as its "theoretical arrival time" (GCRA): `tat_us` is when the bucket would
-- be full again, in microseconds; `last_allowed` is 1 when the request that
-- last wrote the row was let through. SQLite installations run one process
-- and keep the same arithmetic in memory, so the table stays empty there.
CREATE TABLE api_rate_limits (
    key_id TEXT PRIMARY KEY,
    tat_us BIGINT NOT NULL,
    last_allowed BIGINT NOT NULL
);
