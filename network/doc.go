// Package network will hold gostack's network area: networks, subnets,
// ports, routers, floating IPs and security groups, their Store, and the
// controller that agents reconcile against through the watch feed.
//
// Planned building blocks: network/ipam, network/ovs (bridges, ports,
// flows, VXLAN over the userspace datapath), network/secgroup (conntrack
// flows), network/l3 (router namespaces, SNAT, floating IPs),
// network/dhcp, and network/api (Neutron v2.0-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the network port (9696).
package network
