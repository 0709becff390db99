-- When a hosted flow took its hold on a link (status `completing`). A hold
-- left behind by a process that stopped mid-connect expires after a few
-- minutes (services::onboarding::HOLD_MS) instead of locking the link for good.
ALTER TABLE onboarding_links ADD COLUMN claimed_at BIGINT;
