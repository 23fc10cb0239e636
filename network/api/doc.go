// Package api serves Neutron's v2.0 API for networks, subnets, ports,
// security groups, routers, floating IPs and quotas over a network.Store,
// behind identity/middleware.
//
// What it serves: version discovery, the extension list (only what is
// implemented: allowed-address-pairs, binding, ext-gw-mode,
// external-net, extraroute, extraroute-atomic, filter-validation,
// net-mtu, port-security, port-security-groups-filtering, project-id,
// provider, quota-check-limit, quota_details, quotas, router,
// security-group, security-groups-normalized-cidr,
// standard-attr-description, -revisions, -tag and -timestamp,
// stateful-security-group, tag-ports-during-bulk-creation), and create,
// list, show, update and delete of networks, subnets, ports, security
// groups, routers and floating IPs, create, list, show and delete of
// security group rules, and the router actions add_router_interface,
// remove_router_interface, add_extraroutes and remove_extraroutes;
// quotas: the projects with their own limits, a project's limits,
// defaults and details (use), and their update (with check_limit) and
// reset; the tags of networks, subnets, ports, routers, floating IPs and
// security groups (/v2.0/{collection}/{id}/tags: list, replace, remove
// all; .../tags/{tag}: check, add, remove), and ports created with tags.
// Lists take Neutron's filters (any listed attribute, repeated for
// alternatives, an unknown one is a 400; tags, tags-any, not-tags and
// not-tags-any), fields, sort_key and sort_dir, and limit, marker and
// page_reverse with next and previous links, all done in SQL by the
// store.
//
// Policy is Neutron's (Defaults: generated from python3-neutron 21 by
// scripts/neutron-policy, each new default ORed with its deprecated
// rule), with Neutron's field: check kind (NewEnforcer). As in Neutron, a
// resource the caller may not get is a 404, an attribute rule
// ("create_network:provider:network_type", "get_port:binding:host_id")
// is checked for each attribute a request sets, and attributes the
// caller may not get are left out of answers. Errors are Neutron's
// {"NeutronError": {"type", "message", "detail"}}. Unlike Neutron 21,
// which checks no policy on tags, a change of a resource's tags is
// checked as an update of it (update_network, ...): another project
// that sees a shared network reads its tags but does not change them.
//
// Not yet: availability zones, HA and distributed routers,
// port forwarding, floating IP pools, subnet pools, RBAC sharing of
// security groups, address groups, updates of a rule's description, and
// updates of subnet addresses (gateway, pools, DNS, routes) and of a
// port's fixed IPs and MAC.
package api
