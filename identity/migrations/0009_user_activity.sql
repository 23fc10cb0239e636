-- Keystone's [security_compliance] disable_user_account_days_inactive: when
-- a user was created (micros since the epoch; NULL for users stored before
-- this migration) and the UTC date of their last password authentication
-- or of an update that left them enabled (Keystone's last_active_at, a
-- DATE: micros since the epoch of that date's midnight). A user whose last
-- activity (else creation) is that many days back reads as disabled.
ALTER TABLE identity_users ADD COLUMN created_at BIGINT;
ALTER TABLE identity_users ADD COLUMN last_active_at BIGINT;
