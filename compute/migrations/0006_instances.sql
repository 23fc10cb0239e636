-- Nova's instances (servers). Lists and maps are JSON text; times are
-- Unix microseconds. A deleted instance keeps its row (vm_state
-- 'deleted', deleted_at set) as Nova's soft-deleted rows do, for admins
-- listing deleted servers; the row is what the compute agent of host
-- acts on: task_state says what is under way, revision what the agent
-- last saw.
CREATE TABLE compute_instances (
	uuid TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	hostname TEXT NOT NULL,
	description TEXT,
	flavor TEXT NOT NULL,
	image_ref TEXT NOT NULL,
	key_name TEXT NOT NULL DEFAULT '',
	key_data TEXT NOT NULL DEFAULT '',
	user_data TEXT NOT NULL DEFAULT '',
	config_drive BOOLEAN NOT NULL,
	availability_zone TEXT NOT NULL DEFAULT '',
	host TEXT NOT NULL DEFAULT '',
	node TEXT NOT NULL DEFAULT '',
	vm_state TEXT NOT NULL,
	task_state TEXT NOT NULL DEFAULT '',
	power_state INTEGER NOT NULL DEFAULT 0,
	metadata TEXT NOT NULL DEFAULT '{}',
	ports TEXT NOT NULL DEFAULT '[]',
	requested_networks TEXT NOT NULL DEFAULT '[]',
	fault TEXT NOT NULL DEFAULT '',
	server_group TEXT NOT NULL DEFAULT '',
	launch_index INTEGER NOT NULL DEFAULT 0,
	reservation_id TEXT NOT NULL DEFAULT '',
	locked BOOLEAN NOT NULL DEFAULT FALSE,
	revision BIGINT NOT NULL DEFAULT 1,
	launched_at BIGINT,
	terminated_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX compute_instances_project ON compute_instances (project_id, created_at);
CREATE INDEX compute_instances_host ON compute_instances (host);
-- Nova's instance actions (os-instance-actions) and their events.
CREATE TABLE compute_instance_actions (
	id BIGINT PRIMARY KEY,
	instance_uuid TEXT NOT NULL,
	action TEXT NOT NULL,
	request_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	project_id TEXT NOT NULL,
	message TEXT,
	start_time BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX compute_instance_actions_instance ON compute_instance_actions (instance_uuid, id);
CREATE TABLE compute_instance_action_events (
	action_id BIGINT NOT NULL REFERENCES compute_instance_actions (id) ON DELETE CASCADE,
	event TEXT NOT NULL,
	host TEXT NOT NULL,
	result TEXT,
	details TEXT,
	start_time BIGINT NOT NULL,
	finish_time BIGINT,
	PRIMARY KEY (action_id, event)
);
INSERT INTO compute_sequences (name, last) VALUES ('instance_action', 0);
-- The tail of each instance's console log, as its host's agent last
-- sent it (os-getConsoleOutput reads it). Not on the feed: a console
-- that prints changes nothing an agent acts on.
CREATE TABLE compute_instance_consoles (
	instance_uuid TEXT PRIMARY KEY,
	host TEXT NOT NULL,
	data BLOB NOT NULL,
	updated_at BIGINT NOT NULL
);
