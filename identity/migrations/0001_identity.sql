-- Keystone's model. IDs are 32-hex UUIDs unless noted; times are Unix
-- microseconds; "extra" holds a JSON object of properties Keystone keeps
-- beyond its columns.
CREATE TABLE identity_domains (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE identity_projects (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domain_id TEXT NOT NULL REFERENCES identity_domains (id),
	parent_id TEXT REFERENCES identity_projects (id),
	description TEXT NOT NULL DEFAULT '',
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	tags TEXT NOT NULL DEFAULT '[]',
	extra TEXT NOT NULL DEFAULT '{}',
	UNIQUE (domain_id, name)
);
CREATE INDEX identity_projects_parent ON identity_projects (parent_id);
CREATE TABLE identity_users (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domain_id TEXT NOT NULL REFERENCES identity_domains (id),
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	password_hash TEXT,
	password_expires_at BIGINT,
	default_project_id TEXT,
	description TEXT NOT NULL DEFAULT '',
	extra TEXT NOT NULL DEFAULT '{}',
	UNIQUE (domain_id, name)
);
CREATE TABLE identity_groups (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domain_id TEXT NOT NULL REFERENCES identity_domains (id),
	description TEXT NOT NULL DEFAULT '',
	UNIQUE (domain_id, name)
);
CREATE TABLE identity_group_members (
	group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX identity_group_members_user ON identity_group_members (user_id);
-- Global roles have domain_id ''.
CREATE TABLE identity_roles (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domain_id TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	UNIQUE (domain_id, name)
);
CREATE TABLE identity_implied_roles (
	prior_role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
	implied_role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
	PRIMARY KEY (prior_role_id, implied_role_id)
);
-- actor_type: user or group; target_type: project, domain or system
-- (target_id 'all').
CREATE TABLE identity_assignments (
	actor_type TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id TEXT NOT NULL,
	role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
	inherited BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id, inherited)
);
CREATE INDEX identity_assignments_target ON identity_assignments (target_type, target_id);
CREATE TABLE identity_regions (
	id TEXT PRIMARY KEY,
	description TEXT NOT NULL DEFAULT '',
	parent_region_id TEXT REFERENCES identity_regions (id)
);
CREATE TABLE identity_services (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	enabled BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE identity_endpoints (
	id TEXT PRIMARY KEY,
	service_id TEXT NOT NULL REFERENCES identity_services (id) ON DELETE CASCADE,
	interface TEXT NOT NULL,
	region_id TEXT REFERENCES identity_regions (id),
	url TEXT NOT NULL,
	enabled BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE identity_app_creds (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	user_id TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	expires_at BIGINT,
	unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
	roles TEXT NOT NULL DEFAULT '[]',
	UNIQUE (user_id, name)
);
CREATE TABLE identity_revocations (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL DEFAULT '',
	project_id TEXT NOT NULL DEFAULT '',
	domain_id TEXT NOT NULL DEFAULT '',
	domain_scope_id TEXT NOT NULL DEFAULT '',
	role_id TEXT NOT NULL DEFAULT '',
	trust_id TEXT NOT NULL DEFAULT '',
	consumer_id TEXT NOT NULL DEFAULT '',
	access_token_id TEXT NOT NULL DEFAULT '',
	audit_id TEXT NOT NULL DEFAULT '',
	audit_chain_id TEXT NOT NULL DEFAULT '',
	expires_at BIGINT NOT NULL DEFAULT 0,
	issued_before BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL
);
CREATE INDEX identity_revocations_revoked ON identity_revocations (revoked_at);
