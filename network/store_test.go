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

func newEnv(t *testing.T, dsn string) *env {
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

func (e *env) network(t *testing.T, v network.Viewer, n network.Network) network.Network {
	t.Helper()
	n.ProjectID = v.Project
	n, err := e.s.CreateNetwork(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) subnet(t *testing.T, v network.Viewer, netID, cidr string) network.Subnet {
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
			got, err := e.s.ListNetworks(e.ctx, projB)
			if err != nil || len(got) != 2 || got[0].ID != b1.ID || got[1].ID != ext.ID {
				t.Fatalf("B's networks: %+v %v", got, err)
			}
			_, err = e.s.GetNetwork(e.ctx, projB, a2.ID)
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			err = e.s.DeleteNetwork(e.ctx, projB, a2.ID)
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			if all, _ := e.s.ListNetworks(e.ctx, admin); len(all) != 3 {
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
				page, more, err := e.s.ListPorts(e.ctx, projA, network.PortFilter{}, network.Page{Sort: []network.Sort{{Key: "name"}}, Marker: marker, Limit: 3})
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
			got, _, err := e.s.ListPorts(e.ctx, projA, network.PortFilter{Name: "p1"}, network.Page{})
			if err != nil || len(got) != 2 {
				t.Fatalf("name filter: %d %v", len(got), err)
			}
			if all, _, _ := e.s.ListPorts(e.ctx, admin, network.PortFilter{}, network.Page{}); len(all) != 8 {
				t.Fatalf("admin sees %d ports", len(all))
			}
			_, _, err = e.s.ListPorts(e.ctx, projA, network.PortFilter{}, network.Page{Sort: []network.Sort{{Key: "binding:profile"}}})
			wantNeutron(t, err, fault.BadRequest, "BadRequest")
			_, _, err = e.s.ListPorts(e.ctx, projB, network.PortFilter{}, network.Page{Marker: ids[0], Limit: 1})
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
