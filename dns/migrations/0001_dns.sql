-- Designate's model. IDs are UUIDs; times are Unix microseconds; serials
-- are unsigned 32-bit values kept in BIGINT; lists are JSON text.
CREATE TABLE dns_pools (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	ns_records TEXT NOT NULL DEFAULT '[]',
	also_notifies TEXT NOT NULL DEFAULT '[]',
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- Designate's default pool id; its nameservers come from EnsureDefaultPool.
INSERT INTO dns_pools (id, name, description, version, created_at, updated_at)
	VALUES ('794ccc2c-d751-44fe-b57f-8894c9f5c842', 'default', 'Default Pool', 1, 0, 0);
-- Zone creation, zone deletion and pool changes lock this row first, so
-- that name checks across projects and per-project quotas cannot race.
CREATE TABLE dns_locks (
	name TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO dns_locks (name, n) VALUES ('zones', 0);
CREATE TABLE dns_zones (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	pool_id TEXT NOT NULL REFERENCES dns_pools (id),
	name TEXT NOT NULL,
	email TEXT NOT NULL,
	ttl BIGINT NOT NULL,
	serial BIGINT NOT NULL,
	refresh BIGINT NOT NULL,
	retry BIGINT NOT NULL,
	expire BIGINT NOT NULL,
	minimum BIGINT NOT NULL,
	type TEXT NOT NULL,
	masters TEXT NOT NULL DEFAULT '[]',
	description TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	action TEXT NOT NULL,
	increment_serial BOOLEAN NOT NULL DEFAULT FALSE,
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE UNIQUE INDEX dns_zones_live_name ON dns_zones (name) WHERE status <> 'DELETED';
CREATE INDEX dns_zones_project ON dns_zones (project_id, created_at);
CREATE INDEX dns_zones_flagged ON dns_zones (updated_at) WHERE increment_serial;
-- serial is the zone serial that first carried the recordset's latest
-- change; 0 until BumpSerials assigns it.
CREATE TABLE dns_recordsets (
	id TEXT PRIMARY KEY,
	zone_id TEXT NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	ttl BIGINT,
	description TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	action TEXT NOT NULL,
	serial BIGINT NOT NULL DEFAULT 0,
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (zone_id, name, type)
);
CREATE INDEX dns_recordsets_project ON dns_recordsets (project_id, created_at);
CREATE TABLE dns_records (
	recordset_id TEXT NOT NULL REFERENCES dns_recordsets (id) ON DELETE CASCADE,
	zone_id TEXT NOT NULL,
	position BIGINT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (recordset_id, position)
);
CREATE INDEX dns_records_zone ON dns_records (zone_id);
CREATE TABLE dns_tsigkeys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	algorithm TEXT NOT NULL,
	secret TEXT NOT NULL,
	scope TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- Per-project overrides of the default quotas; -1 is unlimited.
CREATE TABLE dns_quotas (
	project_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	hard_limit BIGINT NOT NULL,
	PRIMARY KEY (project_id, resource)
);
