package secgroup

import (
	"net/netip"
	"testing"
)

// benchInput is one port in a group of n ingress TCP rules, each a port
// range and the remote group "peers" of m members (10.x.y.z).
func benchInput(n, m int) ([]Port, map[string]Group, Members) {
	g := Group{ID: "app", Stateful: true}
	for i := range n {
		lo := 1000 + 10*i
		g.Rules = append(g.Rules, Rule{Direction: "ingress", Protocol: "tcp", PortMin: lo, PortMax: lo + i%10, RemoteGroup: "peers"})
	}
	var peers []netip.Addr
	for i := range m {
		peers = append(peers, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	ports := []Port{{ID: "p1", OFPort: 1, VLAN: 1, MAC: "fa:16:3e:00:00:01", IPs: peers[:1], Groups: []string{"app"}, PortSecurity: true}}
	return ports, map[string]Group{"app": g}, Members{"peers": peers}
}

// BenchmarkFlows: 1,000 rules with a remote group of 200 members.
func BenchmarkFlows(b *testing.B) {
	ports, groups, members := benchInput(1000, 200)
	var n int
	for b.Loop() {
		n = len(Flows(ports, groups, members))
	}
	b.ReportMetric(float64(n), "flows")
}

// The flow count grows with rules plus members, not their product.
func TestFlowCount(t *testing.T) {
	for _, tc := range []struct{ rules, members int }{{1000, 200}, {1000, 400}, {2000, 200}} {
		ports, groups, members := benchInput(tc.rules, tc.members)
		n := len(Flows(ports, groups, members))
		t.Logf("%d rules, %d members: %d flows", tc.rules, tc.members, n)
		if limit := 3*(3*tc.rules+tc.members) + 100; n > limit {
			t.Errorf("%d rules, %d members: %d flows, more than %d", tc.rules, tc.members, n, limit)
		}
	}
}
