-- Registration at connect (SPEC §13): the 6-digit two-step verification PIN
-- Switchboard chose when it registered a WhatsApp number on Cloud API, sealed
-- like the channel's token. `two_step_pin_shown_at` is set by the one
-- conditional UPDATE that hands the PIN out (API answer or Portal page), so it
-- is shown exactly once; the sealed PIN stays for re-registering later.
ALTER TABLE channels ADD COLUMN two_step_pin TEXT;
ALTER TABLE channels ADD COLUMN two_step_pin_shown_at BIGINT;
