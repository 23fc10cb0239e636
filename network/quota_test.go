package network_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

// wantOverQuota checks err is Neutron's OverQuota for resource.
func wantOverQuota(t *testing.T, err error, resource string) {
	t.Helper()
	wantNeutron(t, err, fault.Conflict, "OverQuota")
	if want := fmt.Sprintf("Quota exceeded for resources: ['%s'].", resource); err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}
}

// used is project's use of resource, as the details report it.
func (e *env) used(t *testing.T, project, resource string) int {
	t.Helper()
	d, err := e.s.QuotaDetails(e.ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	return d[resource].Used
}

// Every create counts against its project's quota, Neutron's OverQuota
// refuses one too many and creates nothing; what gostack makes for
// itself (a default group, a router's interface port, an agent's port)
// is not limited but counts.
func TestQuotas(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			e.s.Quotas = map[string]int{network.QuotaNetwork: 2, network.QuotaSubnet: 1, network.QuotaPort: 2, network.QuotaRouter: 1,
				network.QuotaFloatingIP: 1, network.QuotaSecurityGroup: 1, network.QuotaSecurityGroupRule: 5}
			if d := e.s.QuotaDefaults(); d[network.QuotaNetwork] != 2 || d[network.QuotaPort] != 2 || len(d) != 7 {
				t.Fatalf("defaults: %v", d)
			}
			ext, _ := e.external(t, "198.51.100.0/24")
			n1 := e.network(t, projA, network.Network{Name: "n1"})
			e.network(t, projA, network.Network{Name: "n2"})
			head, _, _ := e.feed.Head(e.ctx)
			_, err := e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "a", Name: "n3"})
			wantOverQuota(t, err, network.QuotaNetwork)
			if h, _, _ := e.feed.Head(e.ctx); h != head || e.used(t, "a", network.QuotaNetwork) != 2 {
				t.Fatalf("a refused create changed something: feed %d -> %d", head, h)
			}
			e.network(t, projB, network.Network{Name: "b1"}) // another project's quota
			sub := e.subnet(t, projA, n1.ID, "10.0.0.0/24")
			_, err = e.s.CreateSubnet(e.ctx, projA, network.Subnet{NetworkID: n1.ID, CIDR: pfx("10.1.0.0/24")}, false)
			wantOverQuota(t, err, network.QuotaSubnet)

			// The first port makes the default group (4 rules) past a
			// group quota of 1 and a rule quota of 5: gostack's own.
			e.port(t, projA, n1.ID)
			e.port(t, projA, n1.ID)
			_, err = e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n1.ID})
			wantOverQuota(t, err, network.QuotaPort)
			// gostack's own port (an agent's DHCP port) is not limited,
			// and counts.
			if _, err := e.s.CreatePort(e.ctx, network.Viewer{Admin: true}, network.Port{ProjectID: "a", NetworkID: n1.ID,
				DeviceOwner: network.DHCPOwner, DeviceID: "dhcp-h1"}); err != nil {
				t.Fatal(err)
			}
			if u := e.used(t, "a", network.QuotaPort); u != 3 {
				t.Fatalf("ports used: %d", u)
			}

			r := e.router(t, projA, "r1", &network.GatewaySpec{NetworkID: ext.ID})
			_, err = e.s.CreateRouter(e.ctx, projA, network.Router{Name: "r2"}, nil)
			wantOverQuota(t, err, network.QuotaRouter)
			// The interface's port is the router's, made past the port
			// quota; the gateway's belongs to no project.
			if _, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: sub.ID}); err != nil {
				t.Fatal(err)
			}
			if u := e.used(t, "a", network.QuotaPort); u != 4 {
				t.Fatalf("ports used with the interface: %d", u)
			}
			if _, err := e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: ext.ID}, ""); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: ext.ID}, "")
			wantOverQuota(t, err, network.QuotaFloatingIP)

			// One group: the default one already uses it.
			if u := e.used(t, "a", network.QuotaSecurityGroup); u != 1 {
				t.Fatalf("groups used: %d", u)
			}
			_, err = e.s.CreateSecurityGroup(e.ctx, projA, network.SecurityGroup{Name: "web"})
			wantOverQuota(t, err, network.QuotaSecurityGroup)
			def := e.defaultGroup(t, projA)
			if _, err := e.s.CreateSecurityGroupRule(e.ctx, projA, network.SecurityGroupRule{SecurityGroupID: def.ID, Direction: network.Ingress,
				Protocol: "tcp", PortRangeMin: intp(22), PortRangeMax: intp(22)}); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.CreateSecurityGroupRule(e.ctx, projA, network.SecurityGroupRule{SecurityGroupID: def.ID, Direction: network.Ingress,
				Protocol: "tcp", PortRangeMin: intp(80), PortRangeMax: intp(80)})
			wantOverQuota(t, err, network.QuotaSecurityGroupRule)
			// B's view of A's group: not found, never A's quota.
			_, err = e.s.CreateSecurityGroupRule(e.ctx, projB, network.SecurityGroupRule{SecurityGroupID: def.ID, Direction: network.Ingress})
			wantNeutron(t, err, fault.NotFound, "SecurityGroupNotFound")

			// A project's own limits: -1 is unlimited; a limit below the
			// use is taken, and further creates fail.
			got, err := e.s.SetQuota(e.ctx, "a", map[string]int{network.QuotaNetwork: -1, network.QuotaPort: 1}, false)
			if err != nil || got[network.QuotaNetwork] != -1 || got[network.QuotaPort] != 1 || got[network.QuotaRouter] != 1 {
				t.Fatalf("set: %v %v", got, err)
			}
			for i := range 3 {
				e.network(t, projA, network.Network{Name: fmt.Sprint("more", i)})
			}
			_, err = e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n1.ID})
			wantOverQuota(t, err, network.QuotaPort)
			d, err := e.s.QuotaDetails(e.ctx, "a")
			if err != nil || d[network.QuotaNetwork] != (network.QuotaUsage{Limit: -1, Used: 5}) ||
				d[network.QuotaPort] != (network.QuotaUsage{Limit: 1, Used: 4}) || d[network.QuotaSubnet] != (network.QuotaUsage{Limit: 1, Used: 1}) {
				t.Fatalf("details: %v %v", d, err)
			}
			// check_limit refuses a limit below the use.
			_, err = e.s.SetQuota(e.ctx, "a", map[string]int{network.QuotaRouter: 0}, true)
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
			if q, _ := e.s.Quota(e.ctx, "a"); q[network.QuotaRouter] != 1 {
				t.Fatalf("a refused limit was set: %v", q)
			}
			if _, err := e.s.SetQuota(e.ctx, "a", map[string]int{network.QuotaRouter: -1}, true); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []map[string]int{{"rbac_policy": 1}, {network.QuotaPort: -2}, {network.QuotaPort: network.MaxQuota + 1}} {
				_, err := e.s.SetQuota(e.ctx, "a", bad, false)
				wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
			}
			_, err = e.s.SetQuota(e.ctx, "a b", map[string]int{network.QuotaPort: 1}, false)
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")

			// The same limits again change nothing; a change is on the
			// feed.
			head, _, _ = e.feed.Head(e.ctx)
			if _, err := e.s.SetQuota(e.ctx, "a", map[string]int{network.QuotaPort: 1}, false); err != nil {
				t.Fatal(err)
			}
			if h, _, _ := e.feed.Head(e.ctx); h != head {
				t.Fatalf("an unchanged quota is on the feed: %d -> %d", head, h)
			}
			if _, err := e.s.SetQuota(e.ctx, "b", map[string]int{network.QuotaSubnet: 7}, false); err != nil {
				t.Fatal(err)
			}
			all, err := e.s.ListQuotas(e.ctx)
			if err != nil || len(all) != 2 || all[0].ProjectID != "a" || all[1].ProjectID != "b" || all[1].Limits[network.QuotaSubnet] != 7 ||
				all[1].Limits[network.QuotaNetwork] != 2 {
				t.Fatalf("list: %+v %v", all, err)
			}
			if err := e.s.DeleteQuota(e.ctx, "a"); err != nil {
				t.Fatal(err)
			}
			wantNeutron(t, e.s.DeleteQuota(e.ctx, "a"), fault.NotFound, "TenantQuotaNotFound")
			if q, _ := e.s.Quota(e.ctx, "a"); q[network.QuotaNetwork] != 2 || q[network.QuotaPort] != 2 {
				t.Fatalf("after the delete: %v", q)
			}
			b, err := e.feed.Since(e.ctx, watch.Query{Area: "network", Since: head})
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, c := range b.Changes {
				if c.Kind == "quota" {
					ops = append(ops, fmt.Sprint(c.ID, " ", c.Op))
				}
			}
			if fmt.Sprint(ops) != "[b update a delete]" {
				t.Fatalf("quota changes on the feed: %v", ops)
			}
		})
	}
}

// Parallel creates of one project stop exactly at its limit on both
// engines: the project's quota lock makes count and insert take turns.
func TestParallelQuota(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			const limit, workers, each = 7, 8, 3
			e.s.Quotas = map[string]int{network.QuotaNetwork: limit, network.QuotaPort: limit}
			n := e.network(t, projA, network.Network{Name: "n0"})
			e.subnet(t, projA, n.ID, "10.0.0.0/24")
			// Another network of A's for half the ports: two network
			// locks, one project lock.
			n2 := e.network(t, projA, network.Network{Name: "n1"})
			e.subnet(t, projA, n2.ID, "10.0.1.0/24")
			var mu sync.Mutex
			results := map[string]int{}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						var err error
						what := "network"
						if (w+i)%2 == 0 {
							_, err = e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "a", Name: fmt.Sprintf("w%d-%d", w, i)})
						} else {
							what = "port"
							nid := n.ID
							if w%2 == 0 {
								nid = n2.ID
							}
							_, err = e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: nid})
						}
						if fe, ok := err.(*fault.Error); ok && fe.Type == "OverQuota" {
							what += " over quota"
						} else if err != nil {
							what += " " + err.Error()
						}
						mu.Lock()
						results[what]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			// The two networks made first count too.
			if results["network"] != limit-2 || results["port"] != limit || len(results) != 4 {
				t.Fatalf("results: %v", results)
			}
			for _, r := range []string{network.QuotaNetwork, network.QuotaPort} {
				if u := e.used(t, "a", r); u != limit {
					t.Fatalf("%s: %d used of %d", r, u, limit)
				}
			}
		})
	}
}
