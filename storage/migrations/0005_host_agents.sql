-- Which user's agents a volume host is (the machine before '@', bound at
-- its first call of the agents' internal API): another service user
-- cannot act for its backends. An admin's calls are not bound; deleting
-- the last backend of the machine frees it for another user.
CREATE TABLE storage_host_agents (
	host TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	bound_at BIGINT NOT NULL
);
