-- Which user's agent a compute host is (bound at its first call of the
-- internal API): another service user cannot act for the host. An
-- admin's calls are not bound; deleting the host's compute service
-- frees the host for another user.
CREATE TABLE compute_host_agents (
	host TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	bound_at BIGINT NOT NULL
);
