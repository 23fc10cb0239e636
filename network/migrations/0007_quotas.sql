-- Neutron's quotas: per-project overrides of the default limits (the
-- Store's Quotas, from network.quotas.*); -1 is unlimited. A project
-- without a row for a resource has the default.
CREATE TABLE network_quotas (
	project_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	hard_limit BIGINT NOT NULL,
	PRIMARY KEY (project_id, resource)
);
-- One row per project that has created something a quota counts, or had
-- its quota changed: every quota-checked create locks its project's row
-- first (an upsert that bumps n), then counts and inserts, so parallel
-- creates of one project take turns and stop exactly at the limit on
-- both engines. A quota change locks it too.
CREATE TABLE network_project_locks (
	project_id TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);
