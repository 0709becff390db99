-- Links that grant access (password reset, email confirmation, invitations)
-- are no longer stored readable in the mail outbox: `body_text` keeps a
-- placeholder and `link_sealed` the link encrypted with the installation's
-- secret key. The link is rendered only when the mail is handed to SMTP or
-- shown to its addressee in the sandbox Mailbox.
ALTER TABLE mails ADD COLUMN link_sealed TEXT;

-- Mail written before this migration carried its link in clear. The tokens
-- behind those links may still be open, so the readable copies go; whoever
-- still needs one asks for a new link.
UPDATE mails
SET body_text = 'This mail contained a single-use link. It is no longer kept readable; request a new link if you still need one.'
WHERE body_text LIKE '%token=%';

-- Every throttle (failed log-ins per email+IP, per IP and installation-wide;
-- reset and confirmation mails per address and per IP; invitations per
-- account and per address) counts its hits here, in the database, so that
-- the limits hold across processes. A hit is forgotten after `expires_at`.
CREATE TABLE throttle_hits (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttle_hits_bucket ON throttle_hits (bucket, at);
CREATE INDEX throttle_hits_expiry ON throttle_hits (expires_at);

-- Failed log-ins are throttle hits now.
DROP TABLE login_failures;
