-- A project's own compute quota limits (Nova's quotas table); a
-- resource without a row has the default.
CREATE TABLE compute_quotas (
	project_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	hard_limit BIGINT NOT NULL,
	PRIMARY KEY (project_id, resource)
);
