package secgroup

import (
	"context"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// sample is a host with every kind of port and rule: a stateful web
// server with an address pair and IPv6, a client in two groups, a
// stateless port, one without port security, one not plugged yet, and
// one with a broken MAC.
func sample() ([]Port, map[string]Group, Members) {
	pfx := netip.MustParsePrefix
	ip := netip.MustParseAddr
	groups := map[string]Group{
		"default": {ID: "default", Stateful: true, Rules: []Rule{
			{Direction: "egress", EtherType: "IPv4"},
			{Direction: "egress", EtherType: "IPv6"},
			{Direction: "ingress", EtherType: "IPv4", RemoteGroup: "default"},
			{Direction: "ingress", EtherType: "IPv6", RemoteGroup: "default"},
		}},
		"web": {ID: "web", Stateful: true, Rules: []Rule{
			{Direction: "ingress", Protocol: "tcp", PortMin: 80, PortMax: 80},
			{Direction: "ingress", Protocol: "tcp", PortMin: 8000, PortMax: 8080, RemoteIP: pfx("192.0.2.0/24")},
			{Direction: "ingress", Protocol: "6", PortMin: 443, PortMax: 443, RemoteGroup: "clients"},
			{Direction: "ingress", Protocol: "tcp", PortMin: 440, PortMax: 450, RemoteGroup: "clients"},
			{Direction: "ingress", Protocol: "icmp", PortMin: 8, PortMax: Any},
			{Direction: "ingress", EtherType: "IPv6", Protocol: "icmp", PortMin: 128, PortMax: 0},
			{Direction: "ingress", EtherType: "IPv6", Protocol: "udp", PortMin: 1, PortMax: 65535, RemoteIP: pfx("2001:db8::/32")},
			{Direction: "ingress", Protocol: "gre"},
			{Direction: "ingress", Protocol: "icmp", PortMin: Any, PortMax: Any, RemoteGroup: "clients"},
			{Direction: "ingress", Protocol: "ip"},                                    // any protocol
			{Direction: "ingress", Protocol: "bogus"},                                 // left out
			{Direction: "ingress", EtherType: "IPv4", Protocol: "icmpv6"},             // left out
			{Direction: "ingress", EtherType: "IPv4", RemoteIP: pfx("2001:db8::/32")}, // left out
		}},
		"clients": {ID: "clients", Stateful: true, Rules: []Rule{
			{Direction: "egress", Protocol: "tcp", PortMin: 443, PortMax: 443},
			{Direction: "egress", Protocol: "udp", PortMin: 53, PortMax: 53, RemoteIP: pfx("10.0.0.0/8")},
			{Direction: "egress", Protocol: "sctp", PortMin: 1024, PortMax: 2047},
		}},
		"cold": {ID: "cold", Stateful: false, Rules: []Rule{
			{Direction: "ingress", Protocol: "udp", PortMin: 5000, PortMax: 5001},
			{Direction: "egress", Protocol: "udp"},
			{Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteGroup: "clients"},
		}},
	}
	members := Members{
		"default": {ip("10.0.0.5"), ip("10.0.0.6"), ip("2001:db8::5")},
		"clients": {ip("10.0.0.6"), ip("10.0.1.9"), ip("10.0.0.6")},
	}
	ports := []Port{
		{ID: "p-web", OFPort: 5, VLAN: 3, MAC: "FA:16:3E:00:00:05",
			IPs:    []netip.Addr{ip("10.0.0.5"), ip("2001:db8::5")},
			Pairs:  []Pair{{Prefix: pfx("10.0.0.100/32")}, {MAC: "fa:16:3e:00:00:aa", Prefix: pfx("10.0.9.0/24")}},
			Groups: []string{"default", "web"}, PortSecurity: true},
		{ID: "p-client", OFPort: 6, VLAN: 3, MAC: "fa:16:3e:00:00:06", IPs: []netip.Addr{ip("10.0.0.6")},
			Groups: []string{"default", "clients", "missing"}, PortSecurity: true},
		{ID: "p-cold", OFPort: 7, VLAN: 4, MAC: "fa:16:3e:00:00:07", IPs: []netip.Addr{ip("10.0.1.7")},
			Groups: []string{"cold"}, PortSecurity: true},
		{ID: "p-open", OFPort: 8, VLAN: 3, MAC: "fa:16:3e:00:00:08", IPs: []netip.Addr{ip("10.0.0.8")}},
		{ID: "p-unplugged", OFPort: 0, VLAN: 3, MAC: "fa:16:3e:00:00:09", PortSecurity: true},
		{ID: "p-broken", OFPort: 10, VLAN: 3, MAC: "not-a-mac", PortSecurity: true},
	}
	return ports, groups, members
}

func format(flows []ovs.Flow) string {
	var b strings.Builder
	for _, f := range flows {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// The sample's flows, line by line in testdata/flows.golden (go test
// -update rewrites it).
func TestFlowsGolden(t *testing.T) {
	got := format(Flows(sample()))
	path := filepath.Join("testdata", "flows.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("flows differ from %s (go test -update to accept):\n%s", path, diff(string(want), got))
	}
}

// diff lists the lines only in want (-) and only in got (+).
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// Every flow is written as OVS prints it: ovs-ofctl parses and prints
// each the same (so Sync compares without a parse and an operator's
// dump-flows reads like the code).
func TestFlowsCanonical(t *testing.T) {
	testenv.LookPath(t, "ovs-ofctl", "openvswitch-switch")
	ports, groups, members := sample()
	flows := Flows(ports, groups, members)
	flows = append(flows, Flows(benchInput(20, 10))...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	of := &ovs.OpenFlow{Run: ovs.Exec()}
	canon, err := of.Canonical(ctx, flows)
	if err != nil {
		t.Fatal(err)
	}
	for i := range flows {
		if canon[i] != flows[i] {
			t.Errorf("written %s\nOVS form %s", flows[i], canon[i])
		}
	}
}

// Equal arguments in another order give the same flows.
func TestFlowsDeterministic(t *testing.T) {
	ports, groups, members := sample()
	want := format(Flows(ports, groups, members))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
		m := Members{}
		for k, v := range members {
			v = slices.Clone(v)
			r.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
			m[k] = v
		}
		if got := format(Flows(ports, groups, m)); got != want {
			t.Fatalf("another order, other flows:\n%s", diff(want, got))
		}
	}
}

// No two flows share table, priority and match (Sync would refuse them),
// and a port's flows are gone with the port.
func TestFlowsUnique(t *testing.T) {
	ports, groups, members := sample()
	all := Flows(ports, groups, members)
	seen := map[flowKey]bool{}
	for _, f := range all {
		k := flowKey{f.Table, f.Priority, f.Match}
		if seen[k] {
			t.Errorf("two flows %s", f)
		}
		seen[k] = true
	}
	for i, p := range ports {
		rest := slices.Delete(slices.Clone(ports), i, i+1)
		fewer := Flows(rest, groups, members)
		if p.OFPort <= 0 {
			if len(fewer) != len(all) {
				t.Errorf("unplugged port %s has flows", p.ID)
			}
			continue
		}
		if len(fewer) >= len(all) {
			t.Errorf("without port %s: %d flows, with it %d", p.ID, len(fewer), len(all))
		}
		for _, f := range fewer {
			if !slices.Contains(all, f) {
				t.Errorf("without port %s a new flow %s", p.ID, f)
			}
		}
	}
	if got := len(Flows(nil, nil, nil)); got != 15 {
		t.Errorf("no ports: %d flows, want the 15 of the skeleton", got)
	}
}

func TestPortMasks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi int
		want   string
	}{
		{80, 80, "80"},
		{16, 23, "0x10/0xfff8"},
		{1024, 2047, "0x400/0xfc00"},
		{8000, 8080, "0x1f40/0xffc0 0x1f80/0xfff0 8080"},
		{40, 105, "0x28/0xfff8 0x30/0xfff0 0x40/0xffe0 0x60/0xfff8 0x68/0xfffe"},
		{1, 65535, "1 0x2/0xfffe 0x4/0xfffc 0x8/0xfff8 0x10/0xfff0 0x20/0xffe0 0x40/0xffc0 0x80/0xff80 0x100/0xff00 0x200/0xfe00 0x400/0xfc00 0x800/0xf800 0x1000/0xf000 0x2000/0xe000 0x4000/0xc000 0x8000/0x8000"},
		{65535, 65535, "65535"},
	} {
		if got := strings.Join(portMasks(tc.lo, tc.hi), " "); got != tc.want {
			t.Errorf("%d-%d: %s, want %s", tc.lo, tc.hi, got, tc.want)
		}
		// Each port in and around the range is covered exactly when inside.
		masks := portMasks(tc.lo, tc.hi)
		for port := max(tc.lo-3, 0); port <= min(tc.hi+3, 65535); port++ {
			n := 0
			for _, m := range masks {
				if covers(m, port) {
					n++
				}
			}
			if in := port >= tc.lo && port <= tc.hi; (n == 1) != in || n > 1 {
				t.Errorf("%d-%d: port %d covered %d times", tc.lo, tc.hi, port, n)
			}
		}
	}
}

func covers(m string, port int) bool {
	var v, mask int
	if s, ms, ok := strings.Cut(m, "/"); ok {
		v, mask = parseInt(s), parseInt(ms)
	} else {
		v, mask = parseInt(m), 0xffff
	}
	return port&mask == v
}

func parseInt(s string) int {
	n := 0
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		for _, c := range h {
			n = n*16 + strings.IndexRune("0123456789abcdef", c)
		}
		return n
	}
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSplit(t *testing.T) {
	got := split([]interval{{80, 80, 1}, {0, 65535, 2}, {443, 443, 1}, {440, 450, 3}, {451, 460, 3}})
	want := []segment{
		{0, 79, []uint32{2}}, {80, 80, []uint32{1, 2}}, {81, 439, []uint32{2}},
		{440, 442, []uint32{2, 3}}, {443, 443, []uint32{1, 2, 3}}, {444, 460, []uint32{2, 3}}, {461, 65535, []uint32{2}},
	}
	if !slices.EqualFunc(got, want, func(a, b segment) bool { return a.lo == b.lo && a.hi == b.hi && slices.Equal(a.ids, b.ids) }) {
		t.Errorf("split:\n got %v\nwant %v", got, want)
	}
	if got := split([]interval{{22, 22, 7}, {100, 200, 7}}); len(got) != 2 || got[0].hi != 22 || got[1].lo != 100 {
		t.Errorf("gap not left out: %v", got)
	}
}

// Rules as Neutron normalises them: protocol names and numbers, IPv6
// ICMP, port ranges, ICMP type and code, priorities.
func TestNormalise(t *testing.T) {
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name  string
		rule  Rule
		match string // for port 5, a new connection; "" when invalid
		prio  int
	}{
		{"any", Rule{Direction: "ingress"}, "ct_state=+new-est,ip,reg5=0x5", 74},
		{"any IPv6", Rule{Direction: "egress", EtherType: "IPv6"}, "ct_state=+new-est,ipv6,reg5=0x5", 74},
		{"ip is any", Rule{Direction: "ingress", Protocol: "ip"}, "ct_state=+new-est,ip,reg5=0x5", 74},
		{"0 is any", Rule{Direction: "ingress", Protocol: "0"}, "ct_state=+new-est,ip,reg5=0x5", 74},
		{"tcp by number", Rule{Direction: "ingress", Protocol: "6", PortMin: 22, PortMax: 22}, "ct_state=+new-est,tcp,reg5=0x5,tp_dst=22", 77},
		{"TCP upper case", Rule{Direction: "ingress", Protocol: "TCP"}, "ct_state=+new-est,tcp,reg5=0x5", 77},
		{"whole range is none", Rule{Direction: "ingress", Protocol: "udp", PortMin: 1, PortMax: 65535}, "ct_state=+new-est,udp,reg5=0x5", 77},
		{"one port given", Rule{Direction: "ingress", Protocol: "udp", PortMin: 53}, "ct_state=+new-est,udp,reg5=0x5,tp_dst=53", 77},
		{"udp6", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "udp", PortMin: 53, PortMax: 53}, "ct_state=+new-est,udp6,reg5=0x5,tp_dst=53", 77},
		{"sctp6", Rule{Direction: "ingress", EtherType: "ipv6", Protocol: "132"}, "ct_state=+new-est,sctp6,reg5=0x5", 77},
		{"icmp any", Rule{Direction: "ingress", Protocol: "icmp", PortMin: Any, PortMax: Any}, "ct_state=+new-est,icmp,reg5=0x5", 75},
		{"icmp echo reply", Rule{Direction: "ingress", Protocol: "icmp"}, "ct_state=+new-est,icmp,reg5=0x5,icmp_type=0,icmp_code=0", 77},
		{"icmp type", Rule{Direction: "ingress", Protocol: "1", PortMin: 8, PortMax: Any}, "ct_state=+new-est,icmp,reg5=0x5,icmp_type=8", 76},
		{"icmp type and code", Rule{Direction: "ingress", Protocol: "icmp", PortMin: 3, PortMax: 4}, "ct_state=+new-est,icmp,reg5=0x5,icmp_type=3,icmp_code=4", 77},
		{"icmp with IPv6", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "icmp", PortMin: Any}, "ct_state=+new-est,icmp6,reg5=0x5", 75},
		{"1 with IPv6", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "1", PortMin: 128, PortMax: Any}, "ct_state=+new-est,icmp6,reg5=0x5,icmp_type=128", 76},
		{"icmpv6", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "icmpv6", PortMin: Any}, "ct_state=+new-est,icmp6,reg5=0x5", 75},
		{"ipv6-icmp", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "ipv6-icmp", PortMin: Any}, "ct_state=+new-est,icmp6,reg5=0x5", 75},
		{"gre", Rule{Direction: "ingress", Protocol: "gre"}, "ct_state=+new-est,ip,reg5=0x5,nw_proto=47", 77},
		{"dccp ports ignored", Rule{Direction: "ingress", Protocol: "dccp", PortMin: 5, PortMax: 6}, "ct_state=+new-est,ip,reg5=0x5,nw_proto=33", 77},
		{"ipv6-route", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "ipv6-route"}, "ct_state=+new-est,ipv6,reg5=0x5,nw_proto=43", 77},
		{"ingress prefix", Rule{Direction: "ingress", RemoteIP: pfx("10.1.2.3/16")}, "ct_state=+new-est,ip,reg5=0x5,nw_src=10.1.0.0/16", 74},
		{"egress host", Rule{Direction: "egress", RemoteIP: pfx("10.1.2.3/32")}, "ct_state=+new-est,ip,reg5=0x5,nw_dst=10.1.2.3", 74},
		{"0.0.0.0/0 is any", Rule{Direction: "egress", RemoteIP: pfx("0.0.0.0/0")}, "ct_state=+new-est,ip,reg5=0x5", 74},
		{"IPv6 prefix", Rule{Direction: "ingress", EtherType: "IPv6", RemoteIP: pfx("2001:db8::1/64")}, "ct_state=+new-est,ipv6,reg5=0x5,ipv6_src=2001:db8::/64", 74},
		{"remote group", Rule{Direction: "ingress", RemoteGroup: "g"}, "ct_state=+new-est,ip,reg5=0x5", 70},
		{"remote group tcp", Rule{Direction: "ingress", Protocol: "tcp", RemoteGroup: "g"}, "ct_state=+new-est,tcp,reg5=0x5", 73},
		{"bad direction", Rule{Direction: "in"}, "", 0},
		{"bad ethertype", Rule{Direction: "ingress", EtherType: "IPX"}, "", 0},
		{"bad protocol", Rule{Direction: "ingress", Protocol: "tcpp"}, "", 0},
		{"protocol 256", Rule{Direction: "ingress", Protocol: "256"}, "", 0},
		{"icmpv6 with IPv4", Rule{Direction: "ingress", Protocol: "icmpv6"}, "", 0},
		{"58 with IPv4", Rule{Direction: "ingress", Protocol: "58"}, "", 0},
		{"reversed ports", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 90, PortMax: 80}, "", 0},
		{"port 65536", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 1, PortMax: 65536}, "", 0},
		{"icmp type 256", Rule{Direction: "ingress", Protocol: "icmp", PortMin: 256}, "", 0},
		{"prefix of the other family", Rule{Direction: "ingress", EtherType: "IPv6", RemoteIP: pfx("10.0.0.0/8")}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := normalise(tc.rule)
			if err := tc.rule.Check(); (err == nil) != (tc.match != "") {
				t.Fatalf("Check: %v", err)
			}
			if tc.match == "" {
				if err == nil {
					t.Fatalf("accepted as %+v", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := n.baseMatch(5, newConn); got != tc.match && !strings.HasPrefix(tc.match, got+",tp_dst") {
				t.Errorf("match %q, want %q", got, tc.match)
			}
			if got := strings.Join(n.matches(5, newConn), " "); got != tc.match {
				t.Errorf("matches %q, want %q", got, tc.match)
			}
			if got := n.priority(); got != tc.prio {
				t.Errorf("priority %d, want %d", got, tc.prio)
			}
		})
	}
}

func TestLinkLocal(t *testing.T) {
	if got := linkLocal("fa:16:3e:00:00:05").String(); got != "fe80::f816:3eff:fe00:5" {
		t.Errorf("link-local %s", got)
	}
}
