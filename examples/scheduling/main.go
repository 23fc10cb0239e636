// Command scheduling places instances the way gostack's compute area
// does, from another module: three compute hosts reported into a
// Placement store (compute: ReportHost with Nova's allocation ratios),
// an anti-affinity server group, compute/scheduler's filters and
// weighers over the store's hosts, and each placement claimed
// atomically. A request nothing can hold ends in an explained "no valid
// host".
//
//	cd examples && go run ./scheduling
//
// It uses an SQLite file in a temporary directory; pass -db postgres://...
// to run the same code on PostgreSQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scheduling:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("scheduling", flag.ContinueOnError)
	dsn := fs.String("db", "", "store DSN (default: SQLite in a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		dir, err := os.MkdirTemp("", "scheduling-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dsn = "sqlite://" + filepath.Join(dir, "compute.db")
	}
	db, err := sqlstore.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		return err
	}
	store := compute.NewStore(db, watch.New(db))

	// Three hosts as their compute services report them: 4 cores (4.0
	// VCPU per core, Nova's initial ratio), 8 GiB of which 512 MiB are the
	// host's own.
	for i, id := range []string{"8d1c2f5e-0000-4000-8000-000000000001", "8d1c2f5e-0000-4000-8000-000000000002",
		"8d1c2f5e-0000-4000-8000-000000000003"} {
		host := fmt.Sprintf("cn%d", i+1)
		ram := placement.NewInventory(8192)
		ram.Reserved = 512
		inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(4), placement.MemoryMB: ram, placement.DiskGB: placement.NewInventory(100)}
		p, err := store.ReportHost(ctx, id, host, inv, compute.Ratios{Initial: compute.DefaultInitialRatios()})
		if err != nil {
			return err
		}
		if _, err := store.ReportService(ctx, compute.NovaCompute, host, 1); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d VCPU, %d MiB schedulable\n", host, p.Inventories[placement.VCPU].Capacity(), p.Inventories[placement.MemoryMB].Capacity())
	}

	group, err := store.CreateServerGroup(ctx, compute.ServerGroup{Name: "web", ProjectID: "demo", UserID: "alice", Policy: compute.AntiAffinity})
	if err != nil {
		return err
	}
	cfg := scheduler.DefaultConfig()
	cfg.Seed = 1 // reproducible picks among equals
	sch, err := scheduler.New(cfg, scheduler.Builtins(), &compute.Claimer{Store: store})
	if err != nil {
		return err
	}
	hosts, err := store.Hosts(ctx, 0)
	if err != nil {
		return err
	}
	web := []string{"5e0c1a9e-0000-4000-8000-00000000000a", "5e0c1a9e-0000-4000-8000-00000000000b", "5e0c1a9e-0000-4000-8000-00000000000c"}
	res, err := sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: web, MinCount: 3, MaxCount: 3, ProjectID: "demo", UserID: "alice",
		Flavor: scheduler.Flavor{Name: "m1.medium", VCPUs: 2, MemoryMB: 4096, RootGB: 20}, Group: group.SchedulerGroup()})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range res.Placements {
		seen[p.Host.Name] = true
	}
	fmt.Fprintf(out, "3 web servers in an anti-affinity group: on %d different hosts\n", len(seen))
	for _, h := range hosts {
		pr, err := store.Provider(ctx, h.UUID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d MiB used\n", h.Name, pr.Usages[placement.MemoryMB])
	}

	// No host has 6 GiB free any more: the error says why, host by host.
	hosts, err = store.Hosts(ctx, 0)
	if err != nil {
		return err
	}
	_, err = sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: []string{"5e0c1a9e-0000-4000-8000-00000000000d"}, ProjectID: "demo",
		Flavor: scheduler.Flavor{Name: "m1.large", VCPUs: 2, MemoryMB: 6144, RootGB: 20}})
	var nvh *scheduler.NoValidHost
	if !errors.As(err, &nvh) {
		return fmt.Errorf("a large server was placed: %v", err)
	}
	fmt.Fprint(out, nvh.Explain())
	return nil
}
