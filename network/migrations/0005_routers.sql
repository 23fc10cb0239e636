-- Neutron's routers and floating IPs (the model: the host agent plumbs
-- them with network/l3).
--
-- A router's ports are ordinary rows of network_ports, with their
-- addresses in network_ip_allocations: its gateway (device_owner
-- network:router_gateway, project_id '' as in Neutron, on an external
-- network) and its interfaces (network:router_interface, the router's
-- project), both with device_id = the router's id. Which ports really
-- belong to a router is network_router_ports, Neutron's routerports: a
-- project may create a port with any device_id and device_owner on its
-- own network, so an agent reads a router's ports from this table, never
-- from device_id alone.
CREATE TABLE network_routers (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	admin_state_up BOOLEAN NOT NULL,
	status TEXT NOT NULL,
	-- The gateway port (NULL: no gateway); its network is the external
	-- network, its addresses the router's external addresses.
	gw_port_id TEXT REFERENCES network_ports (id),
	-- SNAT of the interfaces' traffic to the gateway's first IPv4
	-- address (ext-gw-mode); meaningful only with a gateway.
	enable_snat BOOLEAN NOT NULL DEFAULT TRUE,
	-- Extra routes (extraroute): a JSON list of {destination, nexthop},
	-- each nexthop on one of the router's subnets.
	routes TEXT NOT NULL DEFAULT '[]',
	-- Bumped by every change of the router, its gateway or its
	-- interfaces: the row lock that makes those writes take turns.
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX network_routers_project ON network_routers (project_id);
-- port_type is the port's device_owner: network:router_gateway or
-- network:router_interface.
CREATE TABLE network_router_ports (
	port_id TEXT PRIMARY KEY REFERENCES network_ports (id),
	router_id TEXT NOT NULL REFERENCES network_routers (id),
	port_type TEXT NOT NULL
);
CREATE INDEX network_router_ports_router ON network_router_ports (router_id);
-- A floating IP holds its address through a port on the external network
-- (floating_port_id: device_owner network:floatingip, device_id the
-- floating IP's id, project_id ''), so the address is allocated like any
-- other and never handed out twice. Associated, it has the internal port
-- (fixed_port_id), which of its IPv4 addresses it maps to
-- (fixed_ip_address) and the router that does the NAT (router_id: the
-- router with a gateway on floating_network_id and an interface on that
-- address's subnet); all three NULL when it is not associated.
CREATE TABLE network_floatingips (
	id TEXT PRIMARY KEY,
	project_id TEXT NOT NULL,
	floating_network_id TEXT NOT NULL REFERENCES network_networks (id),
	floating_port_id TEXT NOT NULL REFERENCES network_ports (id),
	floating_ip_address TEXT NOT NULL,
	fixed_port_id TEXT REFERENCES network_ports (id),
	fixed_ip_address TEXT,
	router_id TEXT REFERENCES network_routers (id),
	-- DOWN until the agent reports the NAT in place (ACTIVE); back to
	-- DOWN at every change of the association.
	status TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	-- One floating IP per fixed address on an external network, as in
	-- Neutron (NULLs never collide: unassociated ones are free).
	UNIQUE (floating_network_id, fixed_port_id, fixed_ip_address)
);
CREATE INDEX network_floatingips_project ON network_floatingips (project_id);
CREATE INDEX network_floatingips_fixed_port ON network_floatingips (fixed_port_id);
CREATE INDEX network_floatingips_router ON network_floatingips (router_id);
CREATE INDEX network_floatingips_floating_port ON network_floatingips (floating_port_id);
