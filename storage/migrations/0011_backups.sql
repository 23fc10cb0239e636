-- Cinder's volume backups. host is the volume agent that does the
-- backup's current work: the volume's pool while it is made, the pool of
-- the volume it is restored to while it is restored. previous_status is
-- the status the volume (or snapshot) returns to when the backup is
-- made (Cinder keeps it on the volume). A deleted backup keeps its row
-- (status 'deleted', deleted_at set).
CREATE TABLE storage_backups (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	volume_id TEXT NOT NULL,
	snapshot_id TEXT NOT NULL DEFAULT '',
	name TEXT,
	description TEXT,
	container TEXT,
	size BIGINT NOT NULL,
	object_count BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	fail_reason TEXT,
	parent_id TEXT NOT NULL DEFAULT '',
	host TEXT NOT NULL,
	availability_zone TEXT NOT NULL DEFAULT '',
	restore_volume_id TEXT NOT NULL DEFAULT '',
	previous_status TEXT NOT NULL DEFAULT '',
	metadata TEXT NOT NULL DEFAULT '{}',
	revision BIGINT NOT NULL DEFAULT 1,
	data_timestamp BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX storage_backups_project ON storage_backups (project_id, created_at);
CREATE INDEX storage_backups_volume ON storage_backups (volume_id, deleted_at);
CREATE INDEX storage_backups_parent ON storage_backups (parent_id, deleted_at);
CREATE INDEX storage_backups_host ON storage_backups (host, status);
