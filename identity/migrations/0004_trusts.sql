-- Keystone's trusts (OS-TRUST): a trustor delegates roles on a project
-- to a trustee. roles is a JSON array of role ids; remaining_uses NULL is
-- unlimited, and each trust-scoped token issued takes one use in the
-- same UPDATE that checks one is left, so parallel requests never
-- overspend. The unique key is Keystone's duplicate_trust_constraint. A
-- delete removes the row (Keystone marks it deleted); the user's and the
-- project's deletes remove their trusts, as Keystone's callbacks do.
CREATE TABLE identity_trusts (
	id TEXT PRIMARY KEY,
	trustor_user_id TEXT NOT NULL,
	trustee_user_id TEXT NOT NULL,
	project_id TEXT,
	impersonation BOOLEAN NOT NULL,
	expires_at BIGINT,
	remaining_uses INTEGER,
	redelegation_count INTEGER NOT NULL DEFAULT 0,
	roles TEXT NOT NULL DEFAULT '[]',
	UNIQUE (trustor_user_id, trustee_user_id, project_id, impersonation, expires_at)
);
CREATE INDEX identity_trusts_trustee ON identity_trusts (trustee_user_id);
CREATE INDEX identity_trusts_project ON identity_trusts (project_id);
