-- Which host serves DHCP for a network: one row per network with a
-- DHCP-enabled subnet, made by the first agent sync that finds the
-- network unscheduled (the least loaded live agent that offers DHCP).
CREATE TABLE network_dhcp_bindings (
	network_id TEXT PRIMARY KEY,
	host TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX network_dhcp_bindings_host ON network_dhcp_bindings (host);
