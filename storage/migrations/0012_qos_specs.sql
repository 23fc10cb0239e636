-- Cinder's QoS specs: a name, a consumer (back-end, front-end or both)
-- and key/value specs (a value may be null, as Cinder's). A volume type
-- names its one QoS specs in storage_volume_types.qos_specs_id ('' for
-- none). A deleted QoS specs' rows go.
CREATE TABLE storage_qos_specs (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	consumer TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT
);
CREATE UNIQUE INDEX storage_qos_specs_name ON storage_qos_specs (name);
CREATE TABLE storage_qos_spec_items (
	specs_id TEXT NOT NULL REFERENCES storage_qos_specs (id) ON DELETE CASCADE,
	spec_key TEXT NOT NULL,
	spec_value TEXT,
	PRIMARY KEY (specs_id, spec_key)
);
CREATE INDEX storage_volume_types_qos ON storage_volume_types (qos_specs_id);
