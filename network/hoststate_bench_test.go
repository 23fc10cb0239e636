package network_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/network"
)

// BenchmarkHostState is an agent's read of its host's state: 1,000
// ports bound to the host and 1,000 of another host on one network, in
// the default security group (whose members are all 2,000 addresses).
func BenchmarkHostState(b *testing.B) {
	e := newEnv(b, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	e.s.Quotas = map[string]int{network.QuotaPort: -1}
	for _, h := range []string{"a", "b"} {
		if _, err := e.s.ReportAgent(e.ctx, network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: h,
			TunnelIP: netip.MustParseAddr(fmt.Sprintf("192.168.0.%d", len(h)+int(h[0])-'a'))}); err != nil {
			b.Fatal(err)
		}
	}
	n := e.network(b, projA, network.Network{Name: "n"})
	e.subnet(b, projA, n.ID, "10.0.0.0/20")
	for i := range 2000 {
		host := []string{"a", "b"}[i%2]
		if _, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, AdminStateUp: true, HostID: host}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		st, err := e.s.HostState(e.ctx, "a")
		if err != nil || len(st.Ports) != 1000 || len(st.Remotes) != 1000 {
			b.Fatalf("%d ports, %d remotes, %v", len(st.Ports), len(st.Remotes), err)
		}
	}
}
