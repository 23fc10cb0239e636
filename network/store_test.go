package network_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ipam"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	projA = network.Viewer{Project: "a"}
	projB = network.Viewer{Project: "b"}
	admin = network.Viewer{Project: "ops", Admin: true}
	ip    = netip.MustParseAddr
	pfx   = netip.MustParsePrefix
)

type env struct {
	s    *network.Store
	feed *watch.Log
	ctx  context.Context
}

func newEnv(t testing.TB, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), network.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	return &env{s: network.NewStore(db, feed), feed: feed, ctx: ctx}
}

func (e *env) network(t testing.TB, v network.Viewer, n network.Network) network.Network {
	t.Helper()
	n.ProjectID = v.Project
	n, err := e.s.CreateNetwork(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) subnet(t testing.TB, v network.Viewer, netID, cidr string) network.Subnet {
	t.Helper()
	sub, err := e.s.CreateSubnet(e.ctx, v, network.Subnet{NetworkID: netID, CIDR: pfx(cidr), EnableDHCP: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// wantNeutron checks err is Neutron's exception typ of kind.
func wantNeutron(t *testing.T, err error, kind fault.Kind, typ string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || fe.Type != typ {
		t.Fatalf("got %v, want %s %s", err, kind, typ)
	}
}

func TestNetworks(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			a1 := e.network(t, projA, network.Network{Name: "a1", AdminStateUp: true})
			a2 := e.network(t, projA, network.Network{Name: "a2"})
			if a1.Type != network.VXLAN || a1.Segment != 1 || a1.MTU != 1450 || a2.Segment != 2 {
				t.Fatalf("tenant networks: %+v %+v", a1, a2)
			}
			// A freed VNI is the next one handed out.
			if err := e.s.DeleteNetwork(e.ctx, projA, a1.ID); err != nil {
				t.Fatal(err)
			}
			b1 := e.network(t, projB, network.Network{Name: "b1"})
			if b1.Segment != 1 {
				t.Fatalf("VNI after a delete: %d", b1.Segment)
			}
			// Provider networks: an admin's flat network; a taken VNI.
			ext := e.network(t, admin, network.Network{Name: "public", Type: network.Flat, Physical: "public", External: true})
			if ext.MTU != 1500 || ext.Segment != 0 {
				t.Fatalf("flat: %+v", ext)
			}
			_, err := e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "ops", Type: network.VXLAN, Segment: 2})
			wantNeutron(t, err, fault.Conflict, "SegmentationIdInUse")
			_, err = e.s.CreateNetwork(e.ctx, network.Network{ProjectID: "ops", Type: "gre"})
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")

			// Tenancy: B sees its own and the external network, not A's.
			got, _, err := e.s.ListNetworks(e.ctx, projB, nil, network.Page{Sort: []network.Sort{{Key: "created_at"}}})
			if err != nil || len(got) != 2 || got[0].ID != b1.ID || got[1].ID != ext.ID {
				t.Fatalf("B's networks: %+v %v", got, err)
			}
			_, err = e.s.GetNetwork(e.ctx, projB, a2.ID)
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			err = e.s.DeleteNetwork(e.ctx, projB, a2.ID)
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			if all, _, _ := e.s.ListNetworks(e.ctx, admin, nil, network.Page{}); len(all) != 3 {
				t.Fatalf("admin sees %d networks", len(all))
			}
		})
	}
}

func TestSubnetsAndPorts(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "net"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			if sub.Gateway != ip("10.0.0.1") || fmt.Sprint(sub.Pools) != "[10.0.0.2-10.0.0.254]" || sub.IPVersion != 4 {
				t.Fatalf("subnet: %+v", sub)
			}
			_, err := e.s.CreateSubnet(e.ctx, projA, network.Subnet{NetworkID: n.ID, CIDR: pfx("10.0.0.128/25")}, false)
			wantNeutron(t, err, fault.BadRequest, "InvalidInput") // overlaps
			_, err = e.s.CreateSubnet(e.ctx, projA, network.Subnet{NetworkID: n.ID, CIDR: pfx("10.1.0.0/24"),
				Pools: []ipam.Range{{Start: ip("10.1.0.1"), End: ip("10.1.0.9")}}}, false)
			wantNeutron(t, err, fault.Conflict, "GatewayConflictWithAllocationPools")
			_, err = e.s.CreateSubnet(e.ctx, projB, network.Subnet{NetworkID: n.ID, CIDR: pfx("10.2.0.0/24")}, false)
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			v6 := e.subnet(t, projA, n.ID, "2001:db8::/64")

			// A port gets the next address of the first subnet of each
			// version, and a fa:16:3e MAC.
			p1, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, Name: "p1"})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(p1.FixedIPs) != fmt.Sprintf("[{%s 10.0.0.2} {%s 2001:db8::2}]", sub.ID, v6.ID) ||
				p1.MAC[:9] != "fa:16:3e:" || p1.Status != network.Down {
				t.Fatalf("p1: %+v", p1)
			}
			p2, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, FixedIPs: []network.FixedIP{{SubnetID: sub.ID, IP: ip("10.0.0.50")}}})
			if err != nil || len(p2.FixedIPs) != 1 || p2.FixedIPs[0].IP != ip("10.0.0.50") {
				t.Fatalf("p2: %+v %v", p2, err)
			}
			for _, c := range []struct {
				fixed []network.FixedIP
				mac   string
				kind  fault.Kind
				typ   string
			}{
				{[]network.FixedIP{{SubnetID: sub.ID, IP: ip("10.0.0.50")}}, "", fault.Conflict, "IpAddressAlreadyAllocated"},
				{[]network.FixedIP{{SubnetID: sub.ID, IP: ip("10.0.0.255")}}, "", fault.BadRequest, "InvalidIpForSubnet"},
				{[]network.FixedIP{{IP: ip("192.0.2.7")}}, "", fault.BadRequest, "InvalidIpForNetwork"},
				{[]network.FixedIP{{SubnetID: "nope"}}, "", fault.BadRequest, "InvalidInput"},
				{nil, p1.MAC, fault.Conflict, "MacAddressInUse"},
				{nil, "ff:ff:ff:ff:ff:ff", fault.BadRequest, "InvalidInput"},
			} {
				_, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, FixedIPs: c.fixed, MAC: c.mac})
				wantNeutron(t, err, c.kind, c.typ)
			}
			// Nothing was left behind by the refused creates.
			p3, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, FixedIPs: []network.FixedIP{{SubnetID: sub.ID}}})
			if err != nil || p3.FixedIPs[0].IP != ip("10.0.0.3") {
				t.Fatalf("p3: %+v %v", p3, err)
			}
			// Tenancy: B cannot see or use A's ports and network.
			_, err = e.s.GetPort(e.ctx, projB, p1.ID)
			wantNeutron(t, err, fault.NotFound, "PortNotFound")
			_, err = e.s.CreatePort(e.ctx, projB, network.Port{NetworkID: n.ID})
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")

			// A network with ports in use cannot go; a freed address is
			// handed out again.
			err = e.s.DeleteNetwork(e.ctx, projA, n.ID)
			wantNeutron(t, err, fault.Conflict, "NetworkInUse")
			if err := e.s.DeletePort(e.ctx, projA, p1.ID); err != nil {
				t.Fatal(err)
			}
			p4, _ := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, FixedIPs: []network.FixedIP{{SubnetID: sub.ID}}})
			if p4.FixedIPs[0].IP != ip("10.0.0.2") {
				t.Fatalf("p4 after freeing .2: %+v", p4)
			}
			for _, p := range []string{p2.ID, p3.ID, p4.ID} {
				if err := e.s.DeletePort(e.ctx, projA, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.s.DeleteNetwork(e.ctx, projA, n.ID); err != nil {
				t.Fatal(err)
			}
			// Every write reached the feed.
			b, err := e.feed.Wait(e.ctx, watch.Query{Area: "network"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, c := range b.Changes {
				kinds[c.Kind+" "+string(c.Op)]++
			}
			if kinds["port create"] != 4 || kinds["port delete"] != 4 || kinds["subnet delete"] != 2 || kinds["network delete"] != 1 {
				t.Fatalf("feed: %v", kinds)
			}
		})
	}
}

// Parallel creates never hand out one address twice, and a full subnet
// is Neutron's IpAddressGenerationFailure.
func TestParallelAllocation(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "net"})
			e.subnet(t, projA, n.ID, "10.0.0.0/25") // 125 addresses after the gateway
			const workers, each = 8, 15
			var mu sync.Mutex
			seen := map[netip.Addr]string{}
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						p, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, Name: fmt.Sprintf("w%d-%d", w, i)})
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						if other, dup := seen[p.FixedIPs[0].IP]; dup {
							errs <- fmt.Errorf("%s given to %s and %s", p.FixedIPs[0].IP, other, p.Name)
						}
						seen[p.FixedIPs[0].IP] = p.Name
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if len(seen) != workers*each {
				t.Fatalf("%d distinct addresses for %d ports", len(seen), workers*each)
			}
			for range 125 - workers*each {
				if _, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID})
			wantNeutron(t, err, fault.Conflict, "IpAddressGenerationFailure")
		})
	}
}

func TestPortListUpdateStatus(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "net"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			var ids []string
			for i := range 7 {
				p, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, Name: fmt.Sprintf("p%d", i%3)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, p.ID)
			}
			other := e.network(t, projB, network.Network{Name: "b"})
			if _, err := e.s.CreatePort(e.ctx, projB, network.Port{NetworkID: other.ID}); err != nil {
				t.Fatal(err)
			}
			// Pages of 3 by name then id, walked by marker: every port of
			// A once, in order, none of B's.
			var walked []string
			marker := ""
			for pages := 0; ; pages++ {
				page, more, err := e.s.ListPorts(e.ctx, projA, nil, network.Page{Sort: []network.Sort{{Key: "name"}}, Marker: marker, Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range page {
					walked = append(walked, p.Name)
					if len(p.FixedIPs) != 1 || p.FixedIPs[0].SubnetID != sub.ID {
						t.Fatalf("port %s addresses: %v", p.ID, p.FixedIPs)
					}
					marker = p.ID
				}
				if !more {
					if pages != 2 {
						t.Fatalf("%d pages", pages+1)
					}
					break
				}
			}
			if fmt.Sprint(walked) != "[p0 p0 p0 p1 p1 p2 p2]" {
				t.Fatalf("walked %v", walked)
			}
			got, _, err := e.s.ListPorts(e.ctx, projA, network.Filter{"name": {"p1"}}, network.Page{})
			if err != nil || len(got) != 2 {
				t.Fatalf("name filter: %d %v", len(got), err)
			}
			if all, _, _ := e.s.ListPorts(e.ctx, admin, nil, network.Page{}); len(all) != 8 {
				t.Fatalf("admin sees %d ports", len(all))
			}
			_, _, err = e.s.ListPorts(e.ctx, projA, nil, network.Page{Sort: []network.Sort{{Key: "binding:profile"}}})
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
			_, _, err = e.s.ListPorts(e.ctx, projB, nil, network.Page{Marker: ids[0], Limit: 1})
			wantNeutron(t, err, fault.NotFound, "PortNotFound") // A's port is no marker for B

			// Binding, then the agent's reports.
			host := "compute-1"
			p, err := e.s.UpdatePort(e.ctx, projA, ids[0], network.PortUpdate{HostID: &host})
			if err != nil || p.HostID != host || p.Status != network.Down || p.Revision != 2 {
				t.Fatalf("bind: %+v %v", p, err)
			}
			if p, err = e.s.SetPortStatus(e.ctx, ids[0], host, network.Active); err != nil || p.Status != network.Active || p.Revision != 3 {
				t.Fatalf("status: %+v %v", p, err)
			}
			if p, _ = e.s.SetPortStatus(e.ctx, ids[0], host, network.Active); p.Revision != 3 {
				t.Fatalf("a report that changes nothing wrote revision %d", p.Revision)
			}
			_, err = e.s.SetPortStatus(e.ctx, ids[0], "compute-2", network.Down)
			wantNeutron(t, err, fault.Conflict, "Conflict")
			host2 := "compute-2"
			if p, _ = e.s.UpdatePort(e.ctx, projA, ids[0], network.PortUpdate{HostID: &host2}); p.Status != network.Down {
				t.Fatalf("moved port still %s", p.Status)
			}
			_, err = e.s.UpdatePort(e.ctx, projB, ids[0], network.PortUpdate{HostID: &host})
			wantNeutron(t, err, fault.NotFound, "PortNotFound")

			// A subnet with ports on it stays.
			err = e.s.DeleteSubnet(e.ctx, projA, sub.ID)
			wantNeutron(t, err, fault.Conflict, "SubnetInUse")
			err = e.s.DeleteSubnet(e.ctx, projB, sub.ID)
			wantNeutron(t, err, fault.NotFound, "SubnetNotFound")
			for _, id := range ids {
				if err := e.s.DeletePort(e.ctx, projA, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.s.DeleteSubnet(e.ctx, projA, sub.ID); err != nil {
				t.Fatal(err)
			}
			if subs, _ := e.s.Subnets(e.ctx, projA, n.ID); len(subs) != 0 {
				t.Fatalf("subnets left: %v", subs)
			}
		})
	}
}

// Neutron's list parameters on networks and subnets: filters with
// alternatives and booleans, sort keys, pages both ways.
func TestListNetworksSubnets(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			var names []string
			for i := range 5 {
				n := e.network(t, projA, network.Network{Name: fmt.Sprintf("n%d", i), AdminStateUp: i%2 == 0})
				e.subnet(t, projA, n.ID, fmt.Sprintf("10.%d.0.0/24", i))
				names = append(names, n.Name)
			}
			shared := e.network(t, admin, network.Network{Name: "shared", Shared: true})
			e.subnet(t, admin, shared.ID, "10.9.0.0/24")
			e.network(t, projB, network.Network{Name: "other"})
			byName := network.Page{Sort: []network.Sort{{Key: "name", Desc: true}}}
			got := func(f network.Filter, p network.Page) string {
				t.Helper()
				ns, more, err := e.s.ListNetworks(e.ctx, projA, f, p)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, n := range ns {
					out = append(out, n.Name)
				}
				return fmt.Sprint(out, more)
			}
			for _, c := range []struct {
				f    network.Filter
				p    network.Page
				want string
			}{
				{nil, byName, "[shared n4 n3 n2 n1 n0] false"},
				{network.Filter{"name": {"n1", "n3"}}, byName, "[n3 n1] false"},
				{network.Filter{"admin_state_up": {"True"}}, byName, "[n4 n2 n0] false"},
				{network.Filter{"shared": {"true"}}, byName, "[shared] false"},
				{nil, network.Page{Sort: byName.Sort, Limit: 2}, "[shared n4] true"},
			} {
				if g := got(c.f, c.p); g != c.want {
					t.Errorf("%v %+v: %s, want %s", c.f, c.p, g, c.want)
				}
			}
			// Walk forward by marker, then back from the last one.
			all, _, _ := e.s.ListNetworks(e.ctx, projA, nil, byName)
			if g := got(nil, network.Page{Sort: byName.Sort, Marker: all[1].ID, Limit: 2}); g != "[n3 n2] true" {
				t.Errorf("after n4: %s", g)
			}
			if g := got(nil, network.Page{Sort: byName.Sort, Marker: all[4].ID, Limit: 2, Reverse: true}); g != "[n3 n2] true" {
				t.Errorf("before n1: %s", g)
			}
			_, _, err := e.s.ListNetworks(e.ctx, projA, network.Filter{"colour": {"red"}}, network.Page{})
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
			_, _, err = e.s.ListNetworks(e.ctx, projA, network.Filter{"shared": {"maybe"}}, network.Page{})
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")
			subs, _, err := e.s.ListSubnets(e.ctx, projB, nil, network.Page{})
			if err != nil || len(subs) != 1 || subs[0].CIDR != pfx("10.9.0.0/24") {
				t.Fatalf("B sees the shared network's subnet only: %v %v", subs, err)
			}
			subs, _, _ = e.s.ListSubnets(e.ctx, projA, network.Filter{"cidr": {"10.3.0.0/24"}}, network.Page{})
			if len(subs) != 1 {
				t.Fatalf("cidr filter: %v", subs)
			}
		})
	}
}

func TestUpdateNetworkSubnet(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "n"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			yes, name := true, "renamed"
			got, err := e.s.UpdateNetwork(e.ctx, projA, n.ID, network.NetworkUpdate{Name: &name, Shared: &yes})
			if err != nil || got.Name != name || !got.Shared || got.Revision != 2 {
				t.Fatalf("update: %+v %v", got, err)
			}
			if _, err := e.s.CreatePort(e.ctx, projB, network.Port{NetworkID: n.ID}); err != nil {
				t.Fatalf("B's port on the shared network: %v", err)
			}
			no := false
			_, err = e.s.UpdateNetwork(e.ctx, projA, n.ID, network.NetworkUpdate{Shared: &no})
			wantNeutron(t, err, fault.Conflict, "InvalidSharedSetting")
			_, err = e.s.UpdateNetwork(e.ctx, projB, n.ID, network.NetworkUpdate{Name: &name})
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			if got, _ := e.s.UpdateNetwork(e.ctx, projA, n.ID, network.NetworkUpdate{Name: &name}); got.Revision != 2 {
				t.Fatalf("an update that changes nothing wrote revision %d", got.Revision)
			}
			if s, err := e.s.GetSubnet(e.ctx, projB, sub.ID); err != nil || s.ID != sub.ID {
				t.Fatalf("B sees the shared network's subnet: %v", err)
			}
			s2, err := e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Name: &name})
			if err != nil || s2.Name != name || s2.Revision != 2 {
				t.Fatalf("subnet update: %+v %v", s2, err)
			}
			_, err = e.s.UpdateSubnet(e.ctx, projB, sub.ID, network.SubnetUpdate{Name: &name})
			wantNeutron(t, err, fault.NotFound, "SubnetNotFound")
			ids, err := e.s.SubnetIDs(e.ctx, []string{n.ID, "none"})
			if err != nil || fmt.Sprint(ids) != fmt.Sprintf("map[%s:[%s]]", n.ID, sub.ID) {
				t.Fatalf("SubnetIDs: %v %v", ids, err)
			}
		})
	}
}
