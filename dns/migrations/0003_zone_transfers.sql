-- Zone transfers between projects (Designate's zone_transfer_requests and
-- zone_transfer_accepts). A request offers a zone to one project
-- (target_project_id) or to anyone who has its key (target_project_id
-- empty); at most one request of a zone is ACTIVE. Accepting it moves the
-- zone and its recordsets to the accepting project and makes the request
-- COMPLETE.
CREATE TABLE dns_transfer_requests (
	id TEXT PRIMARY KEY,
	zone_id TEXT NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
	project_id TEXT NOT NULL,
	target_project_id TEXT NOT NULL DEFAULT '',
	transfer_key TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX dns_transfer_requests_active ON dns_transfer_requests (zone_id) WHERE status = 'ACTIVE';
CREATE INDEX dns_transfer_requests_project ON dns_transfer_requests (project_id);
CREATE INDEX dns_transfer_requests_target ON dns_transfer_requests (target_project_id);
CREATE TABLE dns_transfer_accepts (
	id TEXT PRIMARY KEY,
	transfer_request_id TEXT NOT NULL,
	zone_id TEXT NOT NULL,
	project_id TEXT NOT NULL,
	transfer_key TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX dns_transfer_accepts_project ON dns_transfer_accepts (project_id);
