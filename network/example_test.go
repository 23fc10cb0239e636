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

// A tenant network with a subnet and a port, on SQLite.
func Example() {
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
	me := network.Viewer{Project: "demo"}
	n, _ := s.CreateNetwork(ctx, network.Network{ProjectID: "demo", Name: "private"})
	sub, _ := s.CreateSubnet(ctx, me, network.Subnet{NetworkID: n.ID, CIDR: netip.MustParsePrefix("10.0.0.0/24"), EnableDHCP: true}, false)
	p, err := s.CreatePort(ctx, me, network.Port{NetworkID: n.ID, Name: "vm1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Type, n.Segment, n.MTU, sub.Gateway, sub.Pools, p.FixedIPs[0].IP, p.Status)
	// Output: vxlan 1 1450 10.0.0.1 [10.0.0.2-10.0.0.254] 10.0.0.2 DOWN
}
