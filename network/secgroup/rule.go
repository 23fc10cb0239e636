package secgroup

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IP protocol numbers with their own handling.
const (
	protoAny    = -1
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// protocols is neutron_lib's IP_PROTOCOL_MAP (icmpv6 being the legacy
// alias of ipv6-icmp).
var protocols = map[string]int{
	"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0,
	"ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
	"udp": 17, "udplite": 136, "vrrp": 112,
}

// ipv6Only are the protocols Neutron refuses with ethertype IPv4
// (_validate_ethertype_and_protocol).
var ipv6Only = map[int]bool{41: true, 43: true, 44: true, 58: true, 59: true, 60: true}

// rule is a Rule normalised: what its flows match.
type rule struct {
	ingress          bool
	v6               bool
	proto            int // protoAny or 1-255
	portMin, portMax int // TCP, UDP, SCTP: 0-65535 is any
	icmpType         int // Any when absent
	icmpCode         int // Any when absent
	remote           netip.Prefix
	remoteGroup      string
}

// Check reports whether Flows can use the rule: a known direction,
// ethertype and protocol (an IPv6-only protocol with IPv4 is not),
// ports within 0-65535 with PortMin <= PortMax, an ICMP type and code
// within 0-255, and a RemoteIP of the rule's ethertype. Flows leaves
// out the rules it refuses; an agent can log them.
func (r Rule) Check() error {
	_, err := normalise(r)
	return err
}

func normalise(r Rule) (rule, error) {
	n := rule{proto: protoAny, portMax: 65535, icmpType: Any, icmpCode: Any, remoteGroup: r.RemoteGroup}
	fail := func(format string, args ...any) (rule, error) {
		return rule{}, fmt.Errorf("secgroup: rule %+v: %w: %s", r, ErrInvalidRule, fmt.Sprintf(format, args...))
	}
	switch strings.ToLower(r.Direction) {
	case "ingress":
		n.ingress = true
	case "egress":
	default:
		return fail("direction %q", r.Direction)
	}
	switch {
	case r.EtherType == "" || strings.EqualFold(r.EtherType, "IPv4"):
	case strings.EqualFold(r.EtherType, "IPv6"):
		n.v6 = true
	default:
		return fail("ethertype %q", r.EtherType)
	}
	if p := strings.ToLower(strings.TrimSpace(r.Protocol)); p != "" {
		num, ok := protocols[p]
		if !ok {
			v, err := strconv.Atoi(p)
			if err != nil || v < 0 || v > 255 {
				return fail("protocol %q", r.Protocol)
			}
			num = v
		}
		switch {
		case num == 0: // ip, hopopt, 0: any, as to iptables
		case n.v6 && num == protoICMP: // Neutron's canonical IPv6 ICMP
			n.proto = protoICMPv6
		case !n.v6 && ipv6Only[num]:
			return fail("protocol %q is IPv6 only", r.Protocol)
		default:
			n.proto = num
		}
	}
	switch n.proto {
	case protoTCP, protoUDP, protoSCTP:
		lo, hi := r.PortMin, r.PortMax
		if lo > 65535 || hi > 65535 {
			return fail("port beyond 65535")
		}
		if lo > 0 && hi <= 0 {
			hi = lo // a single port
		}
		if lo > 0 && hi < lo {
			return fail("port range %d-%d", lo, hi)
		}
		if lo > 1 || (lo > 0 && hi < 65535) {
			n.portMin, n.portMax = lo, hi
		}
	case protoICMP, protoICMPv6:
		if r.PortMin > 255 || r.PortMax > 255 {
			return fail("ICMP type or code beyond 255")
		}
		if r.PortMin >= 0 {
			n.icmpType = r.PortMin
			if r.PortMax >= 0 {
				n.icmpCode = r.PortMax
			}
		}
	}
	if p := r.RemoteIP; p.IsValid() {
		if p.Addr().Is6() != n.v6 || p.Addr().Zone() != "" {
			return fail("remote prefix %s is not %s", p, r.EtherType)
		}
		if p.Bits() > 0 {
			n.remote = p.Masked()
		}
	}
	return n, nil
}

// priority is the rule's flows' priority, as Neutron's
// flow_priority_offset: 70 for a remote group's conjunctions, 74 for
// plain rules, plus 0 for any protocol, 1 for ICMP without a type, 2
// with a type and no code, 3 for the rest.
func (n rule) priority() int {
	p := 70
	if n.remoteGroup == "" {
		p += 4
	}
	switch {
	case n.proto == protoAny:
	case (n.proto == protoICMP || n.proto == protoICMPv6) && n.icmpType < 0:
		p++
	case (n.proto == protoICMP || n.proto == protoICMPv6) && n.icmpCode < 0:
		p += 2
	default:
		p += 3
	}
	return p
}

// hasPorts tells whether the rule matches a destination port range.
func (n rule) hasPorts() bool { return n.portMin != 0 || n.portMax != 65535 }

// ctState is the conntrack state a flow of a stateful port matches: an
// established connection's packet in its original direction, or the
// first packet of a new one (Neutron's CT_STATES).
type ctState int

const (
	stateless ctState = iota // no ct_state match
	estOrig                  // +est-rel-rpl
	newConn                  // +new-est
)

func (s ctState) match() string {
	switch s {
	case estOrig:
		return "ct_state=+est-rel-rpl,"
	case newConn:
		return "ct_state=+new-est,"
	}
	return ""
}

// protoMatch is the match of an ethertype and protocol, by OVS's name
// where it has one ("tcp6"), else "ip"/"ipv6" and, after the addresses
// (as OVS orders them), nw_proto.
func (n rule) protoMatch() (head, tail string) {
	suffix := ""
	if n.v6 {
		suffix = "6"
	}
	switch n.proto {
	case protoTCP:
		return "tcp" + suffix, ""
	case protoUDP:
		return "udp" + suffix, ""
	case protoSCTP:
		return "sctp" + suffix, ""
	case protoICMP:
		return "icmp", ""
	case protoICMPv6:
		return "icmp6", ""
	}
	eth := "ip"
	if n.v6 {
		eth = "ipv6"
	}
	if n.proto == protoAny {
		return eth, ""
	}
	return eth, ",nw_proto=" + itoa(n.proto)
}

// remoteField is the field matching the other end's address: the
// source of ingress traffic, the destination of egress traffic.
func remoteField(ingress, v6 bool) string {
	switch {
	case ingress && v6:
		return "ipv6_src"
	case ingress:
		return "nw_src"
	case v6:
		return "ipv6_dst"
	}
	return "nw_dst"
}

// matches are the rule's matches for port (reg5) in state s, as OVS
// prints them: one per masked block of its port range.
func (n rule) matches(port int, s ctState) []string {
	m := n.baseMatch(port, s)
	if !n.hasPorts() {
		return []string{m}
	}
	var out []string
	for _, b := range portMasks(n.portMin, n.portMax) {
		out = append(out, m+",tp_dst="+b)
	}
	return out
}

// baseMatch is the rule's match without its port range.
func (n rule) baseMatch(port int, s ctState) string {
	head, tail := n.protoMatch()
	m := s.match() + head + "," + regPort + "=" + hex(port)
	if n.remote.IsValid() {
		m += "," + remoteField(n.ingress, n.v6) + "=" + prefixString(n.remote)
	}
	m += tail
	if n.icmpType >= 0 {
		m += ",icmp_type=" + itoa(n.icmpType)
		if n.icmpCode >= 0 {
			m += ",icmp_code=" + itoa(n.icmpCode)
		}
	}
	return m
}

// portMasks covers lo-hi with the fewest value/mask port matches, as
// Neutron's port_rule_masking: the largest aligned power-of-two blocks,
// "80" for one port, "0x400/0xfc00" for 1024-2047.
func portMasks(lo, hi int) []string {
	var out []string
	for lo <= hi {
		size := 1
		for lo&(size*2-1) == 0 && lo+size*2-1 <= hi && size < 1<<16 {
			size *= 2
		}
		if size == 1 {
			out = append(out, itoa(lo))
		} else {
			out = append(out, fmt.Sprintf("%#x/%#x", lo, 0xffff&^(size-1)))
		}
		lo += size
	}
	return out
}

// prefixString is p as OVS prints a masked address: the bare address
// for a host prefix.
func prefixString(p netip.Prefix) string {
	p = p.Masked()
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// hex is a register value as OVS prints it.
func hex(i int) string { return "0x" + strconv.FormatInt(int64(i), 16) }
