-- Keystone's policy API (/v3/policies): stored policy blobs with a type,
-- which Keystone keeps for others to read and never enforces. extra is a
-- JSON object of the members beyond id, type and blob, as Keystone's
-- policy table keeps them.
CREATE TABLE identity_policies (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	blob TEXT NOT NULL,
	extra TEXT NOT NULL DEFAULT '{}'
);
