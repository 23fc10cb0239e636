-- Neutron's standard-attr-tag: the tags of networks, subnets, ports,
-- routers, floating IPs and security groups (resource_type is the feed's
-- kind: network, subnet, port, router, floatingip, security_group). A tag
-- is on a resource once; a tag change bumps the resource's revision. A
-- resource's tags go with it.
CREATE TABLE network_tags (
	resource_type TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	tag TEXT NOT NULL,
	PRIMARY KEY (resource_type, resource_id, tag)
);
-- The list filters (tags, tags-any, not-tags, not-tags-any) look tags up.
CREATE INDEX network_tags_tag ON network_tags (resource_type, tag);
