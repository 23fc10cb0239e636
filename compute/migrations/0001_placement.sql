-- Placement's model: resource providers in trees, their inventories
-- (with the capacity computed once, and the usage kept beside it so a
-- claim checks and writes one row per class), traits, aggregates,
-- consumers and their allocations. Times are Unix microseconds.
CREATE TABLE compute_providers (
	uuid TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	generation BIGINT NOT NULL,
	parent_uuid TEXT REFERENCES compute_providers (uuid),
	root_uuid TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX compute_providers_root ON compute_providers (root_uuid);
CREATE INDEX compute_providers_parent ON compute_providers (parent_uuid);
CREATE TABLE compute_inventories (
	provider_uuid TEXT NOT NULL REFERENCES compute_providers (uuid) ON DELETE CASCADE,
	resource_class TEXT NOT NULL,
	total BIGINT NOT NULL,
	reserved BIGINT NOT NULL,
	min_unit BIGINT NOT NULL,
	max_unit BIGINT NOT NULL,
	step_size BIGINT NOT NULL,
	allocation_ratio DOUBLE PRECISION NOT NULL,
	-- int((total - reserved) * allocation_ratio), Placement's rule.
	capacity BIGINT NOT NULL,
	-- The sum of the allocations of this class on this provider.
	used BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (provider_uuid, resource_class)
);
CREATE INDEX compute_inventories_class ON compute_inventories (resource_class);
-- Custom resource classes and traits; the standard ones are built in.
CREATE TABLE compute_resource_classes (
	name TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
CREATE TABLE compute_traits (
	name TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
CREATE TABLE compute_provider_traits (
	provider_uuid TEXT NOT NULL REFERENCES compute_providers (uuid) ON DELETE CASCADE,
	trait TEXT NOT NULL,
	PRIMARY KEY (provider_uuid, trait)
);
CREATE INDEX compute_provider_traits_trait ON compute_provider_traits (trait);
CREATE TABLE compute_provider_aggregates (
	provider_uuid TEXT NOT NULL REFERENCES compute_providers (uuid) ON DELETE CASCADE,
	aggregate_uuid TEXT NOT NULL,
	PRIMARY KEY (provider_uuid, aggregate_uuid)
);
CREATE INDEX compute_provider_aggregates_agg ON compute_provider_aggregates (aggregate_uuid);
CREATE TABLE compute_consumers (
	uuid TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	consumer_type TEXT NOT NULL DEFAULT '',
	generation BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX compute_consumers_project ON compute_consumers (project_id, user_id);
CREATE TABLE compute_allocations (
	consumer_uuid TEXT NOT NULL REFERENCES compute_consumers (uuid) ON DELETE CASCADE,
	provider_uuid TEXT NOT NULL REFERENCES compute_providers (uuid),
	resource_class TEXT NOT NULL,
	used BIGINT NOT NULL,
	PRIMARY KEY (consumer_uuid, provider_uuid, resource_class)
);
CREATE INDEX compute_allocations_provider ON compute_allocations (provider_uuid);
