package secgroup

import (
	"cmp"
	"net"
	"net/netip"
	"slices"

	"github.com/gostack/gostack/network/ovs"
)

// Tables of the integration bridge the firewall uses, numbered as
// Neutron's (neutron_lib/plugins/ml2/ovs_constants.py). Table 0 (the
// agent's) sends everything to TransientTable.
const (
	TransientTable       = 60 // ports identified: egress by in_port, ingress by VLAN and MAC
	EgressBaseTable      = 71 // anti-spoofing, DHCP, ND; then conntrack
	EgressRulesTable     = 72 // egress rules
	AcceptOrIngressTable = 73 // accepted egress: to a local port's ingress, or out
	IngressBaseTable     = 81 // ARP, ND, DHCP replies; then conntrack
	IngressRulesTable    = 82 // ingress rules
	AcceptedEgressTable  = 91 // accepted egress (committed)
	AcceptedIngressTable = 92 // accepted ingress (commits for stateless ports)
	DroppedTable         = 93 // dropped traffic
	EgressNormalTable    = 94 // NORMAL switching of accepted egress
)

// Registers, as Neutron's: the port a packet is from (egress) or for
// (ingress), and its network's local VLAN, which is the conntrack zone.
const (
	regPort = "reg5"
	regNet  = "reg6"
)

// Rule is one security group rule, in Neutron's terms.
type Rule struct {
	Direction string // "ingress" or "egress"
	EtherType string // "IPv4" (also when empty) or "IPv6"
	// Protocol is "" (any), a name Neutron accepts (tcp, udp, icmp,
	// icmpv6 or ipv6-icmp, sctp, gre, ...) or a number "0" to "255".
	// "0" (and its names ip and hopopt) means any protocol, as it does
	// to iptables.
	Protocol string
	// PortMin and PortMax are the destination port range for TCP, UDP
	// and SCTP (0 or negative: none; 1-65535 is also none), ignored for
	// other protocols (OVS cannot match DCCP or UDP-Lite ports; Neutron's
	// OVS firewall ignores them too). For ICMP and IPv6 ICMP they are the
	// type and the code, each negative (Any) when absent, as Neutron's
	// null: 0 is a real type (echo reply) and code.
	PortMin, PortMax int
	// RemoteIP is the prefix of the other end (zero, /0: any).
	RemoteIP netip.Prefix
	// RemoteGroup, if set, is a group id: the other end is one of the
	// addresses of that group's members (Members). With RemoteIP too
	// (which Neutron's API refuses) both must hold.
	RemoteGroup string
}

// Any is the ICMP type or code of a rule that matches every one.
const Any = -1

// Group is a security group: its rules, and whether it is stateful
// (Neutron's default, stateful=true: connections are tracked and their
// replies pass) or stateless (no conntrack: replies need rules too).
type Group struct {
	ID       string
	Rules    []Rule
	Stateful bool
}

// Pair is an allowed address pair: traffic from Prefix with source MAC
// MAC (the port's own when empty) passes anti-spoofing.
type Pair struct {
	MAC    string
	Prefix netip.Prefix
}

// Port is a VIF on the integration bridge.
type Port struct {
	ID     string
	OFPort int // its OpenFlow port number on the integration bridge
	VLAN   int // its network's local VLAN on the bridge, also the conntrack zone
	MAC    string
	IPs    []netip.Addr
	Pairs  []Pair
	Groups []string // security group ids
	// PortSecurity false: no filtering and no anti-spoofing at all.
	// Ports without it must still be given (the DHCP and router ports
	// too): their traffic to a filtered port on the same host then goes
	// through that port's ingress rules, where NORMAL switching would
	// deliver it unfiltered.
	PortSecurity bool
}

// Members are the addresses of each group's ports on every host, for
// the rules with a RemoteGroup.
type Members map[string][]netip.Addr

// Flows returns the integration bridge's firewall flows for ports:
// tables 60 (TRANSIENT: each port's egress entry, in_port=OFPort, and
// ingress entries, dl_vlan=VLAN,dl_dst=MAC; NORMAL at priority 3 for
// everything else) and 71 to 94, Neutron's OVS firewall: anti-spoofing
// of MAC, IP, ARP and neighbour discovery from the port's addresses and
// its pairs, DHCP requests allowed out and DHCP replies from an instance
// dropped, router advertisements from an instance dropped, established
// and related traffic allowed, new connections by the rules and
// committed to conntrack (zone = VLAN), invalid ones dropped, ingress
// output to OFPort untagged. Ports without PortSecurity pass both ways
// without conntrack. A port whose groups are all stateless is filtered
// without conntrack: its rules must allow both directions.
//
// The flows of every table are included, defaults too, so that exactly
// this set plus the agent's table 0 (everything to TransientTable) is
// the whole firewall. The result depends only on the arguments and is
// sorted (table, then priority from high to low, then match): equal
// arguments give equal flows. Flows are written as OVS prints them
// (ovs.OpenFlow.Canonical returns them unchanged).
//
// Rules for which Check fails are left out, as are ports with no
// OFPort; a port with security whose MAC or VLAN is invalid gets only a
// flow dropping its egress. Groups missing from groups add no rules. A
// MAC two ports of one network share is delivered to the first by ID.
func Flows(ports []Port, groups map[string]Group, members Members) []ovs.Flow {
	b := newBuilder(groups, members)
	b.skeleton()
	for _, p := range sortedPorts(ports) {
		if p.OFPort <= 0 {
			continue
		}
		if !p.PortSecurity {
			b.unfiltered(p)
			continue
		}
		fp, ok := newFiltered(p, groups)
		if !ok {
			b.add(TransientTable, 100, "in_port="+itoa(p.OFPort), "drop")
			continue
		}
		b.port(fp)
	}
	return b.flows()
}

// sortedPorts is ports by id, then OpenFlow port: the order that decides
// which port keeps a flow two ports would both want (a MAC shared by two
// ports of one network).
func sortedPorts(ports []Port) []Port {
	out := slices.Clone(ports)
	slices.SortStableFunc(out, func(a, b Port) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.OFPort, b.OFPort))
	})
	return out
}

// builder collects flows, keeping the first of two with the same table,
// priority and match, and merges conjunction actions.
type builder struct {
	groups  map[string]Group
	members Members
	conj    *conjIDs
	seen    map[flowKey]bool
	out     []ovs.Flow
	conjs   map[flowKey]map[uint32]int // conjunction id -> dimension
	addrs   map[addrSet][]string       // members of a group and family, as printed
}

type flowKey struct {
	table, priority int
	match           string
}

func newBuilder(groups map[string]Group, members Members) *builder {
	return &builder{
		groups:  groups,
		members: members,
		conj:    newConjIDs(),
		seen:    map[flowKey]bool{},
		conjs:   map[flowKey]map[uint32]int{},
		addrs:   map[addrSet][]string{},
	}
}

func (b *builder) add(table, priority int, match, actions string) {
	k := flowKey{table, priority, match}
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	b.out = append(b.out, ovs.Flow{Table: table, Priority: priority, Match: match, Actions: actions})
}

// addConj adds conjunction(id,dim/2) to the flow of table, priority and
// match, made if needed.
func (b *builder) addConj(table, priority int, match string, id uint32, dim int) {
	k := flowKey{table, priority, match}
	m := b.conjs[k]
	if m == nil {
		m = map[uint32]int{}
		b.conjs[k] = m
	}
	m[id] = dim
}

func (b *builder) flows() []ovs.Flow {
	for k, ids := range b.conjs {
		if b.seen[k] {
			continue
		}
		b.add(k.table, k.priority, k.match, conjActions(ids))
	}
	slices.SortFunc(b.out, func(x, y ovs.Flow) int {
		return cmp.Or(cmp.Compare(x.Table, y.Table), cmp.Compare(y.Priority, x.Priority),
			cmp.Compare(x.Match, y.Match), cmp.Compare(x.Actions, y.Actions))
	})
	return b.out
}

// skeleton is what the firewall needs whatever the ports: each table's
// default, NORMAL for unfiltered traffic, and the flows Neutron adds for
// every port that do not depend on the port.
func (b *builder) skeleton() {
	b.add(TransientTable, 3, "", "NORMAL")
	for _, t := range []int{EgressBaseTable, EgressRulesTable, AcceptOrIngressTable, IngressBaseTable, IngressRulesTable,
		AcceptedIngressTable, DroppedTable} {
		b.add(t, 0, "", "drop")
	}
	// A packet tracked before (through a patch port) starts afresh.
	b.add(EgressBaseTable, 110, "ct_state=+trk", "ct_clear,"+resubmit(EgressBaseTable))
	for _, t := range []int{EgressRulesTable, IngressRulesTable} {
		b.add(t, 50, "ct_state=+inv+trk", resubmit(DroppedTable))
	}
	b.add(AcceptedEgressTable, 1, "", resubmit(EgressNormalTable))
	b.add(EgressNormalTable, 1, "", "NORMAL")
	// A new connection from a stateful port accepted by a stateless
	// port on this host is committed here, after the stateless port's
	// rules accepted it (the stateful end needs the entry for the
	// replies).
	for _, eth := range []string{"ip", "ipv6"} {
		b.add(AcceptedIngressTable, 1, "ct_state=+new-est+trk,"+eth, commit)
	}
}

// commit commits the packet's connection in its network's zone.
const commit = "ct(commit,zone=NXM_NX_REG6[0..15])"

func resubmit(table int) string { return "resubmit(," + itoa(table) + ")" }

func output(port int) string { return "output:" + itoa(port) }

// normalMAC is mac as OVS prints it (lower case), or "" if invalid.
func normalMAC(mac string) string {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return ""
	}
	return hw.String()
}
