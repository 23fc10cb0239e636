// Package secgroup computes Neutron security groups as OpenFlow flows on
// the integration bridge, after the design of Neutron's OVS firewall
// (openvswitch_firewall): conntrack through OVS's ct() action, the same
// tables, registers and priorities. Flows is a pure function of plain Go
// values (ports, groups, members) returning []ovs.Flow, which the network
// agent installs with ovs.OpenFlow.Sync.
//
// # Why OVS conntrack and not nftables
//
// The VIFs are OVS ports of br-int on the userspace (netdev) datapath.
// Packets between them never cross the kernel's netfilter hooks: the
// datapath reads and writes them with packet sockets, and two VMs on one
// host talk without the kernel seeing an IP packet at all. nftables could
// only filter them through an extra hop per VIF (Neutron's old
// iptables_hybrid: a Linux bridge and a veth pair in front of every port),
// more devices, copies and state to keep in step. The userspace datapath
// has its own conntrack (ct(), zones, marks, commit), which OVS's flows
// drive directly, so the firewall is a set of flows like the rest of
// br-int: one bundle changes it atomically (Sync), dump-flows shows it,
// and it needs no kernel module or netfilter at all.
//
// # Tables
//
// Registers: reg5 is the OpenFlow port a packet is from (egress) or for
// (ingress), reg6 its network's local VLAN, which is also the conntrack
// zone.
//
//	60  TRANSIENT: in_port=P → reg5,reg6 → 71 (egress); dl_vlan=V,dl_dst=MAC
//	    → reg5,reg6, pop_vlan → 81 (ingress); a port without port security
//	    → 73; priority 3: NORMAL for everything else.
//	71  egress base: ARP, ND, DHCP requests, IPv4/IPv6 only from the port's
//	    (MAC, address) pairs; DHCP replies and router advertisements from
//	    the port dropped; then ct(table=72, zone=reg6) (stateless: 72).
//	72  egress rules: invalid and ct_mark=1 dropped, replies and related
//	    accepted, rules for new and established connections, an established
//	    connection no rule accepts any more marked (ct_mark=1) and dropped.
//	73  accept or ingress: to a MAC of a filtered port of the same network
//	    on this host → its ingress (81); a new connection committed → 91;
//	    else 94.
//	81  ingress base: ARP, ND, DHCP replies output; then ct(table=82).
//	82  ingress rules, as 72; accepted packets are output to the port,
//	    untagged, new connections committed first.
//	91  accepted egress → 94.   92  accepted ingress (commits for stateless
//	93  dropped.                    ports; else drop).
//	94  NORMAL.
//
// # Rules
//
// A port gets the union of its groups' rules. Protocols are normalised as
// Neutron does (names and numbers, icmp with IPv6 as ipv6-icmp); protocol
// 0 ("ip") is any protocol. TCP, UDP and SCTP port ranges become value/mask
// matches (the fewest aligned blocks, as Neutron's port_rule_masking);
// ICMP rules match the type and code. Rules are ordered by priority as
// Neutron's flow_priority_offset (74-77 for plain rules, 70-73 for remote
// groups).
//
// Rules with a remote group are OVS conjunctive matches, as in Neutron: a
// flow per member address (per network) and a flow per rule (per port
// range block), rather than one per pair, so a group of 200 members and
// 1,000 rules costs about 4,700 flows, not 840,000 (BenchmarkFlows).
// Rule-side flows that differ only in their port ranges are cut into
// ranges that do not overlap (Neutron's merge_port_ranges), since OVS
// forbids overlapping conjunctions at one priority; flows with the same
// match carry every conjunction that applies. Conjunction ids are a hash
// of (group, remote group, direction, ethertype), so a change elsewhere
// renumbers nothing and Sync rewrites only the flows that changed.
//
// # Stateless groups
//
// A port whose groups are all stateless (Neutron refuses a mix) is
// filtered without conntrack: its rules must allow both directions.
// Replies to its connections go through its ingress rules even when the
// other end is a stateful port on the same host (table 72 sends replies
// to 73, not straight to NORMAL as Neutron does), and a new connection
// from a stateful port that a stateless port on the host accepts is
// committed in table 92, so the stateful end sees the answers as replies.
//
// # Differences from Neutron
//
// Besides the above: ARP is also checked for its sender MAC (arp_sha) and
// neighbour advertisements for their source MAC; protocol 0 means any
// protocol (as in iptables), where Neutron's OVS firewall matched
// nw_proto=0; there is no reg7 (logging), no permitted_ethertypes, no
// explicitly_egress_direct and no flows for physical (VLAN, flat) direct
// delivery or DVR.
//
// # What it does not do
//
// It writes no flows itself and runs nothing: the agent installs them
// (ovs.OpenFlow.Sync) along with its own table 0, which must send every
// packet to TransientTable (60) and drop the dead VLAN. It does not find
// ports, VLANs or members: the agent passes every VIF of br-int, trusted
// ones (DHCP, router) too, with PortSecurity false; a port left out is
// switched by NORMAL, unfiltered, and reaches filtered ports of the host
// without their ingress rules. Broadcast and multicast traffic is switched
// by NORMAL to every port of the network without their ingress rules, as
// in Neutron (only its sender's egress is filtered). It does not flush
// conntrack entries (rule removal cuts connections through ct_mark
// instead), log, or filter traffic that does not pass through br-int's
// flow tables.
package secgroup
