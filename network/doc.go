// Package network is gostack's network area: Neutron's model and its
// rules, kept in a Store on kit/sqlstore, every write appended to the
// watch feed (area "network") for the agents that plumb it.
//
// What works today (the first slice of the area):
//
//   - networks: tenant networks are VXLAN on the lowest free VNI of
//     Store.TenantSegments (MTU 1450); admins create local, flat, VLAN and
//     VXLAN provider networks, a taken segment is SegmentationIdInUse;
//     shared and external networks are seen by every project; a network
//     with ports in use cannot be deleted (NetworkInUse);
//   - subnets: Neutron's checks through network/ipam, no overlap on one
//     network, the default gateway and pools;
//   - ports: a fa:16:3e MAC unique on the network, addresses from the
//     subnets (requested ones checked, InvalidIpForSubnet,
//     IpAddressAlreadyAllocated; others the next free address), freed on
//     delete. Allocations on one network take turns on its row lock and
//     each address is a primary key, so parallel creates never share an
//     address on either engine; lists page in SQL (Page: sort keys,
//     marker, limit) with Neutron's filters; updates bump the revision,
//     and binding a port to a host sets it DOWN until that host's agent
//     reports it ACTIVE (SetPortStatus refuses a report from a host the
//     port is not bound to); a subnet with ports on it is SubnetInUse;
//   - security groups and their rules (secgroup.go): Neutron's checks and
//     stored forms, a "default" group per project made on demand exactly
//     once (a key per project), duplicate rules refused (rule writes on a
//     group take turns on its row), groups in use kept; ports'
//     security_groups (the default group unless given), port security
//     (the network's by default, none for network:* ports) and allowed
//     address pairs (portsec.go);
//   - routers (router.go, router_interface.go): a gateway port on an
//     external network (SNAT on by default), interfaces by subnet or by
//     port, extra routes, with Neutron's checks; network_router_ports
//     says which ports are a router's; floating IPs (floatingip.go): an
//     address held by a port of the external network, associated with a
//     port's IPv4 address through the router found for it, DOWN until
//     the agent reports it (SetFloatingIPStatus);
//   - quotas (quota.go): per-project limits of networks, subnets, ports,
//     routers, floating IPs, security groups and rules (Store.Quotas, a
//     project's own in network_quotas), each create counted against its
//     project in its own transaction after the project's quota lock, so
//     parallel creates stop exactly at the limit (OverQuota);
//   - tags (tags.go): Neutron's standard-attr-tag on networks, subnets,
//     ports, routers, floating IPs and security groups, read with them,
//     filtered in SQL (tags, tags-any, not-tags, not-tags-any), a change
//     bumping the resource's revision and recording it on the feed.
//
// Errors are *fault.Error values with Neutron's exception name in Type
// and its message.
//
// What it does not do: plumb anything. OVS ports, flows that enforce the
// security groups, DHCP, routers' namespaces and NAT are the host
// agents' work, from the feed. Nor HA or distributed routers, port
// forwarding or floating IP pools.
package network
