-- Glance's metadata definitions catalog. Times are Unix microseconds.
CREATE TABLE image_md_namespaces (
	id TEXT PRIMARY KEY,
	namespace TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	visibility TEXT NOT NULL DEFAULT '',
	protected BOOLEAN NOT NULL DEFAULT FALSE,
	owner TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- Objects, properties and tags of a namespace: body is the object's
-- description, required and properties, or the property's JSON schema.
CREATE TABLE image_md_items (
	namespace_id TEXT NOT NULL REFERENCES image_md_namespaces (id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	body TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (namespace_id, kind, name)
);
-- Tag names are unique whatever their case, as on Glance's MySQL.
CREATE UNIQUE INDEX image_md_items_tag ON image_md_items (namespace_id, lower(name)) WHERE kind = 'tag';
CREATE TABLE image_md_resource_types (
	name TEXT PRIMARY KEY,
	protected BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE image_md_associations (
	namespace_id TEXT NOT NULL REFERENCES image_md_namespaces (id) ON DELETE CASCADE,
	resource_type TEXT NOT NULL REFERENCES image_md_resource_types (name),
	prefix TEXT NOT NULL DEFAULT '',
	properties_target TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (namespace_id, resource_type)
);
-- The default catalog is loaded once: a row here says it was.
CREATE TABLE image_md_loaded (
	source TEXT PRIMARY KEY,
	loaded_at BIGINT NOT NULL
);
