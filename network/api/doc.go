// Package api serves Neutron's v2.0 API for networks, subnets and ports
// over a network.Store, behind identity/middleware.
//
// What it serves: version discovery, the extension list (only what is
// implemented: binding, external-net, filter-validation, net-mtu,
// project-id, provider, standard-attr-description, -revisions and
// -timestamp), and create, list, show, update and delete of networks,
// subnets and ports. Lists take Neutron's filters (any listed attribute,
// repeated for alternatives; an unknown one is a 400), fields, sort_key
// and sort_dir, and limit, marker and page_reverse with next and previous
// links, all done in SQL by the store.
//
// Policy is Neutron's (Defaults: generated from python3-neutron 21 by
// scripts/neutron-policy, each new default ORed with its deprecated
// rule), with Neutron's field: check kind (NewEnforcer). As in Neutron, a
// resource the caller may not get is a 404, an attribute rule
// ("create_network:provider:network_type", "get_port:binding:host_id")
// is checked for each attribute a request sets, and attributes the
// caller may not get are left out of answers. Errors are Neutron's
// {"NeutronError": {"type", "message", "detail"}}.
//
// Not yet: security groups, routers, floating IPs, quotas, tags,
// availability zones, subnet pools, allowed address pairs, port
// security, and updates of subnet addresses (gateway, pools, DNS, routes)
// and of a port's fixed IPs and MAC.
package api
