-- Cinder's default type overrides (3.62): the volume type a project's
-- volumes get when created without one, instead of the configured
-- default. An unset override's row goes.
CREATE TABLE storage_default_types (
	project_id TEXT PRIMARY KEY,
	volume_type_id TEXT NOT NULL REFERENCES storage_volume_types (id)
);
CREATE INDEX storage_default_types_type ON storage_default_types (volume_type_id);
