package network_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ipam"
)

func strp(s string) *string { return &s }

// external makes the admin's external network with one subnet.
func (e *env) external(t *testing.T, cidr string) (network.Network, network.Subnet) {
	t.Helper()
	n := e.network(t, admin, network.Network{Name: "public", Type: network.Flat, Physical: "public", External: true})
	return n, e.subnet(t, admin, n.ID, cidr)
}

func (e *env) router(t *testing.T, v network.Viewer, name string, gw *network.GatewaySpec) network.Router {
	t.Helper()
	r, err := e.s.CreateRouter(e.ctx, v, network.Router{Name: name, AdminStateUp: true}, gw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) port(t *testing.T, v network.Viewer, netID string) network.Port {
	t.Helper()
	p, err := e.s.CreatePort(e.ctx, v, network.Port{NetworkID: netID})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func route(dst, hop string) ipam.Route { return ipam.Route{Destination: pfx(dst), Nexthop: ip(hop)} }

// Routers: the gateway, interfaces by subnet and by port, extra routes,
// with Neutron's checks and errors, and what they keep in use.
func TestRouters(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			ext, extSub := e.external(t, "203.0.113.0/24")
			n1 := e.network(t, projA, network.Network{Name: "n1"})
			s1 := e.subnet(t, projA, n1.ID, "10.0.0.0/24")
			n2 := e.network(t, projA, network.Network{Name: "n2"})
			s2 := e.subnet(t, projA, n2.ID, "10.1.0.0/24")
			n3 := e.network(t, projA, network.Network{Name: "n3"})
			s3 := e.subnet(t, projA, n3.ID, "10.0.0.128/25") // overlaps s1
			noGW, err := e.s.CreateSubnet(e.ctx, projA, network.Subnet{NetworkID: n3.ID, CIDR: pfx("10.3.0.0/24")}, true)
			if err != nil {
				t.Fatal(err)
			}
			bNet := e.network(t, projB, network.Network{Name: "b"})
			bSub := e.subnet(t, projB, bNet.ID, "10.5.0.0/24")

			_, err = e.s.CreateRouter(e.ctx, projA, network.Router{Name: "x"}, &network.GatewaySpec{NetworkID: n1.ID})
			wantNeutron(t, err, fault.BadRequest, "BadRequest") // not external
			_, err = e.s.CreateRouter(e.ctx, projA, network.Router{Name: "x"}, &network.GatewaySpec{NetworkID: bNet.ID})
			wantNeutron(t, err, fault.NotFound, "NetworkNotFound")
			_, err = e.s.CreateRouter(e.ctx, projA, network.Router{Name: "x"},
				&network.GatewaySpec{NetworkID: ext.ID, FixedIPs: []network.FixedIP{{IP: extSub.Gateway}}})
			wantNeutron(t, err, fault.BadRequest, "BadRequest") // the subnet's gateway address
			if all, _, _ := e.s.ListRouters(e.ctx, admin, nil, network.Page{}); len(all) != 0 {
				t.Fatalf("refused creates left routers: %+v", all)
			}

			r := e.router(t, projA, "r", nil)
			if r.Status != network.Active || r.Gateway != nil || len(r.Routes) != 0 || r.ProjectID != "a" {
				t.Fatalf("router: %+v", r)
			}
			r, err = e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{SetGateway: true, Gateway: &network.GatewaySpec{NetworkID: ext.ID}})
			if err != nil || r.Gateway == nil || r.Gateway.NetworkID != ext.ID || !r.Gateway.EnableSNAT ||
				fmt.Sprint(r.Gateway.FixedIPs) != fmt.Sprintf("[{%s 203.0.113.2}]", extSub.ID) || r.Revision != 2 {
				t.Fatalf("gateway: %+v %v", r.Gateway, err)
			}
			gwPort, err := e.s.GetPort(e.ctx, admin, r.Gateway.PortID)
			if err != nil || gwPort.ProjectID != "" || gwPort.DeviceOwner != network.RouterGatewayOwner || gwPort.DeviceID != r.ID ||
				*gwPort.PortSecurity || len(gwPort.SecurityGroups) != 0 {
				t.Fatalf("gateway port: %+v %v", gwPort, err)
			}
			// Another address on the same network: the port stays, its
			// address changes; enable_snat back to its default.
			no := false
			r, err = e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{SetGateway: true, Gateway: &network.GatewaySpec{NetworkID: ext.ID,
				EnableSNAT: &no, FixedIPs: []network.FixedIP{{SubnetID: extSub.ID, IP: ip("203.0.113.9")}}}})
			if err != nil || r.Gateway.PortID != gwPort.ID || r.Gateway.EnableSNAT || r.Gateway.FixedIPs[0].IP != ip("203.0.113.9") {
				t.Fatalf("gateway readdressed: %+v %v", r.Gateway, err)
			}

			// Interfaces by subnet.
			info, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: s1.ID})
			if err != nil || info.RouterID != r.ID || info.SubnetID != s1.ID || info.NetworkID != n1.ID || info.ProjectID != "a" ||
				fmt.Sprint(info.SubnetIDs) != "["+s1.ID+"]" {
				t.Fatalf("interface: %+v %v", info, err)
			}
			iface, err := e.s.GetPort(e.ctx, projA, info.PortID)
			if err != nil || iface.DeviceOwner != network.RouterInterfaceOwner || iface.DeviceID != r.ID || iface.FixedIPs[0].IP != ip("10.0.0.1") {
				t.Fatalf("interface port: %+v %v", iface, err)
			}
			for _, c := range []struct {
				name string
				v    network.Viewer
				spec network.InterfaceSpec
				kind fault.Kind
				typ  string
			}{
				{"the same subnet", projA, network.InterfaceSpec{SubnetID: s1.ID}, fault.BadRequest, "BadRequest"},
				{"an overlapping subnet", projA, network.InterfaceSpec{SubnetID: s3.ID}, fault.BadRequest, "BadRequest"},
				{"the gateway's subnet", admin, network.InterfaceSpec{SubnetID: extSub.ID}, fault.BadRequest, "BadRequest"},
				{"no gateway address", projA, network.InterfaceSpec{SubnetID: noGW.ID}, fault.BadRequest, "BadRequest"},
				{"another project's subnet", projA, network.InterfaceSpec{SubnetID: bSub.ID}, fault.NotFound, "SubnetNotFound"},
				{"neither", projA, network.InterfaceSpec{}, fault.BadRequest, "BadRequest"},
				{"both", projA, network.InterfaceSpec{SubnetID: s2.ID, PortID: iface.ID}, fault.BadRequest, "BadRequest"},
				{"a port in use", projA, network.InterfaceSpec{PortID: iface.ID}, fault.Conflict, "PortInUse"},
				{"another project's router", projB, network.InterfaceSpec{SubnetID: bSub.ID}, fault.NotFound, "RouterNotFound"},
			} {
				_, err := e.s.AddRouterInterface(e.ctx, c.v, r.ID, c.spec)
				wantNeutron(t, err, c.kind, c.typ)
			}
			// By port: the port becomes the router's, without port
			// security.
			p2 := e.port(t, projA, n2.ID)
			info2, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{PortID: p2.ID})
			if err != nil || info2.PortID != p2.ID || info2.SubnetID != s2.ID {
				t.Fatalf("interface by port: %+v %v", info2, err)
			}
			if p2, _ = e.s.GetPort(e.ctx, projA, p2.ID); p2.DeviceOwner != network.RouterInterfaceOwner || *p2.PortSecurity ||
				len(p2.SecurityGroups) != 0 {
				t.Fatalf("port attached: %+v", p2)
			}

			// Routes: the nexthop on one of the router's subnets, not
			// its own address, no duplicates.
			routes := []ipam.Route{route("192.168.0.0/16", "10.0.0.50"), route("198.51.100.0/24", "203.0.113.100")}
			r, err = e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{Routes: &routes})
			if err != nil || len(r.Routes) != 2 {
				t.Fatalf("routes: %+v %v", r.Routes, err)
			}
			for _, bad := range [][]ipam.Route{{route("172.16.0.0/12", "192.0.2.1")}, {route("172.16.0.0/12", "10.0.0.1")}} {
				_, err := e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{Routes: &bad})
				wantNeutron(t, err, fault.BadRequest, "InvalidRoutes")
			}
			dup := []ipam.Route{route("172.16.0.0/12", "10.0.0.5"), route("172.16.0.0/12", "10.0.0.5")}
			_, err = e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{Routes: &dup})
			wantNeutron(t, err, fault.BadRequest, "HTTPBadRequest")
			// The gateway's route keeps the gateway.
			_, err = e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{SetGateway: true})
			wantNeutron(t, err, fault.BadRequest, "InvalidRoutes")

			// What the router keeps in use.
			_, err = e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: s1.ID})
			wantNeutron(t, err, fault.Conflict, "RouterInterfaceInUseByRoute")
			wantNeutron(t, e.s.DeleteRouter(e.ctx, projA, r.ID), fault.Conflict, "RouterInUse")
			wantNeutron(t, e.s.DeletePort(e.ctx, projA, iface.ID), fault.Conflict, "ServicePortInUse")
			wantNeutron(t, e.s.DeletePort(e.ctx, admin, gwPort.ID), fault.Conflict, "ServicePortInUse")
			wantNeutron(t, e.s.DeleteSubnet(e.ctx, projA, s1.ID), fault.Conflict, "SubnetInUse")
			wantNeutron(t, e.s.DeleteNetwork(e.ctx, projA, n2.ID), fault.Conflict, "NetworkInUse")
			wantNeutron(t, e.s.DeleteNetwork(e.ctx, admin, ext.ID), fault.Conflict, "NetworkInUse")
			_, err = e.s.UpdateNetwork(e.ctx, admin, ext.ID, network.NetworkUpdate{External: new(bool)})
			wantNeutron(t, err, fault.Conflict, "ExternalNetworkInUse")
			_, err = e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: s3.ID})
			wantNeutron(t, err, fault.NotFound, "RouterInterfaceNotFoundForSubnet")
			_, err = e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{PortID: gwPort.ID})
			wantNeutron(t, err, fault.NotFound, "RouterInterfaceNotFound")
			_, err = e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{PortID: p2.ID, SubnetID: s1.ID})
			wantNeutron(t, err, fault.BadRequest, "SubnetMismatchForPort")

			// Tenancy: another project sees nothing of it.
			_, err = e.s.GetRouter(e.ctx, projB, r.ID)
			wantNeutron(t, err, fault.NotFound, "RouterNotFound")
			_, err = e.s.UpdateRouter(e.ctx, projB, r.ID, network.RouterUpdate{Name: strp("mine")})
			wantNeutron(t, err, fault.NotFound, "RouterNotFound")
			wantNeutron(t, e.s.DeleteRouter(e.ctx, projB, r.ID), fault.NotFound, "RouterNotFound")
			if got, _, _ := e.s.ListRouters(e.ctx, projB, nil, network.Page{}); len(got) != 0 {
				t.Fatalf("B's routers: %+v", got)
			}
			if got, _, err := e.s.ListRouters(e.ctx, projA, network.Filter{"name": {"r"}}, network.Page{}); err != nil || len(got) != 1 ||
				got[0].Gateway == nil || len(got[0].Gateway.FixedIPs) != 1 {
				t.Fatalf("A's routers: %+v %v", got, err)
			}

			// Take it apart: routes, interfaces (by subnet, by port),
			// the router with its gateway.
			empty := []ipam.Route{}
			if _, err := e.s.UpdateRouter(e.ctx, projA, r.ID, network.RouterUpdate{Routes: &empty}); err != nil {
				t.Fatal(err)
			}
			if out, err := e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: s1.ID}); err != nil || out.PortID != iface.ID {
				t.Fatalf("remove by subnet: %+v %v", out, err)
			}
			if _, err := e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{PortID: p2.ID}); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.GetPort(e.ctx, projA, p2.ID)
			wantNeutron(t, err, fault.NotFound, "PortNotFound") // Neutron deletes it too
			if err := e.s.DeleteRouter(e.ctx, projA, r.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.GetPort(e.ctx, admin, gwPort.ID)
			wantNeutron(t, err, fault.NotFound, "PortNotFound")
			for _, sub := range []string{s1.ID, s2.ID} {
				if err := e.s.DeleteSubnet(e.ctx, projA, sub); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.s.DeleteNetwork(e.ctx, admin, ext.ID); err != nil {
				t.Fatal(err)
			}

			b, err := e.feed.Wait(e.ctx, watch.Query{Area: "network"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, c := range b.Changes {
				kinds[c.Kind+" "+string(c.Op)]++
			}
			// Router updates: the gateway twice, two interfaces, routes,
			// no routes, two removals.
			if kinds["router create"] != 1 || kinds["router update"] != 8 || kinds["router delete"] != 1 {
				t.Fatalf("feed: %v", kinds)
			}
		})
	}
}

// An IPv6 subnet on a network where the router has an IPv6 port adds a
// prefix to that port; removing it takes only that address.
func TestRouterIPv6Prefixes(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "n"})
			a := e.subnet(t, projA, n.ID, "2001:db8:1::/64")
			b := e.subnet(t, projA, n.ID, "2001:db8:2::/64")
			r := e.router(t, projA, "r", nil)
			first, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.s.AddRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: b.ID})
			if err != nil || second.PortID != first.PortID {
				t.Fatalf("second prefix: %+v %v", second, err)
			}
			if p, _ := e.s.GetPort(e.ctx, projA, first.PortID); len(p.FixedIPs) != 2 || p.FixedIPs[1].IP != ip("2001:db8:2::1") {
				t.Fatalf("port with two prefixes: %+v", p.FixedIPs)
			}
			if _, err := e.s.RemoveRouterInterface(e.ctx, projA, r.ID, network.InterfaceSpec{SubnetID: a.ID}); err != nil {
				t.Fatal(err)
			}
			if p, err := e.s.GetPort(e.ctx, projA, first.PortID); err != nil || len(p.FixedIPs) != 1 || p.FixedIPs[0].SubnetID != b.ID {
				t.Fatalf("port after removing a prefix: %+v %v", p, err)
			}
		})
	}
}

// fipEnv is an external network, a router with a gateway there and an
// interface on project A's subnet, and a port of A's on it.
type fipEnv struct {
	*env
	ext    network.Network
	extSub network.Subnet
	net    network.Network
	sub    network.Subnet
	router network.Router
	vm     network.Port
}

func newFIPEnv(t *testing.T, dsn, extCIDR string) *fipEnv {
	e := &fipEnv{env: newEnv(t, dsn)}
	e.ext, e.extSub = e.external(t, extCIDR)
	e.net = e.network(t, projA, network.Network{Name: "n"})
	e.sub = e.subnet(t, projA, e.net.ID, "10.0.0.0/24")
	e.router = e.env.router(t, projA, "r", &network.GatewaySpec{NetworkID: e.ext.ID})
	if _, err := e.s.AddRouterInterface(e.ctx, projA, e.router.ID, network.InterfaceSpec{SubnetID: e.sub.ID}); err != nil {
		t.Fatal(err)
	}
	e.vm = e.port(t, projA, e.net.ID)
	return e
}

func (e *fipEnv) fip(t *testing.T, v network.Viewer, f network.FloatingIP) network.FloatingIP {
	t.Helper()
	if f.NetworkID == "" {
		f.NetworkID = e.ext.ID
	}
	f, err := e.s.CreateFloatingIP(e.ctx, v, f, "")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Floating IPs: addresses held by a port, association with Neutron's
// checks, the router found, status, and what keeps them.
func TestFloatingIPs(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFIPEnv(t, eng.DSN, "203.0.113.0/29") // .2 to .6, the gateway has .2
			f := e.fip(t, projA, network.FloatingIP{Description: "d"})
			if f.Address != ip("203.0.113.3") || f.Status != network.Down || f.PortID != "" || f.RouterID != "" || f.ProjectID != "a" {
				t.Fatalf("floating IP: %+v", f)
			}
			fp, err := e.s.GetPort(e.ctx, admin, f.FloatingPortID)
			if err != nil || fp.DeviceOwner != network.FloatingIPOwner || fp.DeviceID != f.ID || fp.ProjectID != "" || fp.Status != network.NotApplicable {
				t.Fatalf("floating IP port: %+v %v", fp, err)
			}
			_, err = e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: e.net.ID}, "")
			wantNeutron(t, err, fault.BadRequest, "BadRequest") // not external
			_, err = e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: e.ext.ID, Address: ip("203.0.113.3")}, "")
			wantNeutron(t, err, fault.Conflict, "IpAddressAlreadyAllocated")

			// Associate: the router is found, the status is DOWN until
			// the agent reports it.
			f, err = e.s.UpdateFloatingIP(e.ctx, projA, f.ID, network.FloatingIPUpdate{PortID: &e.vm.ID})
			if err != nil || f.PortID != e.vm.ID || f.FixedIP != e.vm.FixedIPs[0].IP || f.RouterID != e.router.ID || f.Status != network.Down {
				t.Fatalf("associated: %+v %v", f, err)
			}
			if f, err = e.s.SetFloatingIPStatus(e.ctx, f.ID, network.Active); err != nil || f.Status != network.Active {
				t.Fatalf("status: %+v %v", f, err)
			}
			_, err = e.s.SetFloatingIPStatus(e.ctx, f.ID, "UP")
			wantNeutron(t, err, fault.BadRequest, "InvalidInput")

			other := e.network(t, projA, network.Network{Name: "unrouted"})
			e.subnet(t, projA, other.ID, "10.7.0.0/24")
			unrouted := e.port(t, projA, other.ID)
			bNet := e.network(t, projB, network.Network{Name: "b"})
			e.subnet(t, projB, bNet.ID, "10.8.0.0/24")
			bPort := e.port(t, projB, bNet.ID)
			f2 := e.fip(t, projA, network.FloatingIP{})
			wrong := ip("10.0.0.99")
			for _, c := range []struct {
				name string
				u    network.FloatingIPUpdate
				kind fault.Kind
				typ  string
			}{
				{"the same fixed IP", network.FloatingIPUpdate{PortID: &e.vm.ID}, fault.Conflict, "FloatingIPPortAlreadyAssociated"},
				{"no router", network.FloatingIPUpdate{PortID: &unrouted.ID}, fault.NotFound, "ExternalGatewayForFloatingIPNotFound"},
				{"another project's port", network.FloatingIPUpdate{PortID: &bPort.ID}, fault.NotFound, "PortNotFound"},
				{"not the port's address", network.FloatingIPUpdate{PortID: &e.vm.ID, FixedIP: &wrong}, fault.BadRequest, "BadRequest"},
				{"an address without a port", network.FloatingIPUpdate{FixedIP: &wrong}, fault.BadRequest, "BadRequest"},
			} {
				_, err := e.s.UpdateFloatingIP(e.ctx, projA, f2.ID, c.u)
				wantNeutron(t, err, c.kind, c.typ)
			}
			// What an association keeps.
			_, err = e.s.RemoveRouterInterface(e.ctx, projA, e.router.ID, network.InterfaceSpec{SubnetID: e.sub.ID})
			wantNeutron(t, err, fault.Conflict, "RouterInterfaceInUseByFloatingIP")
			_, err = e.s.UpdateRouter(e.ctx, projA, e.router.ID, network.RouterUpdate{SetGateway: true})
			wantNeutron(t, err, fault.Conflict, "RouterExternalGatewayInUseByFloatingIp")
			wantNeutron(t, e.s.DeletePort(e.ctx, admin, f.FloatingPortID), fault.Conflict, "ServicePortInUse")

			// Tenancy.
			_, err = e.s.GetFloatingIP(e.ctx, projB, f.ID)
			wantNeutron(t, err, fault.NotFound, "FloatingIPNotFound")
			_, err = e.s.UpdateFloatingIP(e.ctx, projB, f.ID, network.FloatingIPUpdate{Description: strp("mine")})
			wantNeutron(t, err, fault.NotFound, "FloatingIPNotFound")
			wantNeutron(t, e.s.DeleteFloatingIP(e.ctx, projB, f.ID), fault.NotFound, "FloatingIPNotFound")
			if got, _, _ := e.s.ListFloatingIPs(e.ctx, projB, nil, network.Page{}); len(got) != 0 {
				t.Fatalf("B's floating IPs: %+v", got)
			}
			got, _, err := e.s.ListFloatingIPs(e.ctx, projA, network.Filter{"router_id": {e.router.ID}}, network.Page{})
			if err != nil || len(got) != 1 || got[0].ID != f.ID {
				t.Fatalf("A's floating IPs on the router: %+v %v", got, err)
			}

			// Disassociate; associate at create; a deleted port's
			// floating IP is disassociated.
			if f, err = e.s.UpdateFloatingIP(e.ctx, projA, f.ID, network.FloatingIPUpdate{PortID: strp("")}); err != nil ||
				f.PortID != "" || f.FixedIP.IsValid() || f.RouterID != "" || f.Status != network.Down {
				t.Fatalf("disassociated: %+v %v", f, err)
			}
			f3, err := e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: e.ext.ID, PortID: e.vm.ID}, "")
			if err != nil || f3.RouterID != e.router.ID || f3.Address != ip("203.0.113.5") {
				t.Fatalf("created associated: %+v %v", f3, err)
			}
			if err := e.s.DeletePort(e.ctx, projA, e.vm.ID); err != nil {
				t.Fatal(err)
			}
			if f3, err = e.s.GetFloatingIP(e.ctx, projA, f3.ID); err != nil || f3.PortID != "" || f3.RouterID != "" {
				t.Fatalf("after the port's delete: %+v %v", f3, err)
			}
			// A freed address is handed out again; then none is left.
			if err := e.s.DeleteFloatingIP(e.ctx, projA, f.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.s.GetPort(e.ctx, admin, f.FloatingPortID)
			wantNeutron(t, err, fault.NotFound, "PortNotFound")
			if again := e.fip(t, projA, network.FloatingIP{}); again.Address != f.Address {
				t.Fatalf("freed %s, got %s", f.Address, again.Address)
			}
			e.fip(t, projA, network.FloatingIP{})
			_, err = e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: e.ext.ID}, "")
			wantNeutron(t, err, fault.BadRequest, "ExternalIpAddressExhausted")

			b, err := e.feed.Wait(e.ctx, watch.Query{Area: "network"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, c := range b.Changes {
				kinds[c.Kind+" "+string(c.Op)]++
			}
			// Updates: associate, ACTIVE, disassociate, the port's delete.
			if kinds["floatingip create"] != 5 || kinds["floatingip update"] != 4 || kinds["floatingip delete"] != 1 {
				t.Fatalf("feed: %v", kinds)
			}
		})
	}
}

// Parallel floating IP creates never get one address twice, and parallel
// associations of one fixed address: exactly one wins.
func TestParallelFloatingIPs(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newFIPEnv(t, eng.DSN, "203.0.113.0/26") // 61 addresses, the gateway holds one
			const workers, each = 8, 6
			var mu sync.Mutex
			seen := map[netip.Addr]string{}
			var ids []string
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				wg.Go(func() {
					for range each {
						f, err := e.s.CreateFloatingIP(e.ctx, projA, network.FloatingIP{NetworkID: e.ext.ID}, "")
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						if other, dup := seen[f.Address]; dup {
							errs <- fmt.Errorf("%s given to %s and %s", f.Address, other, f.ID)
						}
						seen[f.Address], ids = f.ID, append(ids, f.ID)
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
				t.Fatalf("%d distinct addresses for %d floating IPs", len(seen), workers*each)
			}

			results := map[string]int{}
			for _, id := range ids[:8] {
				wg.Go(func() {
					_, err := e.s.UpdateFloatingIP(e.ctx, projA, id, network.FloatingIPUpdate{PortID: &e.vm.ID})
					what := "ok"
					if err != nil {
						what = err.Error()
						if fe, ok := err.(*fault.Error); ok {
							what = fe.Type
						}
					}
					mu.Lock()
					results[what]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if results["ok"] != 1 || results["FloatingIPPortAlreadyAssociated"] != 7 {
				t.Fatalf("parallel associations: %v", results)
			}
		})
	}
}
