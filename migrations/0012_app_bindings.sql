-- Customers' own Meta apps in the sandbox: Meta knows many apps, each with its
-- own secret and callback URL; tokens and webhooks name the app they belong to
-- (NULL: the installation's own app).
CREATE TABLE sandbox_apps (
    app_id TEXT PRIMARY KEY,
    app_secret TEXT NOT NULL,
    name TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE sandbox_tokens ADD COLUMN app_id TEXT;
ALTER TABLE sandbox_webhooks ADD COLUMN app_id TEXT;
