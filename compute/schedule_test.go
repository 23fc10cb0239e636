package compute_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/internal/testenv"
)

// schedHosts registers n compute hosts as a compute service would: a
// provider through ReportHost and a nova-compute heartbeat.
func schedHosts(t *testing.T, s *compute.Store, n int, vcpu, ram int64) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		name := fmt.Sprintf("cn%d", i)
		inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(vcpu), placement.MemoryMB: placement.NewInventory(ram),
			placement.DiskGB: placement.NewInventory(100)}
		if _, err := s.ReportHost(ctx, uuid.NewString(), name, inv, compute.Ratios{Override: map[string]float64{placement.VCPU: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportService(ctx, compute.NovaCompute, name, 1); err != nil {
			t.Fatal(err)
		}
	}
}

func newScheduler(t *testing.T, s *compute.Store) *scheduler.Scheduler {
	t.Helper()
	sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// The store, the scheduler and the claim together: a multi-create in an
// anti-affinity group lands on different hosts with its allocations, a
// request nothing fits is explained with the figures, and parallel
// schedulers working from one stale snapshot never break the group's
// policy or a host's capacity.
func TestScheduleAndClaim(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			schedHosts(t, s, 4, 4, 4096)
			sch := newScheduler(t, s)
			g, err := s.CreateServerGroup(ctx, compute.ServerGroup{Name: "g", ProjectID: "p", UserID: "u", Policy: compute.AntiAffinity})
			if err != nil {
				t.Fatal(err)
			}
			hosts, err := s.Hosts(ctx, 0)
			if err != nil || len(hosts) != 4 {
				t.Fatalf("hosts: %d, %v", len(hosts), err)
			}
			// The weighers read Nova's figures, derived from the inventories.
			if f := hosts[0].Figures; f.FreeRAMMB != 4096 || f.VCPUsTotal != 4 || !hosts[0].Up {
				t.Fatalf("host figures %+v, up %v", f, hosts[0].Up)
			}
			insts := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
			flavor := scheduler.Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 1024, RootGB: 10}
			res, err := sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: insts, MinCount: 3, MaxCount: 3, ProjectID: "p",
				Flavor: flavor, Group: g.SchedulerGroup()})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, pl := range res.Placements {
				if seen[pl.Host.Name] {
					t.Fatalf("two members of an anti-affinity group on %s", pl.Host.Name)
				}
				seen[pl.Host.Name] = true
				c, err := s.Consumer(ctx, pl.InstanceUUID)
				if err != nil || c.Allocations[pl.Host.UUID].Resources[placement.MemoryMB] != 1024 {
					t.Fatalf("allocation of %s: %+v, %v", pl.InstanceUUID, c, err)
				}
			}

			// Too big for any host: the error says which filter left
			// nothing and, for a sample of hosts, the figures.
			hosts, _ = s.Hosts(ctx, 0)
			_, err = sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: []string{uuid.NewString()}, ProjectID: "p",
				Flavor: scheduler.Flavor{Name: "huge", VCPUs: 1, MemoryMB: 8192, RootGB: 1}})
			var nvh *scheduler.NoValidHost
			if !errors.As(err, &nvh) || !strings.Contains(nvh.Explain(), "MEMORY_MB: 8192 requested") {
				t.Fatalf("want an explained no valid host, got %v", err)
			}
			t.Logf("explained:\n%s", nvh.Explain())

			// 8 schedulers from one snapshot place one member each of the
			// group: the fourth host is the only one left for the group,
			// so exactly one more succeeds.
			hosts, _ = s.Hosts(ctx, 0)
			g, _ = s.ServerGroup(ctx, compute.Viewer{Project: "p"}, g.ID)
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: []string{uuid.NewString()}, ProjectID: "p",
						Flavor: flavor, Group: g.SchedulerGroup()})
					if err == nil {
						mu.Lock()
						won++
						mu.Unlock()
					} else if !errors.Is(err, scheduler.ErrNoValidHost) {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			g, _ = s.ServerGroup(ctx, compute.Viewer{Project: "p"}, g.ID)
			if won != 1 || len(g.Hosts()) != 4 || len(g.Members) != 4 {
				t.Fatalf("%d parallel placements won, group on %v with %d members", won, g.Hosts(), len(g.Members))
			}
		})
	}
}

// With Nova's default weighers the store's hosts are spread over: one
// instance at a time, each on the emptiest host.
func TestScheduleSpreads(t *testing.T) {
	s, _, _ := newStore(t, testenv.Engines(t)[0].DSN)
	ctx := context.Background()
	schedHosts(t, s, 3, 8, 8192)
	sch := newScheduler(t, s)
	on := map[string]int{}
	for range 6 {
		hosts, err := s.Hosts(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: []string{uuid.NewString()}, ProjectID: "p",
			Flavor: scheduler.Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 1024, RootGB: 10}})
		if err != nil {
			t.Fatal(err)
		}
		on[res.Placements[0].Host.Name]++
	}
	if len(on) != 3 || on["cn0"] != 2 || on["cn1"] != 2 || on["cn2"] != 2 {
		t.Fatalf("6 instances on 3 hosts: %v, want 2 each", on)
	}
}

// A HostCache read once counts the process's own claims: six instances
// still spread two per host without another read, earlier snapshots do
// not change, and an all-or-nothing request that fails leaves the cache
// as it was.
func TestHostCache(t *testing.T) {
	s, _, _ := newStore(t, testenv.Engines(t)[0].DSN)
	ctx := context.Background()
	schedHosts(t, s, 3, 8, 8192)
	cache := &compute.HostCache{Store: s, MaxAge: time.Hour}
	sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: s, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cache.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flavor := scheduler.Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 1024, RootGB: 10}
	on := map[string]int{}
	for range 6 {
		hosts, _ := cache.Hosts(ctx)
		res, err := sch.Schedule(ctx, hosts, &scheduler.Request{InstanceUUIDs: []string{uuid.NewString()}, ProjectID: "p", Flavor: flavor})
		if err != nil {
			t.Fatal(err)
		}
		on[res.Placements[0].Host.Name]++
	}
	if on["cn0"] != 2 || on["cn1"] != 2 || on["cn2"] != 2 {
		t.Fatalf("6 instances from one cached read: %v, want 2 per host", on)
	}
	for _, h := range first {
		if h.Resources[placement.MemoryMB].Used != 0 || len(h.Instances) != 0 {
			t.Fatalf("the first snapshot changed: %s %+v", h.Name, h.Resources[placement.MemoryMB])
		}
	}
	used := func(hs []*scheduler.Host) (n int64) {
		for _, h := range hs {
			n += h.Resources[placement.MemoryMB].Used
		}
		return n
	}
	before, _ := cache.Hosts(ctx)
	g, _ := s.CreateServerGroup(ctx, compute.ServerGroup{Name: "g", ProjectID: "p", UserID: "u", Policy: compute.AntiAffinity})
	insts := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	_, err = sch.Schedule(ctx, before, &scheduler.Request{InstanceUUIDs: insts, MinCount: 4, MaxCount: 4, ProjectID: "p", Flavor: flavor,
		Group: g.SchedulerGroup()})
	if !errors.Is(err, scheduler.ErrNoValidHost) {
		t.Fatalf("4 anti-affine instances on 3 hosts: %v", err)
	}
	after, _ := cache.Hosts(ctx)
	if used(after) != used(before) || used(after) != 6*1024 {
		t.Fatalf("cache after the undone request: %d MiB used, before %d", used(after), used(before))
	}
	fresh, _ := s.Hosts(ctx, 0)
	if used(fresh) != used(after) {
		t.Fatalf("store %d MiB used, cache %d", used(fresh), used(after))
	}
}
