-- The operator's top-level domains and zone-name blacklist (Designate's
-- tlds and blacklists tables). Once a TLD exists, new zones must lie below
-- one; a blacklist pattern is a regular expression new zone names must not
-- match (unless the caller may use blacklisted zones).
CREATE TABLE dns_tlds (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE dns_blacklists (
	id TEXT PRIMARY KEY,
	pattern TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
