-- Designate's service_statuses: one row per running service and host,
-- rewritten by the service's heartbeat (never in the watch feed: a
-- heartbeat is not a change of state anyone follows). interval_us is the
-- service's heartbeat interval, by which a silent row reads DOWN.
CREATE TABLE dns_service_statuses (
	id TEXT PRIMARY KEY,
	service_name TEXT NOT NULL,
	hostname TEXT NOT NULL,
	status TEXT NOT NULL,
	stats TEXT NOT NULL DEFAULT '{}',
	capabilities TEXT NOT NULL DEFAULT '{}',
	interval_us BIGINT NOT NULL,
	heartbeated_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (service_name, hostname)
);
