-- Cinder's volumes. Times are Unix microseconds. A deleted volume keeps
-- its row (status 'deleted', deleted_at set), as Cinder's soft-deleted
-- rows do; the row is what the volume agent of host acts on: status
-- says what is under way, new_size the size an extend goes to, revision
-- what the agent last saw.
CREATE TABLE storage_volumes (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	name TEXT,
	description TEXT,
	size BIGINT NOT NULL,
	new_size BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	attach_status TEXT NOT NULL,
	volume_type_id TEXT NOT NULL DEFAULT '',
	availability_zone TEXT NOT NULL,
	host TEXT NOT NULL DEFAULT '',
	bootable BOOLEAN NOT NULL DEFAULT FALSE,
	multiattach BOOLEAN NOT NULL DEFAULT FALSE,
	encrypted BOOLEAN NOT NULL DEFAULT FALSE,
	snapshot_id TEXT NOT NULL DEFAULT '',
	source_volid TEXT NOT NULL DEFAULT '',
	image_id TEXT NOT NULL DEFAULT '',
	provider_location TEXT NOT NULL DEFAULT '',
	provider_auth TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	launched_at BIGINT,
	terminated_at BIGINT,
	deleted_at BIGINT
);
CREATE INDEX storage_volumes_project ON storage_volumes (project_id, created_at);
CREATE INDEX storage_volumes_host ON storage_volumes (host);
-- A volume's user metadata, one row per key (the list filter 'metadata'
-- matches them in SQL).
CREATE TABLE storage_volume_metadata (
	volume_id TEXT NOT NULL,
	meta_key TEXT NOT NULL,
	meta_value TEXT NOT NULL,
	PRIMARY KEY (volume_id, meta_key)
);
-- A project's lock, taken first by every write that counts the
-- project's use against its quotas (an upsert of its row), so two
-- creates of one project never both pass the same count.
CREATE TABLE storage_project_locks (
	project_id TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);
