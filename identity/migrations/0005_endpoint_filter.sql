-- Keystone's OS-EP-FILTER: endpoint groups (filters is a JSON object on
-- service_id, interface and region_id, description NULL when none was
-- given, as Keystone's endpoint_group table), the project-endpoint
-- associations (Keystone's project_endpoint) and the project-endpoint
-- group ones (project_endpoint_group). The keys cascade: deleting a
-- project, an endpoint (or its service) or a group removes its
-- associations, as Keystone's delete callbacks do.
CREATE TABLE identity_endpoint_groups (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT,
	filters TEXT NOT NULL
);
CREATE TABLE identity_project_endpoints (
	endpoint_id TEXT NOT NULL REFERENCES identity_endpoints (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL REFERENCES identity_projects (id) ON DELETE CASCADE,
	PRIMARY KEY (endpoint_id, project_id)
);
CREATE INDEX identity_project_endpoints_project ON identity_project_endpoints (project_id);
CREATE TABLE identity_project_endpoint_groups (
	endpoint_group_id TEXT NOT NULL REFERENCES identity_endpoint_groups (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL REFERENCES identity_projects (id) ON DELETE CASCADE,
	PRIMARY KEY (endpoint_group_id, project_id)
);
CREATE INDEX identity_project_endpoint_groups_project ON identity_project_endpoint_groups (project_id);
