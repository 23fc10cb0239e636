-- Nova's flavors, as its API database keeps them (flavors,
-- flavor_extra_specs, flavor_projects): deleting a flavor deletes its
-- rows, as Nova does (an instance keeps a copy of its flavor). Times are
-- Unix microseconds.
--
-- The integer id comes from compute_sequences; the 'flavor' row is also
-- the lock every flavor write takes first, so the unique flavorid and
-- name are checked and written in one step.
INSERT INTO compute_sequences (name, last) VALUES ('flavor', 0);
CREATE TABLE compute_flavors (
	id BIGINT PRIMARY KEY,
	flavorid TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL UNIQUE,
	memory_mb BIGINT NOT NULL,
	vcpus BIGINT NOT NULL,
	root_gb BIGINT NOT NULL,
	ephemeral_gb BIGINT NOT NULL,
	-- MiB, 0 for none.
	swap BIGINT NOT NULL,
	rxtx_factor DOUBLE PRECISION NOT NULL,
	is_public BOOLEAN NOT NULL,
	disabled BOOLEAN NOT NULL,
	-- NULL for none, as Nova shows it.
	description TEXT,
	created_at BIGINT NOT NULL,
	-- NULL until the first update.
	updated_at BIGINT
);
CREATE TABLE compute_flavor_extra_specs (
	flavor_id BIGINT NOT NULL REFERENCES compute_flavors (id) ON DELETE CASCADE,
	spec_key TEXT NOT NULL,
	spec_value TEXT NOT NULL,
	PRIMARY KEY (flavor_id, spec_key)
);
-- The projects that may use a private flavor.
CREATE TABLE compute_flavor_projects (
	flavor_id BIGINT NOT NULL REFERENCES compute_flavors (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL,
	PRIMARY KEY (flavor_id, project_id)
);
CREATE INDEX compute_flavor_projects_project ON compute_flavor_projects (project_id);
