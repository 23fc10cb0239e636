-- The host agents: one row per (agent type, host), written by the agents'
-- reports over the internal API. tunnel_ip is the host's VTEP address,
-- which every other host needs for its tunnels and forwarding entries.
CREATE TABLE network_agents (
	id TEXT PRIMARY KEY,
	agent_type TEXT NOT NULL,
	binary_name TEXT NOT NULL,
	host TEXT NOT NULL,
	topic TEXT NOT NULL DEFAULT '',
	availability_zone TEXT NOT NULL DEFAULT '',
	admin_state_up BOOLEAN NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	tunnel_ip TEXT NOT NULL DEFAULT '',
	configurations TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	started_at BIGINT NOT NULL,
	heartbeat_at BIGINT NOT NULL,
	UNIQUE (agent_type, host)
);
