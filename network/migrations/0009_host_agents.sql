-- Which user's agent a network host is (bound at its first call of the
-- agents' internal API): another service user cannot act for the host.
-- An admin's calls are not bound; deleting an agent of the host frees
-- it for another user.
CREATE TABLE network_host_agents (
	host TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	bound_at BIGINT NOT NULL
);
