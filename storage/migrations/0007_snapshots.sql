-- Cinder's volume snapshots. A snapshot lives on its volume's backend:
-- host is the volume's when the snapshot was made, the pool whose agent
-- makes and removes it. A deleted snapshot keeps its row (status
-- 'deleted', deleted_at set), as Cinder's soft-deleted rows do.
CREATE TABLE storage_snapshots (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	volume_id TEXT NOT NULL REFERENCES storage_volumes (id),
	name TEXT,
	description TEXT,
	volume_size BIGINT NOT NULL,
	status TEXT NOT NULL,
	progress TEXT NOT NULL DEFAULT '0%',
	volume_type_id TEXT NOT NULL DEFAULT '',
	host TEXT NOT NULL,
	message TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX storage_snapshots_project ON storage_snapshots (project_id, created_at);
CREATE INDEX storage_snapshots_volume ON storage_snapshots (volume_id, deleted_at);
CREATE INDEX storage_snapshots_host ON storage_snapshots (host);
-- A snapshot's user metadata, one row per key.
CREATE TABLE storage_snapshot_metadata (
	snapshot_id TEXT NOT NULL,
	meta_key TEXT NOT NULL,
	meta_value TEXT NOT NULL,
	PRIMARY KEY (snapshot_id, meta_key)
);
