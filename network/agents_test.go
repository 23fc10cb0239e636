package network_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

// The agents' side of the store: reports, a host's desired state with
// the other hosts' forwarding entries, and status reports in one batch.
func TestAgentsAndHostState(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			e.s.Now = func() time.Time { return now }
			report := func(host, tip string) network.Agent {
				t.Helper()
				r := network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: host, Start: true}
				if tip != "" {
					r.TunnelIP = netip.MustParseAddr(tip)
				}
				a, err := e.s.ReportAgent(e.ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			a1 := report("h1", "192.168.50.1")
			report("h2", "192.168.50.2")
			report("h3", "") // no VTEP yet: no entries for its ports
			if a1.Configurations["tunneling_ip"] != "192.168.50.1" || !a1.Alive {
				t.Fatalf("agent = %+v", a1)
			}
			// A heartbeat that changes nothing is not in the feed.
			head, _, _ := e.feed.Head(e.ctx)
			report("h1", "192.168.50.1")
			if h2, _, _ := e.feed.Head(e.ctx); h2 != head {
				t.Fatalf("a plain heartbeat went to the feed: head %d → %d", head, h2)
			}
			now = now.Add(2 * time.Minute)
			ags, err := e.s.Agents(e.ctx, 0)
			if err != nil || len(ags) != 3 || ags[0].Alive {
				t.Fatalf("agents = %+v, %v (75 s without a report: dead)", ags, err)
			}

			n := e.network(t, projA, network.Network{Name: "n"})
			e.subnet(t, projA, n.ID, "10.0.0.0/24")
			other := e.network(t, projB, network.Network{Name: "other"})
			e.subnet(t, projB, other.ID, "10.0.0.0/24")
			port := func(v network.Viewer, netID, host string) network.Port {
				t.Helper()
				p, err := e.s.CreatePort(e.ctx, v, network.Port{NetworkID: netID, AdminStateUp: true})
				if err != nil {
					t.Fatal(err)
				}
				if p, err = e.s.UpdatePort(e.ctx, v, p.ID, network.PortUpdate{HostID: &host}); err != nil {
					t.Fatal(err)
				}
				return p
			}
			p1 := port(projA, n.ID, "h1")
			p2 := port(projA, n.ID, "h2")
			port(projA, n.ID, "h3")
			port(projB, other.ID, "h2") // on a network h1 has no port of: not h1's business
			st, err := e.s.HostState(e.ctx, "h1")
			if err != nil {
				t.Fatal(err)
			}
			if st.TunnelIP != netip.MustParseAddr("192.168.50.1") || len(st.Ports) != 1 || st.Ports[0].ID != p1.ID ||
				len(st.Ports[0].FixedIPs) != 1 || len(st.Networks) != 1 || st.Networks[0].Segment != n.Segment || len(st.Subnets) != 1 {
				t.Fatalf("state = %+v", st)
			}
			if len(st.Remotes) != 1 || st.Remotes[0].PortID != p2.ID || st.Remotes[0].TunnelIP != netip.MustParseAddr("192.168.50.2") ||
				st.Remotes[0].MAC != p2.MAC || !slices.Equal(st.Remotes[0].IPs, []netip.Addr{p2.FixedIPs[0].IP}) {
				t.Fatalf("remotes = %+v, want only %s on h2", st.Remotes, p2.ID)
			}
			// The default group of project a, with its four rules, two of
			// them naming the group itself: its members are the addresses
			// of all three of a's ports, on every host.
			if len(st.SecurityGroups) != 1 || st.SecurityGroups[0].Name != "default" || len(st.SecurityGroups[0].Rules) != 4 {
				t.Fatalf("groups = %+v", st.SecurityGroups)
			}
			if m := st.Members[st.SecurityGroups[0].ID]; len(m) != 3 || !slices.Contains(m, netip.PrefixFrom(p2.FixedIPs[0].IP, 32)) {
				t.Fatalf("members = %v", st.Members)
			}
			if head, _, _ := e.feed.Head(e.ctx); st.Revision != head {
				t.Fatalf("revision %d, head %d", st.Revision, head)
			}

			// Statuses in one batch; a port of another host is skipped.
			skipped, err := e.s.SetPortStatuses(e.ctx, "h1", map[string]string{p1.ID: network.Active, p2.ID: network.Active, "nope": network.Active})
			if err != nil || !slices.Equal(skipped, []string{"nope", p2.ID}) && !slices.Equal(skipped, []string{p2.ID, "nope"}) {
				t.Fatalf("skipped %v, %v", skipped, err)
			}
			got, _ := e.s.GetPort(e.ctx, projA, p1.ID)
			if got.Status != network.Active || got.Revision != p1.Revision+1 {
				t.Fatalf("p1 = %s rev %d", got.Status, got.Revision)
			}
			if got, _ := e.s.GetPort(e.ctx, projA, p2.ID); got.Status != network.Down {
				t.Fatalf("p2 = %s: another host's report counted", got.Status)
			}
			head, _, _ = e.feed.Head(e.ctx)
			if _, err := e.s.SetPortStatuses(e.ctx, "h1", map[string]string{p1.ID: network.Active}); err != nil {
				t.Fatal(err)
			}
			if h2, _, _ := e.feed.Head(e.ctx); h2 != head {
				t.Fatal("an unchanged status was written")
			}
			_, err = e.s.SetPortStatuses(e.ctx, "h1", map[string]string{p1.ID: "UP"})
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")

			// Admin state and deletion of agents.
			down := false
			ag, err := e.s.UpdateAgent(e.ctx, a1.ID, network.AgentUpdate{AdminStateUp: &down}, 0)
			if err != nil || ag.AdminStateUp {
				t.Fatalf("update = %+v, %v", ag, err)
			}
			if err := e.s.DeleteAgent(e.ctx, a1.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.GetAgent(e.ctx, a1.ID, 0)
			wantNeutron(t, err, fault.NotFound, "AgentNotFound")
			b, err := e.feed.Since(e.ctx, watch.Query{Area: "network"})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, c := range b.Changes {
				kinds[c.Kind]++
			}
			if kinds["agent"] != 5 { // three creates, an update, a delete
				t.Fatalf("agent changes in the feed: %d", kinds["agent"])
			}
		})
	}
}

// A network with a DHCP subnet is scheduled to the least loaded live
// agent offering DHCP, which gets its DHCP port on request.
func TestDHCPScheduling(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			for _, h := range []string{"h1", "h2"} {
				_, err := e.s.ReportAgent(e.ctx, network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: h,
					Configurations: map[string]any{"dhcp": h == "h2"}})
				if err != nil {
					t.Fatal(err)
				}
			}
			n := e.network(t, projA, network.Network{Name: "n"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			st1, err := e.s.HostState(e.ctx, "h1")
			if err != nil || len(st1.DHCP) != 0 {
				t.Fatalf("h1 offers no DHCP: %+v, %v", st1.DHCP, err)
			}
			st2, err := e.s.HostState(e.ctx, "h2")
			if err != nil || len(st2.DHCP) != 1 || st2.DHCP[0].Port != nil || len(st2.DHCP[0].Subnets) != 1 {
				t.Fatalf("h2's DHCP: %+v, %v", st2.DHCP, err)
			}
			_, err = e.s.EnsureDHCPPort(e.ctx, "h1", n.ID)
			wantNeutron(t, err, fault.Conflict, "Conflict")
			p, err := e.s.EnsureDHCPPort(e.ctx, "h2", n.ID)
			if err != nil || p.DeviceOwner != network.DHCPOwner || p.HostID != "h2" || len(p.FixedIPs) != 1 || p.FixedIPs[0].SubnetID != sub.ID {
				t.Fatalf("DHCP port %+v, %v", p, err)
			}
			again, err := e.s.EnsureDHCPPort(e.ctx, "h2", n.ID)
			if err != nil || again.ID != p.ID {
				t.Fatalf("second ensure: %+v, %v", again, err)
			}
			vm, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, AdminStateUp: true})
			if err != nil {
				t.Fatal(err)
			}
			// A second DHCP subnet: the port gets an address on it too.
			sub2 := e.subnet(t, projA, n.ID, "10.0.1.0/24")
			if p, err = e.s.EnsureDHCPPort(e.ctx, "h2", n.ID); err != nil || len(p.FixedIPs) != 2 {
				t.Fatalf("after a second subnet: %+v, %v", p.FixedIPs, err)
			}
			st2, _ = e.s.HostState(e.ctx, "h2")
			svc := st2.DHCP[0]
			if svc.Port == nil || svc.Port.ID != p.ID || len(svc.Subnets) != 2 || len(svc.Hosts) != 1 || svc.Hosts[0].PortID != vm.ID {
				t.Fatalf("service = %+v", svc)
			}
			_ = sub2
			// The DHCP port does not keep the network from being deleted.
			if err := e.s.DeletePort(e.ctx, projA, vm.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.s.DeleteNetwork(e.ctx, projA, n.ID); err != nil {
				t.Fatal(err)
			}
			if st2, _ = e.s.HostState(e.ctx, "h2"); len(st2.DHCP) != 0 {
				t.Fatalf("DHCP of a deleted network: %+v", st2.DHCP)
			}
		})
	}
}

// A router is scheduled to the least loaded live agent offering l3, its
// ports are bound to that host, and that host's state has the router
// with its gateway, interfaces and floating IPs, whose statuses it
// reports.
func TestRouterScheduling(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			for _, h := range []string{"compute", "netnode"} {
				_, err := e.s.ReportAgent(e.ctx, network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: h,
					Configurations: map[string]any{"l3": h == "netnode"}})
				if err != nil {
					t.Fatal(err)
				}
			}
			ext := e.network(t, admin, network.Network{Name: "public", External: true, Type: network.Flat, Physical: "public"})
			e.subnet(t, admin, ext.ID, "172.24.4.0/24")
			n := e.network(t, projA, network.Network{Name: "n"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			r, err := e.s.CreateRouter(e.ctx, projA, network.Router{ProjectID: "a", Name: "r", AdminStateUp: true},
				&network.GatewaySpec{NetworkID: ext.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: sub.ID}); err != nil {
				t.Fatal(err)
			}
			vm, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, AdminStateUp: true})
			if err != nil {
				t.Fatal(err)
			}
			fip, err := e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{ProjectID: "a", NetworkID: ext.ID, PortID: vm.ID}, "")
			if err != nil {
				t.Fatal(err)
			}
			if st, err := e.s.HostState(e.ctx, "compute"); err != nil || len(st.Routers) != 0 {
				t.Fatalf("compute offers no l3: %+v, %v", st.Routers, err)
			}
			st, err := e.s.HostState(e.ctx, "netnode")
			if err != nil || len(st.Routers) != 1 {
				t.Fatalf("netnode's routers: %+v, %v", st.Routers, err)
			}
			svc := st.Routers[0]
			if svc.Gateway == nil || svc.Gateway.Port.NetworkID != ext.ID || len(svc.Gateway.Subnets) != 1 ||
				len(svc.Interfaces) != 1 || svc.Interfaces[0].Port.FixedIPs[0].IP != sub.Gateway ||
				len(svc.FloatingIPs) != 1 || svc.FloatingIPs[0].FixedIP != vm.FixedIPs[0].IP || svc.Router.Gateway == nil ||
				!svc.Router.Gateway.EnableSNAT {
				t.Fatalf("router service %+v", svc)
			}
			// The router's ports are bound to netnode: they are its ports too.
			bound := 0
			for _, p := range st.Ports {
				if p.DeviceID == r.ID {
					bound++
				}
			}
			if bound != 2 {
				t.Fatalf("%d router ports bound to netnode", bound)
			}
			skipped, err := e.s.SetFloatingIPStatuses(e.ctx, "compute", map[string]string{fip.ID: network.Active})
			if err != nil || len(skipped) != 1 {
				t.Fatalf("a report from another host: %v, %v", skipped, err)
			}
			if _, err := e.s.SetFloatingIPStatuses(e.ctx, "netnode", map[string]string{fip.ID: network.Active}); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.s.GetFloatingIP(e.ctx, projA, fip.ID); got.Status != network.Active {
				t.Fatalf("floating IP %s", got.Status)
			}
		})
	}
}

// Tenant networks of many projects created at once get distinct VNIs,
// none refused, on either engine.
func TestParallelTenantNetworks(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			const n = 16
			vnis := make(chan int, n)
			errs := make(chan error, n)
			for i := range n {
				go func() {
					got, err := e.s.CreateNetwork(e.ctx, network.Network{ProjectID: fmt.Sprintf("p%d", i), Name: "n"})
					errs <- err
					vnis <- got.Segment
				}()
			}
			seen := map[int]bool{}
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
				v := <-vnis
				if seen[v] {
					t.Fatalf("VNI %d handed out twice", v)
				}
				seen[v] = true
			}
		})
	}
}

// The DHCP of a network whose agent stopped reporting moves to a live
// agent offering DHCP, which takes over the same DHCP port (addresses
// kept); routers stay where they are (Neutron's defaults).
func TestDHCPFailover(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			e.s.Now = func() time.Time { return now }
			report := func(h string) {
				t.Helper()
				if _, err := e.s.ReportAgent(e.ctx, network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: h,
					Configurations: map[string]any{"dhcp": true}}); err != nil {
					t.Fatal(err)
				}
			}
			report("h1")
			n := e.network(t, projA, network.Network{Name: "n"})
			e.subnet(t, projA, n.ID, "10.0.0.0/24")
			if st, err := e.s.HostState(e.ctx, "h1"); err != nil || len(st.DHCP) != 1 {
				t.Fatalf("h1's DHCP: %+v %v", st.DHCP, err)
			}
			p1, err := e.s.EnsureDHCPPort(e.ctx, "h1", n.ID)
			if err != nil {
				t.Fatal(err)
			}
			// h2 comes; h1 goes silent past agent_down_time.
			now = now.Add(2 * time.Minute)
			report("h2")
			if st, err := e.s.HostState(e.ctx, "h2"); err != nil || len(st.DHCP) != 1 {
				t.Fatalf("h2 did not take over: %+v %v", st.DHCP, err)
			}
			if st, _ := e.s.HostState(e.ctx, "h1"); len(st.DHCP) != 0 {
				t.Fatalf("h1 still serves: %+v", st.DHCP)
			}
			p2, err := e.s.EnsureDHCPPort(e.ctx, "h2", n.ID)
			if err != nil || p2.ID != p1.ID || p2.HostID != "h2" || p2.FixedIPs[0].IP != p1.FixedIPs[0].IP {
				t.Fatalf("taken-over port %+v (was %+v), %v", p2, p1, err)
			}
			// With no live agent at all, the binding stays put.
			now = now.Add(10 * time.Minute)
			if st, _ := e.s.HostState(e.ctx, "h2"); len(st.DHCP) != 1 {
				t.Fatalf("with every agent silent the binding moved: %+v", st.DHCP)
			}
		})
	}
}

// ML2's type rules the agents rely on: one flat network per physical
// network (two would share one untagged wire), no physical network on a
// VXLAN network.
func TestProviderNetworkRules(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			e.network(t, admin, network.Network{Name: "public", Type: network.Flat, Physical: "public", External: true})
			_, err := e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "ops", Name: "again", Type: network.Flat, Physical: "public"})
			wantNeutron(t, err, fault.Conflict, "FlatNetworkInUse")
			if _, err := e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "ops", Name: "other", Type: network.Flat, Physical: "other"}); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "ops", Type: network.VXLAN, Physical: "public", Segment: 5})
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")
		})
	}
}

// The first reports of one agent racing (its heartbeat and its first
// sync both report at start) make one row and no error.
func TestParallelFirstReports(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			errs := make(chan error, 8)
			for range 8 {
				go func() {
					_, err := e.s.ReportAgent(e.ctx, network.AgentReport{AgentType: network.OVSAgent, Binary: "b", Host: "h1", Start: true})
					errs <- err
				}()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if ags, err := e.s.Agents(e.ctx, 0); err != nil || len(ags) != 1 {
				t.Fatalf("agents %d, %v", len(ags), err)
			}
		})
	}
}
