-- Neutron's core model: networks, subnets, ports and their addresses.
-- IDs are UUIDs; times are Unix microseconds; lists are JSON text.
CREATE TABLE network_networks (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	admin_state_up BOOLEAN NOT NULL,
	shared BOOLEAN NOT NULL,
	external BOOLEAN NOT NULL,
	mtu BIGINT NOT NULL,
	network_type TEXT NOT NULL,
	physical_network TEXT NOT NULL DEFAULT '',
	-- NULL for types without a segment (local, flat); unique per type.
	segmentation_id BIGINT,
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (network_type, physical_network, segmentation_id)
);
CREATE INDEX network_networks_project ON network_networks (project_id);
CREATE TABLE network_subnets (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	network_id TEXT NOT NULL REFERENCES network_networks (id),
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	ip_version BIGINT NOT NULL,
	cidr TEXT NOT NULL,
	gateway_ip TEXT NOT NULL DEFAULT '',
	allocation_pools TEXT NOT NULL DEFAULT '[]',
	dns_nameservers TEXT NOT NULL DEFAULT '[]',
	host_routes TEXT NOT NULL DEFAULT '[]',
	enable_dhcp BOOLEAN NOT NULL,
	-- Bumped by every address allocation: the row lock that makes
	-- allocations on one subnet take turns on both engines.
	allocations BIGINT NOT NULL DEFAULT 0,
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX network_subnets_network ON network_subnets (network_id);
CREATE TABLE network_ports (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	network_id TEXT NOT NULL REFERENCES network_networks (id),
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	admin_state_up BOOLEAN NOT NULL,
	mac_address TEXT NOT NULL,
	device_owner TEXT NOT NULL DEFAULT '',
	device_id TEXT NOT NULL DEFAULT '',
	host_id TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (network_id, mac_address)
);
CREATE INDEX network_ports_project ON network_ports (project_id);
CREATE INDEX network_ports_host ON network_ports (host_id);
-- One row per address held by a port: the primary key is what makes an
-- address impossible to hand out twice.
CREATE TABLE network_ip_allocations (
	subnet_id TEXT NOT NULL REFERENCES network_subnets (id),
	ip_address TEXT NOT NULL,
	port_id TEXT NOT NULL REFERENCES network_ports (id),
	network_id TEXT NOT NULL,
	PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX network_ip_allocations_port ON network_ip_allocations (port_id);
