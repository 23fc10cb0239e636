-- Which host runs a router (its qrouter- namespace): one row per router,
-- made by the first agent sync that finds the router unscheduled (the
-- least loaded live agent that offers l3). The router's ports are bound
-- to that host.
CREATE TABLE network_router_bindings (
	router_id TEXT PRIMARY KEY,
	host TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX network_router_bindings_host ON network_router_bindings (host);
