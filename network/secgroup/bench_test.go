package secgroup

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
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

// BenchmarkInstall: the flows of 1,000 rules with a remote group of 200
// members installed on a real (userspace) Open vSwitch by one Sync into
// an empty bridge ("first"), then a member added ("member": the flows
// that change only).
func BenchmarkInstall(b *testing.B) {
	ports, groups, members := benchInput(1000, 200)
	flows := Flows(ports, groups, members)
	o := ovstest.Start(b)
	ctx := context.Background()
	c, err := ovs.Connect(ctx, o.DB)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	if err := c.EnsureBridge(ctx, "br-bench", ovs.BridgeOptions{DatapathType: "netdev", FailMode: "secure",
		Protocols: []string{"OpenFlow10", "OpenFlow15"}}); err != nil {
		b.Fatal(err)
	}
	if err := c.WaitSwitch(ctx); err != nil {
		b.Fatal(err)
	}
	of := o.OpenFlow("br-bench")
	b.Run("first", func(b *testing.B) {
		for range b.N {
			if _, err := of.Sync(ctx, nil, benchOwner, benchMask); err != nil { // empty
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := of.Sync(ctx, flows, benchOwner, benchMask)
			b.StopTimer()
			if err != nil || res.Added != len(flows) {
				b.Fatalf("%+v, %v", res, err)
			}
		}
		b.ReportMetric(float64(len(flows)), "flows")
	})
	b.Run("member", func(b *testing.B) {
		if _, err := of.Sync(ctx, flows, benchOwner, benchMask); err != nil {
			b.Fatal(err)
		}
		more := Members{"peers": append(slices.Clone(members["peers"]), netip.MustParseAddr("10.9.9.9"))}
		next := Flows(ports, groups, more)
		for i := range b.N {
			want := next
			if i%2 == 1 {
				want = flows
			}
			res, err := of.Sync(ctx, want, benchOwner, benchMask)
			if err != nil || res.Added+res.Deleted == 0 || res.Added+res.Deleted > 10 {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})
}

const benchOwner, benchMask = 0x4245 << 48, 0xffff << 48 // "BE"
