-- A project's own block-storage quota limits (Cinder's quotas table); a
-- resource without a row has the default. Usage is never stored: it is
-- counted from the volumes at each check.
CREATE TABLE storage_quotas (
	project_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	hard_limit BIGINT NOT NULL,
	PRIMARY KEY (project_id, resource)
);
