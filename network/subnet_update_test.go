package network_test

import (
	"net/netip"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/ipam"
)

// A subnet's gateway, pools, DNS servers, host routes and DHCP change as
// Neutron lets them; a refused update changes nothing.
func TestUpdateSubnetOptions(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newEnv(t, eng.DSN)
			n := e.network(t, projA, network.Network{Name: "n"})
			sub := e.subnet(t, projA, n.ID, "10.0.0.0/24")
			p, err := e.s.CreatePort(e.ctx, projA, network.Port{NetworkID: n.ID, AdminStateUp: true})
			if err != nil {
				t.Fatal(err)
			}
			pools := []ipam.Range{{Start: ip("10.0.0.100"), End: ip("10.0.0.200")}}
			ns := []netip.Addr{ip("192.0.2.53")}
			routes := []ipam.Route{{Destination: pfx("198.51.100.0/24"), Nexthop: ip("10.0.0.254")}}
			off := false
			gw := ip("10.0.0.254")
			got, err := e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Gateway: &gw, Pools: &pools,
				Nameservers: &ns, Routes: &routes, EnableDHCP: &off})
			if err != nil {
				t.Fatal(err)
			}
			if got.Gateway != gw || len(got.Pools) != 1 || got.Pools[0] != pools[0] || len(got.Nameservers) != 1 ||
				len(got.Routes) != 1 || got.EnableDHCP || got.Revision != sub.Revision+1 {
				t.Fatalf("updated = %+v", got)
			}
			again, err := e.s.GetSubnet(e.ctx, projA, sub.ID)
			if err != nil || again.Gateway != gw || again.Revision != got.Revision {
				t.Fatalf("read back %+v, %v", again, err)
			}
			// The same values again: no revision.
			if same, err := e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Gateway: &gw}); err != nil || same.Revision != got.Revision {
				t.Fatalf("no-op update: %+v, %v", same, err)
			}
			// A gateway inside the pools, or held by a port, is refused.
			inPool := ip("10.0.0.150")
			_, err = e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Gateway: &inPool})
			wantNeutron(t, err, fault.Conflict, "GatewayConflictWithAllocationPools")
			held := p.FixedIPs[0].IP
			_, err = e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Gateway: &held})
			wantNeutron(t, err, fault.Conflict, "GatewayIpInUse")
			outside := []ipam.Range{{Start: ip("10.0.1.1"), End: ip("10.0.1.9")}}
			_, err = e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Pools: &outside})
			if fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("a pool outside the subnet: %v", err)
			}
			if now, _ := e.s.GetSubnet(e.ctx, projA, sub.ID); now.Gateway != gw || now.Revision != got.Revision {
				t.Fatalf("a refused update changed the subnet: %+v", now)
			}
			// No gateway at all, and another project's update.
			none := netip.Addr{}
			if got, err = e.s.UpdateSubnet(e.ctx, projA, sub.ID, network.SubnetUpdate{Gateway: &none}); err != nil || got.Gateway.IsValid() {
				t.Fatalf("gateway removed: %+v, %v", got, err)
			}
			_, err = e.s.UpdateSubnet(e.ctx, projB, sub.ID, network.SubnetUpdate{EnableDHCP: &off})
			wantNeutron(t, err, fault.NotFound, "SubnetNotFound")
		})
	}
}
