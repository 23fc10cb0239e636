-- Neutron's security groups, their rules, the groups of each port, port
-- security and allowed address pairs.
CREATE TABLE network_security_groups (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	stateful BOOLEAN NOT NULL,
	-- Bumped by every change of the group or of its rules: the row lock
	-- that makes rule writes on one group take turns (no duplicate rule
	-- from two parallel creates).
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX network_security_groups_project ON network_security_groups (project_id);
-- A project's "default" group: the primary key is what makes it exist
-- once, however many requests create it at the same time.
CREATE TABLE network_default_security_groups (
	project_id TEXT PRIMARY KEY,
	security_group_id TEXT NOT NULL
);
-- NULL protocol, ports, prefix and remote group mean any. The protocol is
-- kept as Neutron keeps it (a name, or a number as text).
CREATE TABLE network_security_group_rules (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	security_group_id TEXT NOT NULL REFERENCES network_security_groups (id),
	direction TEXT NOT NULL,
	ethertype TEXT NOT NULL,
	protocol TEXT,
	port_range_min BIGINT,
	port_range_max BIGINT,
	-- remote_ip_prefix as given (with its mask), normalized_cidr its
	-- network, as Neutron shows both.
	remote_ip_prefix TEXT,
	normalized_cidr TEXT,
	remote_group_id TEXT REFERENCES network_security_groups (id),
	description TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX network_security_group_rules_group ON network_security_group_rules (security_group_id);
CREATE INDEX network_security_group_rules_remote ON network_security_group_rules (remote_group_id);
CREATE INDEX network_security_group_rules_project ON network_security_group_rules (project_id);
CREATE TABLE network_port_security_groups (
	port_id TEXT NOT NULL REFERENCES network_ports (id),
	security_group_id TEXT NOT NULL REFERENCES network_security_groups (id),
	PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX network_port_security_groups_group ON network_port_security_groups (security_group_id);
-- Port security (ports inherit their network's), the port's groups again
-- (a JSON list of ids in the order given, so that every read of a port
-- has them without a join; network_port_security_groups is what in-use
-- checks and filters read) and allowed address pairs (a JSON list of
-- {ip_address, mac_address}).
ALTER TABLE network_networks ADD COLUMN port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE network_ports ADD COLUMN port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE network_ports ADD COLUMN security_groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE network_ports ADD COLUMN allowed_address_pairs TEXT NOT NULL DEFAULT '[]';
