// Package l3 is a Neutron router on one host: a network namespace
// (qrouter-<id>) holding the router's internal interfaces (qr-) and its
// gateway interface (qg-), with IPv4 forwarding, the default route through
// the external network's gateway, static routes, SNAT of outbound traffic
// through the gateway address, and floating IPs as DNAT and SNAT, all in
// one nftables table written atomically, plus a gratuitous ARP when a
// floating IP is added.
//
// Apply makes the host match a Router and can be called again at any
// time, after a crash or with changes: the namespace and devices are
// kept, addresses and routes are added and removed to match, and the NAT
// table is replaced in one nftables transaction, so existing connections
// keep their translations. Delete removes the namespace.
//
// The devices themselves (OVS internal ports, veth ends) are created by
// whoever plugs them (network/ovs, or a test); Apply moves a device it
// finds in the host namespace into the router's. It uses netlink and
// nftables through Go libraries (github.com/vishvananda/netlink,
// github.com/google/nftables); it runs nothing. It needs CAP_NET_ADMIN
// and CAP_SYS_ADMIN (namespaces).
//
// NAT is IPv4 only, as in Neutron; IPv6 addresses and routes are set but
// not translated.
package l3
