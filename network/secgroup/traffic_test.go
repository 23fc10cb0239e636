package secgroup_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/gostack/gostack/network/secgroup"
)

// Rules used below.
var (
	egress4  = secgroup.Rule{Direction: "egress", EtherType: "IPv4"}
	egress6  = secgroup.Rule{Direction: "egress", EtherType: "IPv6"}
	defaults = []secgroup.Rule{egress4, egress6} // every new group's
)

func tcpIn(port int) secgroup.Rule {
	return secgroup.Rule{Direction: "ingress", Protocol: "tcp", PortMin: port, PortMax: port}
}

func group(id string, rules ...secgroup.Rule) secgroup.Group {
	return secgroup.Group{ID: id, Stateful: true, Rules: rules}
}

func groups(gs ...secgroup.Group) map[string]secgroup.Group {
	m := map[string]secgroup.Group{}
	for _, g := range gs {
		m[g.ID] = g
	}
	return m
}

func at(a netip.Addr, port int) netip.AddrPort { return netip.AddrPortFrom(a, uint16(port)) }

var none netip.Addr

// The firewall on a real userspace Open vSwitch with conntrack, three
// "VMs" on one network: each case installs its ports and groups with
// Sync and checks real traffic.
func TestFirewall(t *testing.T) {
	l := newLab(t, "vm1", "vm2", "vm3")
	vm1, vm2, vm3 := l.vms["vm1"], l.vms["vm2"], l.vms["vm3"]

	t.Run("ingress denied by default", func(t *testing.T) {
		l.t = t
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("sg"), vm3.port("sg")}, groups(group("sg", defaults...)), nil)
		l.tcp(vm1, none, at(vm2.ip4, 8080), false)
		l.tcp(vm2, none, at(vm1.ip4, 8080), false)
		l.ping(vm1, vm2.ip4, false)
		l.tcp(vm1, none, at(vm2.ip6, 8080), false)
	})

	t.Run("tcp port rule; established replies", func(t *testing.T) {
		l.t = t
		// vm2 has no egress rule at all: its answers pass as replies of
		// connections vm1 opened (and vm1 has no ingress rule).
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("web")},
			groups(group("sg", defaults...), group("web", tcpIn(8080))), nil)
		l.tcp(vm1, none, at(vm2.ip4, 8080), true)
		l.tcp(vm1, none, at(vm2.ip4, 8081), false)
		l.tcp(vm2, none, at(vm1.ip4, 8080), false) // no egress rule
	})

	t.Run("protocol and ICMP type", func(t *testing.T) {
		l.t = t
		echoOnly := secgroup.Rule{Direction: "ingress", Protocol: "icmp", PortMin: 8, PortMax: secgroup.Any}
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("ping")},
			groups(group("sg", defaults...), group("ping", append([]secgroup.Rule{echoOnly}, defaults...)...)), nil)
		l.ping(vm1, vm2.ip4, true)
		l.tcp(vm1, none, at(vm2.ip4, 8080), false)
		timestampOnly := secgroup.Rule{Direction: "ingress", Protocol: "1", PortMin: 13, PortMax: 0}
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("ping")},
			groups(group("sg", defaults...), group("ping", append([]secgroup.Rule{timestampOnly}, defaults...)...)), nil)
		l.ping(vm1, vm2.ip4, false)
		// Protocol by number: TCP is 6.
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("tcp")},
			groups(group("sg", defaults...), group("tcp", secgroup.Rule{Direction: "ingress", Protocol: "6"})), nil)
		l.tcp(vm1, none, at(vm2.ip4, 9001), true)
		l.ping(vm1, vm2.ip4, false)
	})

	t.Run("remote prefix", func(t *testing.T) {
		l.t = t
		r := tcpIn(9000)
		r.RemoteIP = netip.PrefixFrom(vm3.ip4, 32)
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("from3"), vm3.port("sg")},
			groups(group("sg", defaults...), group("from3", append([]secgroup.Rule{r}, defaults...)...)), nil)
		l.tcp(vm3, none, at(vm2.ip4, 9000), true)
		l.tcp(vm1, none, at(vm2.ip4, 9000), false)
	})

	t.Run("remote group", func(t *testing.T) {
		l.t = t
		r := tcpIn(9001)
		r.RemoteGroup = "clients"
		ports := []secgroup.Port{vm1.port("sg", "clients"), vm2.port("server"), vm3.port("sg")}
		gs := groups(group("sg", defaults...), group("clients", defaults...), group("server", append([]secgroup.Rule{r}, defaults...)...))
		l.apply(ports, gs, secgroup.Members{"clients": {vm1.ip4, vm1.ip6}})
		l.tcp(vm1, none, at(vm2.ip4, 9001), true)
		l.tcp(vm3, none, at(vm2.ip4, 9001), false)
		// vm3 joins the group, vm1 leaves it: only the members change.
		ports = []secgroup.Port{vm1.port("sg"), vm2.port("server"), vm3.port("sg", "clients")}
		l.apply(ports, gs, secgroup.Members{"clients": {vm3.ip4}})
		l.tcp(vm3, none, at(vm2.ip4, 9001), true)
		l.tcp(vm1, none, at(vm2.ip4, 9001), false)
		// Neutron's default group: members reach each other, others not.
		def := group("default", egress4, egress6,
			secgroup.Rule{Direction: "ingress", EtherType: "IPv4", RemoteGroup: "default"},
			secgroup.Rule{Direction: "ingress", EtherType: "IPv6", RemoteGroup: "default"})
		l.apply([]secgroup.Port{vm1.port("default"), vm2.port("default"), vm3.port("sg")}, groups(def, group("sg", defaults...)),
			secgroup.Members{"default": {vm1.ip4, vm1.ip6, vm2.ip4, vm2.ip6}})
		l.tcp(vm1, none, at(vm2.ip4, 8081), true)
		l.tcp(vm2, none, at(vm1.ip6, 8080), true)
		l.ping(vm2, vm1.ip4, true)
		l.tcp(vm3, none, at(vm2.ip4, 8081), false)
	})

	t.Run("rule changes and open connections", func(t *testing.T) {
		l.t = t
		ports := []secgroup.Port{vm1.port("sg"), vm2.port("web")}
		l.apply(ports, groups(group("sg", defaults...), group("web", tcpIn(8080))), nil)
		c, err := l.open(vm1, none, at(vm2.ip4, 8080))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l.tcp(vm1, none, at(vm2.ip4, 8081), false)
		// A rule added: new connections it allows pass, the open one
		// goes on.
		l.apply(ports, groups(group("sg", defaults...), group("web", tcpIn(8080), tcpIn(8081))), nil)
		l.tcp(vm1, none, at(vm2.ip4, 8081), true)
		if err := echo(c, "still there", deniedAfter); err != nil {
			t.Errorf("the connection open before the rule was added: %v", err)
		}
		// The rule of the open connection removed: it is cut (Neutron's
		// ct_mark), and no new one passes.
		l.apply(ports, groups(group("sg", defaults...), group("web", tcpIn(8081))), nil)
		if err := echo(c, "cut?", deniedAfter); err == nil {
			t.Errorf("the connection whose rule was removed still works")
		}
		l.tcp(vm1, none, at(vm2.ip4, 8080), false)
		l.tcp(vm1, none, at(vm2.ip4, 8081), true)
	})

	t.Run("anti-spoofing", func(t *testing.T) {
		l.t = t
		udpIn := secgroup.Rule{Direction: "ingress", Protocol: "udp", PortMin: 7000, PortMax: 7000}
		p1 := vm1.port("sg")
		pairIP, otherIP := netip.MustParseAddr("10.0.0.50"), netip.MustParseAddr("10.0.0.51")
		const pairMAC = "fa:16:3e:00:00:aa"
		p1.Pairs = []secgroup.Pair{{Prefix: netip.PrefixFrom(pairIP, 32)}, {MAC: pairMAC, Prefix: netip.MustParsePrefix("10.0.0.51/32")}}
		l.apply([]secgroup.Port{p1, vm2.port("udp", "web"), vm3.port("sg")},
			groups(group("sg", defaults...), group("udp", udpIn), group("web", tcpIn(8080))), nil)
		for i, tc := range []struct {
			name     string
			srcMAC   string
			src      netip.Addr
			received bool
		}{
			{"its own MAC and IP", vm1.mac, vm1.ip4, true},
			{"spoofed source MAC", "fa:16:3e:00:00:99", vm1.ip4, false},
			{"another port's MAC", vm3.mac, vm1.ip4, false},
			{"spoofed source IP", vm1.mac, netip.MustParseAddr("10.0.0.99"), false},
			{"another port's IP", vm1.mac, vm3.ip4, false},
			{"allowed address pair", vm1.mac, pairIP, true},
			{"pair with its own MAC", pairMAC, otherIP, true},
			{"pair IP with the port's MAC", vm1.mac, otherIP, false},
		} {
			marker := fmt.Sprintf("spoof-%d", i)
			got := l.receives(vm1, vm2, udp4(tc.srcMAC, vm2.mac, tc.src, vm2.ip4, 4000+i, 7000, marker), contains(marker))
			if got != tc.received {
				t.Errorf("%s (%s, %s): received %v, want %v", tc.name, tc.srcMAC, tc.src, got, tc.received)
			}
		}
		// A real connection from the pair's address.
		addPair(t, vm1, pairIP)
		l.tcp(vm1, pairIP, at(vm2.ip4, 8080), true)
		// ARP: vm1 may announce its addresses, not another port's.
		if !l.receives(vm1, vm2, garp(vm1.mac, vm1.mac, vm1.ip4), isARP(vm1.mac, vm1.ip4)) {
			t.Errorf("vm1's gratuitous ARP for its own address was dropped")
		}
		if !l.receives(vm1, vm2, garp(vm1.mac, vm1.mac, pairIP), isARP(vm1.mac, pairIP)) {
			t.Errorf("vm1's gratuitous ARP for its pair's address was dropped")
		}
		if l.receives(vm1, vm2, garp(vm1.mac, vm1.mac, vm3.ip4), isARP(vm1.mac, vm3.ip4)) {
			t.Errorf("vm1 announced vm3's address")
		}
		if l.receives(vm1, vm2, garp(vm1.mac, vm3.mac, vm1.ip4), isARP(vm3.mac, vm1.ip4)) {
			t.Errorf("vm1 announced its own address at vm3's MAC (ARP sender MAC not its own)")
		}
	})

	t.Run("DHCP and router advertisements", func(t *testing.T) {
		l.t = t
		// vm1 has no rule at all; vm2 takes any UDP.
		anyUDP := secgroup.Rule{Direction: "ingress", Protocol: "udp"}
		l.apply([]secgroup.Port{vm1.port("nothing"), vm2.port("udp")},
			groups(group("nothing"), group("udp", anyUDP, secgroup.Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "ipv6-icmp", PortMin: secgroup.Any})), nil)
		zero, all := netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255")
		if !l.receives(vm1, vm2, udp4(vm1.mac, broadcast, zero, all, 68, 67, "dhcp-discover"), contains("dhcp-discover")) {
			t.Errorf("a DHCP request (0.0.0.0:68 → 255.255.255.255:67) was dropped")
		}
		if l.receives(vm1, vm2, udp4(vm1.mac, broadcast, zero, all, 1068, 67, "not-dhcp"), contains("not-dhcp")) {
			t.Errorf("a broadcast from 0.0.0.0 that is no DHCP request passed")
		}
		if !l.receives(vm1, vm2, udp4(vm1.mac, vm2.mac, vm1.ip4, vm2.ip4, 68, 67, "dhcp-request"), contains("dhcp-request")) {
			t.Errorf("a unicast DHCP request was dropped")
		}
		if l.receives(vm1, vm2, udp4(vm1.mac, vm2.mac, vm1.ip4, vm2.ip4, 67, 68, "dhcp-offer"), contains("dhcp-offer")) {
			t.Errorf("a DHCP server reply (sport 67) from vm1 passed")
		}
		if l.receives(vm1, vm2, udp4(vm1.mac, vm2.mac, vm1.ip4, vm2.ip4, 1067, 68, "udp-68"), contains("udp-68")) {
			t.Errorf("vm1 has no egress rule, yet UDP to port 68 passed")
		}
		// With an egress rule, the same packet passes; a DHCP reply
		// still does not.
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("udp")},
			groups(group("sg", defaults...), group("udp", anyUDP)), nil)
		if !l.receives(vm1, vm2, udp4(vm1.mac, vm2.mac, vm1.ip4, vm2.ip4, 1067, 68, "udp-68b"), contains("udp-68b")) {
			t.Errorf("UDP 1067 → 68 allowed by the rules was dropped")
		}
		if l.receives(vm1, vm2, udp4(vm1.mac, vm2.mac, vm1.ip4, vm2.ip4, 67, 68, "dhcp-offer-b"), contains("dhcp-offer-b")) {
			t.Errorf("a DHCP server reply (sport 67) from vm1 passed with an egress rule")
		}
		allNodes := netip.MustParseAddr("ff02::1")
		ll := netip.MustParseAddr("fe80::f816:3eff:fe00:1") // vm1's link-local
		if l.receives(vm1, vm2, icmp6(vm1.mac, "33:33:00:00:00:01", ll, allNodes, 134, "router-adv"), contains("router-adv")) {
			t.Errorf("a router advertisement from vm1 passed")
		}
		if !l.receives(vm1, vm2, icmp6(vm1.mac, "33:33:00:00:00:01", ll, allNodes, 133, "router-sol"), contains("router-sol")) {
			t.Errorf("a router solicitation from vm1 was dropped")
		}
	})

	t.Run("port security off", func(t *testing.T) {
		l.t = t
		open := vm3.port()
		open.PortSecurity = false
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("web"), open},
			groups(group("sg", defaults...), group("web", append([]secgroup.Rule{tcpIn(8080),
				{Direction: "ingress", Protocol: "udp", PortMin: 7000, PortMax: 7000}}, defaults...)...)), nil)
		l.tcp(vm1, none, at(vm3.ip4, 9000), true) // no rule at vm3
		l.tcp(vm2, none, at(vm3.ip6, 9001), true)
		l.tcp(vm3, none, at(vm1.ip4, 9000), false) // vm1's ingress still filters
		l.tcp(vm3, none, at(vm2.ip4, 8080), true)
		l.tcp(vm3, none, at(vm2.ip4, 8081), false) // vm2's ingress still filters, on this host too
		l.ping(vm1, vm3.ip4, true)
		if !l.receives(vm3, vm2, udp4("fa:16:3e:00:00:99", vm2.mac, netip.MustParseAddr("10.0.0.99"), vm2.ip4, 4000, 7000, "no-antispoof"), contains("no-antispoof")) {
			t.Errorf("vm3 (no port security) could not send from a foreign MAC and IP")
		}
	})

	t.Run("stateless group", func(t *testing.T) {
		l.t = t
		stateless := func(rules ...secgroup.Rule) secgroup.Group {
			return secgroup.Group{ID: "sl", Rules: rules}
		}
		ports := []secgroup.Port{vm1.port("sg"), vm2.port("sl")}
		sg := group("sg", append([]secgroup.Rule{tcpIn(9000)}, defaults...)...)
		// Ingress 8080 alone: vm2's answers have no egress rule.
		l.apply(ports, groups(sg, stateless(tcpIn(8080))), nil)
		l.tcp(vm1, none, at(vm2.ip4, 8080), false)
		// With egress TCP: connections in pass both ways (and vm1, which
		// is stateful and has no ingress rule for them, gets vm2's
		// answers as replies).
		tcpOut := secgroup.Rule{Direction: "egress", Protocol: "tcp"}
		l.apply(ports, groups(sg, stateless(tcpIn(8080), tcpOut)), nil)
		l.tcp(vm1, none, at(vm2.ip4, 8080), true)
		l.tcp(vm1, none, at(vm2.ip4, 8081), false)
		// Out of vm2: the answers need an ingress rule of their own.
		l.tcp(vm2, none, at(vm1.ip4, 9000), false)
		answers := secgroup.Rule{Direction: "ingress", Protocol: "tcp", RemoteIP: netip.MustParsePrefix("10.0.0.0/24")}
		l.apply(ports, groups(sg, stateless(tcpIn(8080), tcpOut, answers)), nil)
		l.tcp(vm2, none, at(vm1.ip4, 9000), true)
		l.tcp(vm2, none, at(vm1.ip4, 9001), false) // vm1's own rules
	})

	t.Run("IPv6", func(t *testing.T) {
		l.t = t
		in6 := tcpIn(8080)
		in6.EtherType = "IPv6"
		echo6 := secgroup.Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "ipv6-icmp", PortMin: 128, PortMax: secgroup.Any}
		l.apply([]secgroup.Port{vm1.port("sg"), vm2.port("web6")},
			groups(group("sg", defaults...), group("web6", append([]secgroup.Rule{in6, echo6}, defaults...)...)), nil)
		l.tcp(vm1, none, at(vm2.ip6, 8080), true)
		l.tcp(vm1, none, at(vm2.ip6, 8081), false)
		l.tcp(vm1, none, at(vm2.ip4, 8080), false) // the rule is IPv6's
		l.ping(vm1, vm2.ip6, true)
		l.ping(vm2, vm1.ip6, false)
	})
}
