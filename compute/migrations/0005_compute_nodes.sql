-- Nova's compute nodes (the API's hypervisors): what a compute host's
-- driver reports about its machine. One node per host (the libvirt and
-- QEMU drivers' rule); uuid is also the uuid of the host's resource
-- provider, whose inventories and usages hold the node's resources.
-- Integer ids (shown before microversion 2.53) come from
-- compute_sequences. cpu_info is the driver's JSON text ('' for none);
-- host_ip is '' when unknown; disk_available_least is NULL when the
-- driver does not say.
INSERT INTO compute_sequences (name, last) VALUES ('compute_node', 0);
CREATE TABLE compute_nodes (
	id BIGINT PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE,
	host TEXT NOT NULL UNIQUE,
	hypervisor_hostname TEXT NOT NULL,
	hypervisor_type TEXT NOT NULL,
	hypervisor_version BIGINT NOT NULL,
	host_ip TEXT NOT NULL DEFAULT '',
	cpu_info TEXT NOT NULL DEFAULT '',
	vcpus BIGINT NOT NULL,
	memory_mb BIGINT NOT NULL,
	local_gb BIGINT NOT NULL,
	disk_available_least BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
