-- Cinder's volume transfers: a volume offered by its project to any
-- project that shows the transfer's id and key. The key is never kept:
-- salt and crypt_hash are Cinder's (hmac-sha1 of the key under the
-- salt, hex). A deleted or accepted transfer keeps its row (deleted_at
-- set), as Cinder's soft-deleted rows do.
CREATE TABLE storage_transfers (
	id TEXT PRIMARY KEY,
	volume_id TEXT NOT NULL REFERENCES storage_volumes (id),
	display_name TEXT,
	salt TEXT NOT NULL,
	crypt_hash TEXT NOT NULL,
	no_snapshots BOOLEAN NOT NULL DEFAULT FALSE,
	source_project_id TEXT NOT NULL,
	destination_project_id TEXT,
	accepted BOOLEAN NOT NULL DEFAULT FALSE,
	revision BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX storage_transfers_project ON storage_transfers (source_project_id, deleted_at);
CREATE INDEX storage_transfers_volume ON storage_transfers (volume_id, deleted_at);
