-- Nova's objects the scheduler needs: host aggregates with their hosts
-- and metadata, server groups with their members and the host of each,
-- and services with their heartbeat. Times are Unix microseconds.
--
-- Integer ids (aggregates, services, as Nova shows them) come from
-- compute_sequences. The 'aggregate' row is also the lock every write
-- of aggregates takes first, so the availability zone rule (a host in
-- one zone only) and unique names hold under concurrent writers.
CREATE TABLE compute_sequences (
	name TEXT PRIMARY KEY,
	last BIGINT NOT NULL
);
INSERT INTO compute_sequences (name, last) VALUES ('aggregate', 0);
INSERT INTO compute_sequences (name, last) VALUES ('service', 0);
CREATE TABLE compute_aggregates (
	id BIGINT PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	-- NULL until the first update, as Nova shows it.
	updated_at BIGINT
);
CREATE TABLE compute_aggregate_hosts (
	aggregate_id BIGINT NOT NULL REFERENCES compute_aggregates (id) ON DELETE CASCADE,
	host TEXT NOT NULL,
	PRIMARY KEY (aggregate_id, host)
);
CREATE INDEX compute_aggregate_hosts_host ON compute_aggregate_hosts (host);
-- The availability zone is the key 'availability_zone', as in Nova.
CREATE TABLE compute_aggregate_metadata (
	aggregate_id BIGINT NOT NULL REFERENCES compute_aggregates (id) ON DELETE CASCADE,
	meta_key TEXT NOT NULL,
	meta_value TEXT NOT NULL,
	PRIMARY KEY (aggregate_id, meta_key)
);
CREATE INDEX compute_aggregate_metadata_key ON compute_aggregate_metadata (meta_key);
-- rules is a JSON object ({"max_server_per_host": 2}). revision is
-- bumped by every change of the group or of its members: the row lock
-- that makes member writes of one group take turns, so the policy check
-- and the write are one step.
CREATE TABLE compute_server_groups (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	policy TEXT NOT NULL,
	rules TEXT NOT NULL DEFAULT '{}',
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX compute_server_groups_project ON compute_server_groups (project_id);
-- An instance is in one group at most; host is '' until it is placed.
CREATE TABLE compute_server_group_members (
	instance_uuid TEXT PRIMARY KEY,
	group_id TEXT NOT NULL REFERENCES compute_server_groups (id) ON DELETE CASCADE,
	host TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
CREATE INDEX compute_server_group_members_group ON compute_server_group_members (group_id, host);
-- One row per (binary, host). last_seen_up is the last heartbeat.
CREATE TABLE compute_services (
	id BIGINT PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	binary_name TEXT NOT NULL,
	host TEXT NOT NULL,
	disabled BOOLEAN NOT NULL,
	disabled_reason TEXT NOT NULL DEFAULT '',
	forced_down BOOLEAN NOT NULL,
	version BIGINT NOT NULL,
	report_count BIGINT NOT NULL,
	last_seen_up BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (binary_name, host)
);
CREATE INDEX compute_services_host ON compute_services (host);
