-- Billing and licenses (SPEC §7). Same conventions as before: TEXT ids, BIGINT
-- unix-millisecond timestamps, INTEGER 0/1 flags, no database-specific types.

-- One row = a block of `quantity` identical licenses from one source: the
-- trial (id `trial-<account>`, quantity 1, tier pro), one paid subscription
-- (source `stripe`; `provider` says whether the sandbox or Stripe bills it),
-- or one operator grant (source `enterprise`). Channels are matched to single
-- licenses in code: rows in creation order, each expanded to `quantity` units.
-- `status` is `active` or `canceled`; an active row whose `expires_at` has
-- passed reads as `expired`.
CREATE TABLE licenses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    tier TEXT NOT NULL,
    source TEXT NOT NULL,
    provider TEXT,
    status TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    starts_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    auto_renew INTEGER NOT NULL,
    subscription_ref TEXT,
    subscription_item_ref TEXT,
    note TEXT,
    canceled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX licenses_account ON licenses (account_id, created_at);
CREATE UNIQUE INDEX licenses_subscription ON licenses (subscription_ref);

-- The account's customer record at the billing provider (Stripe's cus_…).
CREATE TABLE billing_customers (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    provider TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider)
);
CREATE UNIQUE INDEX billing_customers_ref ON billing_customers (provider, customer_ref);

-- Invoices as the provider reports them (sandbox: written by the sandbox).
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    license_id TEXT,
    provider TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    number TEXT,
    status TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    period_start BIGINT,
    period_end BIGINT,
    hosted_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX invoices_external ON invoices (provider, external_ref);
CREATE INDEX invoices_account ON invoices (account_id, created_at);

-- Stripe webhook events already handled: a replayed event id is acknowledged
-- and ignored.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The built-in sandbox provider's checkout and customer-portal sessions.
CREATE TABLE billing_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    tier TEXT,
    quantity INTEGER,
    status TEXT NOT NULL,
    license_id TEXT,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX billing_sessions_account ON billing_sessions (account_id, created_at);
