package compute_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// What a scheduler reads of Nova's objects, on SQLite: compute hosts
// that report, a zone made of an aggregate, and an anti-affinity group
// whose members the store refuses to stack on one host.
func Example_scheduling() {
	dir, _ := os.MkdirTemp("", "compute-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "c.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := compute.NewStore(db, watch.New(db))

	// Each nova-compute reports its heartbeat; the first report makes
	// the service.
	for _, h := range []string{"h1", "h2"} {
		if _, err := s.ReportService(ctx, compute.NovaCompute, h, 66); err != nil {
			fmt.Println(err)
			return
		}
	}
	east, _ := s.CreateAggregate(ctx, "east", "az-east")
	east, _ = s.AddAggregateHost(ctx, east.ID, "h1")
	byHost, _ := s.AggregatesByHost(ctx)
	fmt.Println(east.Name, east.AvailabilityZone, east.Hosts, len(byHost["h1"]), len(byHost["h2"]))

	svcs, _ := s.Services(ctx, compute.NovaCompute, "")
	for _, sv := range svcs {
		fmt.Println(sv.Host, sv.Zone, sv.Up(time.Now(), compute.DefaultServiceDownTime))
	}

	g, _ := s.CreateServerGroup(ctx, compute.ServerGroup{Name: "web", ProjectID: "demo", UserID: "alice", Policy: compute.AntiAffinity})
	_, err = s.AddServerGroupMember(ctx, g.ID, "vm-1", "h1")
	fmt.Println("vm-1 on h1:", err)
	_, err = s.AddServerGroupMember(ctx, g.ID, "vm-2", "h1")
	fmt.Println("vm-2 on h1:", err)
	g, _ = s.AddServerGroupMember(ctx, g.ID, "vm-2", "h2")
	fmt.Println(g.Hosts(), g.HostCounts())
	// Output:
	// east az-east [h1] 1 0
	// h1 az-east true
	// h2 nova true
	// vm-1 on h1: <nil>
	// vm-2 on h1: Anti-affinity instance group policy was violated
	// [h1 h2] map[h1:1 h2:1]
}
