package network_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

// A router between a project's subnet and the admin's external network,
// and a floating IP that the router maps to a port of the project's. The
// router was found by the association; the agent reports the floating
// IP ACTIVE once its NAT is in place.
func Example_routers() {
	dir, _ := os.MkdirTemp("", "network-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "n.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), network.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := network.NewStore(db, watch.New(db))
	admin, me := network.Viewer{Project: "admin", Admin: true}, network.Viewer{Project: "demo"}
	public, _ := s.CreateNetwork(ctx, network.Network{ProjectID: "admin", Name: "public", Type: network.Flat, Physical: "public", External: true})
	s.CreateSubnet(ctx, admin, network.Subnet{NetworkID: public.ID, CIDR: netip.MustParsePrefix("172.24.4.0/24")}, false)
	private, _ := s.CreateNetwork(ctx, network.Network{ProjectID: "demo", Name: "private"})
	sub, _ := s.CreateSubnet(ctx, me, network.Subnet{NetworkID: private.ID, CIDR: netip.MustParsePrefix("10.0.0.0/24")}, false)

	r, err := s.CreateRouter(ctx, me, network.Router{Name: "router1", AdminStateUp: true}, &network.GatewaySpec{NetworkID: public.ID})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Gateway.FixedIPs[0].IP, r.Gateway.EnableSNAT)
	if _, err := s.AddRouterInterface(ctx, me, r.ID, network.InterfaceSpec{SubnetID: sub.ID}); err != nil {
		fmt.Println(err)
		return
	}
	vm, _ := s.CreatePort(ctx, me, network.Port{NetworkID: private.ID})
	fip, err := s.CreateFloatingIP(ctx, me, network.FloatingIP{NetworkID: public.ID, PortID: vm.ID}, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fip.Address, "->", fip.FixedIP, fip.RouterID == r.ID, fip.Status)
	fip, _ = s.SetFloatingIPStatus(ctx, fip.ID, network.Active)
	fmt.Println(fip.Status)
	// Output:
	// 172.24.4.2 true
	// 172.24.4.3 -> 10.0.0.2 true DOWN
	// ACTIVE
}
