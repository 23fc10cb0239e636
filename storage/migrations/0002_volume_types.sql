-- Cinder's volume types, their extra specs and the projects a private
-- type is shared with. A deleted type's row goes (a type in use by a
-- volume cannot be deleted; deleted volumes keep the id).
CREATE TABLE storage_volume_types (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT,
	is_public BOOLEAN NOT NULL,
	qos_specs_id TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT
);
CREATE UNIQUE INDEX storage_volume_types_name ON storage_volume_types (name);
CREATE TABLE storage_volume_type_extra_specs (
	type_id TEXT NOT NULL REFERENCES storage_volume_types (id) ON DELETE CASCADE,
	spec_key TEXT NOT NULL,
	spec_value TEXT NOT NULL,
	PRIMARY KEY (type_id, spec_key)
);
CREATE TABLE storage_volume_type_projects (
	type_id TEXT NOT NULL REFERENCES storage_volume_types (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL,
	PRIMARY KEY (type_id, project_id)
);
CREATE INDEX storage_volumes_type ON storage_volumes (volume_type_id);
-- Cinder's default type, as its migration makes it.
INSERT INTO storage_volume_types (id, name, description, is_public, qos_specs_id, created_at)
	VALUES ('e0ae3ce5-8e5f-4c59-9a24-2e4b6bf7a6d1', '__DEFAULT__', 'Default Volume Type', TRUE, '', 0);
-- Every type change takes this row's lock first, so the rules that look
-- at every type (a name once, the last type stays) hold under
-- concurrent writers.
CREATE TABLE storage_type_lock (
	id INTEGER PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO storage_type_lock (id, n) VALUES (1, 0);
