-- Zone imports and exports (Designate's zone_tasks): an IMPORT made a zone
-- of a zone file (zone_id once COMPLETE), an EXPORT offers a zone's file
-- at location. message says why a task is in ERROR.
CREATE TABLE dns_zone_tasks (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	task_type TEXT NOT NULL,
	status TEXT NOT NULL,
	message TEXT NOT NULL DEFAULT '',
	zone_id TEXT NOT NULL DEFAULT '',
	location TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX dns_zone_tasks_project ON dns_zone_tasks (project_id, task_type, created_at);
