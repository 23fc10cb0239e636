-- Cinder's volume attachments (its volume_attachment table): a volume
-- reserved for, connected to or attached to an instance. A deleted
-- attachment keeps its row (attach_status 'detached', deleted_at set),
-- as Cinder's soft-deleted rows do. The project is the volume's: an
-- attachment is seen through its volume. connector and connection_info
-- are JSON objects (NULL for none); attach_mode is Cinder's 'null',
-- 'rw' or 'ro' (NULL before an os-attach ends).
CREATE TABLE storage_attachments (
	id TEXT PRIMARY KEY,
	volume_id TEXT NOT NULL REFERENCES storage_volumes (id),
	instance_uuid TEXT,
	attached_host TEXT,
	mountpoint TEXT,
	attach_mode TEXT,
	attach_status TEXT NOT NULL,
	connector TEXT,
	connection_info TEXT,
	attach_time BIGINT,
	detach_time BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX storage_attachments_volume ON storage_attachments (volume_id, deleted_at);
CREATE INDEX storage_attachments_instance ON storage_attachments (instance_uuid);
-- Cinder's attached_mode admin metadata of a volume: the mode of its
-- last os-attach, until a detach ('' for none).
ALTER TABLE storage_volumes ADD COLUMN attached_mode TEXT NOT NULL DEFAULT '';
