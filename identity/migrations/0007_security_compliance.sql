-- Keystone's [security_compliance] bookkeeping: when a user's password was
-- set and whether by the user themselves (minimum_password_age counts from
-- a self-service change), failed password authentications since the last
-- success (lockout_failure_attempts, lockout_duration), whether the user is
-- one gostack manages itself (the bootstrap admin and the service users,
-- exempt as a deployer exempts them with Keystone's ignore_* user options),
-- and the previous password hashes (unique_last_password_count).
ALTER TABLE identity_users ADD COLUMN password_created_at BIGINT;
ALTER TABLE identity_users ADD COLUMN password_self_service BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE identity_users ADD COLUMN failed_auth_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE identity_users ADD COLUMN failed_auth_at BIGINT;
ALTER TABLE identity_users ADD COLUMN compliance_exempt BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE identity_password_history (
	user_id TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
	seq BIGINT NOT NULL, -- the user's passwords in the order they were set
	password_hash TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, seq)
);
