package secgroup

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// filtered is a port with security, its addresses and rules gathered.
type filtered struct {
	Port
	mac      string
	macs     []string // the port's and its pairs', sorted
	v4, v6   []pair   // allowed (MAC, source) pairs, sorted; v6 with the link-local address
	stateful bool
	rules    []groupRule
}

type pair struct {
	mac    string
	prefix netip.Prefix
}

// groupRule is a normalised rule and the group it comes from (which
// names its conjunctions).
type groupRule struct {
	group string
	rule
}

func newFiltered(p Port, groups map[string]Group) (*filtered, bool) {
	f := &filtered{Port: p, mac: normalMAC(p.MAC)}
	if f.mac == "" || p.VLAN < 1 || p.VLAN > 4094 {
		return nil, false
	}
	macs := map[string]bool{f.mac: true}
	pairs := map[pair]bool{}
	for _, ip := range p.IPs {
		if ip.IsValid() {
			ip = ip.Unmap().WithZone("")
			pairs[pair{f.mac, netip.PrefixFrom(ip, ip.BitLen())}] = true
		}
	}
	for _, ap := range p.Pairs {
		mac := f.mac
		if ap.MAC != "" {
			if mac = normalMAC(ap.MAC); mac == "" {
				continue
			}
		}
		if !ap.Prefix.IsValid() {
			continue
		}
		macs[mac] = true
		pairs[pair{mac, ap.Prefix.Masked()}] = true
	}
	// Neighbour discovery uses the link-local address.
	pairs[pair{f.mac, netip.PrefixFrom(linkLocal(f.mac), 128)}] = true
	for pr := range pairs {
		if pr.prefix.Addr().Is4() {
			f.v4 = append(f.v4, pr)
		} else {
			f.v6 = append(f.v6, pr)
		}
	}
	byPair := func(a, b pair) int {
		return cmp.Or(cmp.Compare(a.mac, b.mac), a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits()))
	}
	slices.SortFunc(f.v4, byPair)
	slices.SortFunc(f.v6, byPair)
	for m := range macs {
		f.macs = append(f.macs, m)
	}
	slices.Sort(f.macs)

	// The union of the groups' rules. Neutron refuses stateful and
	// stateless groups on one port; here any stateful group (or none
	// known) makes the port stateful.
	f.stateful = true
	known, stateful := 0, false
	seen := map[groupRule]bool{}
	for _, id := range p.Groups {
		g, ok := groups[id]
		if !ok {
			continue
		}
		known++
		stateful = stateful || g.Stateful
		for _, r := range g.Rules {
			n, err := normalise(r)
			if err != nil {
				continue
			}
			gr := groupRule{id, n}
			if !seen[gr] {
				seen[gr] = true
				f.rules = append(f.rules, gr)
			}
		}
	}
	if known > 0 && !stateful {
		f.stateful = false
	}
	return f, true
}

// linkLocal is the EUI-64 link-local address of mac.
func linkLocal(mac string) netip.Addr {
	hw, _ := net.ParseMAC(mac)
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8], a[9], a[10], a[11], a[12] = hw[0]^0x02, hw[1], hw[2], 0xff, 0xfe
	a[13], a[14], a[15] = hw[3], hw[4], hw[5]
	return netip.AddrFrom16(a)
}

// regs loads the port and network registers.
func regs(port, vlan int) string {
	return fmt.Sprintf("set_field:%s->%s,set_field:%s->%s,", hex(port), regPort, hex(vlan), regNet)
}

// unfiltered is a port without port security: its traffic skips the
// egress rules but still reaches the ingress pipeline of a filtered
// port on the same host (which NORMAL switching would bypass).
func (b *builder) unfiltered(p Port) {
	vlan := max(p.VLAN, 0)
	b.add(TransientTable, 100, "in_port="+itoa(p.OFPort), regs(p.OFPort, vlan)+resubmit(AcceptOrIngressTable))
	b.add(AcceptOrIngressTable, 80, regPort+"="+hex(p.OFPort), resubmit(EgressNormalTable))
}

// port adds a filtered port's flows.
func (b *builder) port(p *filtered) {
	b.add(TransientTable, 100, "in_port="+itoa(p.OFPort), regs(p.OFPort, p.VLAN)+resubmit(EgressBaseTable))
	for _, mac := range p.macs {
		b.add(TransientTable, 90, fmt.Sprintf("dl_vlan=%d,dl_dst=%s", p.VLAN, mac),
			regs(p.OFPort, p.VLAN)+"pop_vlan,"+resubmit(IngressBaseTable))
	}
	b.egressBase(p)
	b.acceptOrIngress(p)
	b.ingressBase(p)
	if p.stateful {
		b.tracked(p, EgressRulesTable)
		b.tracked(p, IngressRulesTable)
	}
	b.rules(p)
}

// ICMPv6 types (neutron/agent/firewall.py): allowed out from the port's
// addresses, neighbour advertisements only for its addresses, and those
// always allowed in (router advertisements included).
var (
	icmp6EgressTypes  = []int{130, 133, 135} // MLD query, RS, NS
	icmp6IngressTypes = []int{130, 134, 135, 136}
)

const (
	icmp6RA = 134
	icmp6NA = 136
)

// egressBase is table 71: anti-spoofing, DHCP and neighbour discovery,
// then conntrack (or, stateless, the rules directly).
func (b *builder) egressBase(p *filtered) {
	in := fmt.Sprintf("%s=%s,in_port=%d", regPort, hex(p.OFPort), p.OFPort)
	toRules := fmt.Sprintf("ct(table=%d,zone=NXM_NX_REG6[0..15])", EgressRulesTable)
	if !p.stateful {
		toRules = resubmit(EgressRulesTable)
	}
	for _, pr := range p.v4 {
		src := prefixString(pr.prefix)
		b.add(EgressBaseTable, 95, fmt.Sprintf("arp,%s,dl_src=%s,arp_spa=%s,arp_sha=%s", in, pr.mac, src, pr.mac), resubmit(EgressNormalTable))
		b.add(EgressBaseTable, 80, fmt.Sprintf("udp,%s,dl_src=%s,nw_src=%s,tp_src=68,tp_dst=67", in, pr.mac, src), resubmit(AcceptOrIngressTable))
		b.add(EgressBaseTable, 65, fmt.Sprintf("ip,%s,dl_src=%s,nw_src=%s", in, pr.mac, src), toRules)
	}
	// DHCP discovery, before the port has an address.
	b.add(EgressBaseTable, 80, fmt.Sprintf("udp,%s,dl_src=%s,nw_src=0.0.0.0,tp_src=68,tp_dst=67", in, p.mac), resubmit(AcceptOrIngressTable))
	for _, pr := range p.v6 {
		src := prefixString(pr.prefix)
		for _, t := range icmp6EgressTypes {
			b.add(EgressBaseTable, 95, fmt.Sprintf("icmp6,%s,dl_src=%s,ipv6_src=%s,icmp_type=%d", in, pr.mac, src, t), resubmit(EgressNormalTable))
		}
		b.add(EgressBaseTable, 95, fmt.Sprintf("icmp6,%s,dl_src=%s,icmp_type=%d,nd_target=%s", in, pr.mac, icmp6NA, src), resubmit(EgressNormalTable))
		b.add(EgressBaseTable, 80, fmt.Sprintf("udp6,%s,dl_src=%s,ipv6_src=%s,tp_src=546,tp_dst=547", in, pr.mac, src), resubmit(AcceptOrIngressTable))
		b.add(EgressBaseTable, 65, fmt.Sprintf("ipv6,%s,dl_src=%s,ipv6_src=%s", in, pr.mac, src), toRules)
	}
	// No DHCP server and no router advertisements from an instance.
	b.add(EgressBaseTable, 70, "udp,"+in+",tp_src=67,tp_dst=68", resubmit(DroppedTable))
	b.add(EgressBaseTable, 70, "udp6,"+in+",tp_src=547,tp_dst=546", resubmit(DroppedTable))
	b.add(EgressBaseTable, 70, fmt.Sprintf("icmp6,%s,icmp_type=%d", in, icmp6RA), resubmit(DroppedTable))
	b.add(EgressBaseTable, 10, in, "ct_clear,"+resubmit(DroppedTable))
}

// acceptOrIngress is table 73 for the port: traffic for its MACs on its
// network goes to its ingress pipeline; its own accepted new
// connections leaving the host are committed; the rest is switched.
func (b *builder) acceptOrIngress(p *filtered) {
	for _, mac := range p.macs {
		b.add(AcceptOrIngressTable, 100, fmt.Sprintf("%s=%s,dl_dst=%s", regNet, hex(p.VLAN), mac),
			fmt.Sprintf("set_field:%s->%s,%s", hex(p.OFPort), regPort, resubmit(IngressBaseTable)))
	}
	if p.stateful {
		for _, eth := range []string{"ip", "ipv6"} {
			b.add(AcceptOrIngressTable, 90, fmt.Sprintf("ct_state=+new-est,%s,%s=%s", eth, regPort, hex(p.OFPort)),
				commit+","+resubmit(AcceptedEgressTable))
		}
	}
	b.add(AcceptOrIngressTable, 80, regPort+"="+hex(p.OFPort), resubmit(EgressNormalTable))
}

// ingressBase is table 81: ARP, neighbour discovery and DHCP replies
// straight to the port, then conntrack (or, stateless, the rules).
func (b *builder) ingressBase(p *filtered) {
	reg := regPort + "=" + hex(p.OFPort)
	out := output(p.OFPort)
	b.add(IngressBaseTable, 100, "arp,"+reg, out)
	for _, t := range icmp6IngressTypes {
		b.add(IngressBaseTable, 100, fmt.Sprintf("icmp6,%s,icmp_type=%d", reg, t), out)
	}
	b.add(IngressBaseTable, 95, "udp,"+reg+",tp_src=67,tp_dst=68", out)
	b.add(IngressBaseTable, 95, "udp6,"+reg+",tp_src=547,tp_dst=546", out)
	for _, eth := range []string{"ip", "ipv6"} {
		if p.stateful {
			b.add(IngressBaseTable, 90, fmt.Sprintf("ct_state=-trk,%s,%s", eth, reg),
				fmt.Sprintf("ct(table=%d,zone=NXM_NX_REG6[0..15])", IngressRulesTable))
		} else {
			b.add(IngressBaseTable, 90, eth+","+reg, resubmit(IngressRulesTable))
		}
	}
	if p.stateful {
		b.add(IngressBaseTable, 80, "ct_state=+trk,"+reg, resubmit(IngressRulesTable))
	}
}

// tracked is table 72 or 82 for a stateful port: connections whose rule
// was removed (ct_mark 1) dropped, replies and related traffic accepted,
// anything else not new dropped, and an established connection that no
// rule accepts any more marked so that its replies stop too.
func (b *builder) tracked(p *filtered, table int) {
	reg := regPort + "=" + hex(p.OFPort)
	ingress := table == IngressRulesTable
	b.add(table, 50, "ct_mark=0x1,"+reg, resubmit(DroppedTable))
	for _, st := range []string{"+est-rel+rpl", "-new-est+rel-inv"} {
		b.add(table, 50, fmt.Sprintf("ct_state=%s,ct_zone=%d,ct_mark=0,%s", st, p.VLAN, reg), accept(ingress, estOrig, p.OFPort))
	}
	b.add(table, 40, "ct_state=-est,"+reg, resubmit(DroppedTable))
	for _, eth := range []string{"ip", "ipv6"} {
		b.add(table, 40, fmt.Sprintf("ct_state=+est,%s,%s", eth, reg), "ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark))")
	}
}

// accept is what an accepted packet of a port's rules does: egress goes
// on to table 73; ingress is output to the port, a new connection
// committed first, a stateless port's packet looked at by table 92
// (which commits a connection a local stateful port opened).
func accept(ingress bool, s ctState, port int) string {
	switch {
	case !ingress:
		return resubmit(AcceptOrIngressTable)
	case s == newConn:
		return commit + "," + output(port)
	case s == stateless:
		return output(port) + "," + resubmit(AcceptedIngressTable)
	}
	return output(port)
}

// states are the conntrack states a port's rule flows are written for.
func (p *filtered) states() []ctState {
	if p.stateful {
		return []ctState{estOrig, newConn}
	}
	return []ctState{stateless}
}

// rules adds the flows of the port's rules: plain ones here, those with
// a remote group as conjunctions (conj.go).
func (b *builder) rules(p *filtered) {
	var remote []groupRule
	for _, r := range p.rules {
		if r.remoteGroup != "" {
			remote = append(remote, r)
			continue
		}
		table := EgressRulesTable
		if r.ingress {
			table = IngressRulesTable
		}
		for _, s := range p.states() {
			for _, m := range r.matches(p.OFPort, s) {
				b.add(table, r.priority(), m, accept(r.ingress, s, p.OFPort))
			}
		}
	}
	b.remoteRules(p, remote)
}
