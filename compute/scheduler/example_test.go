package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/scheduler"
)

// host builds a snapshot host from plain values: inventories with
// usage, and the Nova figures derived from them.
func host(name string, vcpus, ramMB, usedRAM int64) *scheduler.Host {
	mem := placement.NewInventory(ramMB)
	mem.Reserved = 512
	cpu := placement.NewInventory(vcpus)
	cpu.AllocationRatio = 4
	h := &scheduler.Host{
		Name: name, Node: name, UUID: "rp-" + name, Up: true,
		Resources: map[string]scheduler.Resource{
			placement.VCPU:     {Inventory: cpu},
			placement.MemoryMB: {Inventory: mem, Used: usedRAM},
			placement.DiskGB:   {Inventory: placement.NewInventory(1000)},
		},
	}
	h.Figures = scheduler.FiguresFrom(h.Resources)
	return h
}

// claims stands for the embedder's Placement: Reserve is its atomic
// claim, which can lose a race.
type claims struct {
	mu    sync.Mutex
	taken map[string]string // instance -> provider
}

func (c *claims) Reserve(_ context.Context, st *scheduler.State, h *scheduler.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.taken[st.InstanceUUID()] = h.UUID
	return nil
}

func (c *claims) Unreserve(_ context.Context, st *scheduler.State, _ *scheduler.Host) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.taken, st.InstanceUUID())
}

// An embedder schedules a request over plain values and claims the
// chosen host through its own Reserver.
func Example() {
	hosts := []*scheduler.Host{
		host("cmp-1", 16, 65536, 60000),
		host("cmp-2", 16, 65536, 8192),
		host("cmp-3", 16, 65536, 32768),
	}
	cfg := scheduler.DefaultConfig()
	cfg.Seed = 1
	c := &claims{taken: map[string]string{}}
	s, err := scheduler.New(cfg, scheduler.Builtins(), c)
	if err != nil {
		panic(err)
	}
	res, err := s.Schedule(context.Background(), hosts, &scheduler.Request{
		InstanceUUIDs: []string{"vm-1", "vm-2"},
		Flavor:        scheduler.Flavor{Name: "m1.large", VCPUs: 4, MemoryMB: 8192, RootGB: 40},
		Group:         &scheduler.Group{UUID: "web", Policy: scheduler.AntiAffinity, Members: []string{"vm-1", "vm-2"}},
	})
	if err != nil {
		panic(err)
	}
	for _, p := range res.Placements {
		fmt.Printf("%s on %s, claimed on %s\n", p.InstanceUUID, p.Host.Name, c.taken[p.InstanceUUID])
	}
	// Output:
	// vm-1 on cmp-2, claimed on rp-cmp-2
	// vm-2 on cmp-3, claimed on rp-cmp-3
}

// When nothing fits, the error says which filter removed the last hosts
// and why, host by host.
func Example_noValidHost() {
	hosts := []*scheduler.Host{host("cmp-1", 16, 16384, 14336), host("cmp-2", 16, 16384, 0)}
	hosts[1].Up = false
	cfg := scheduler.DefaultConfig()
	s, err := scheduler.New(cfg, scheduler.Builtins())
	if err != nil {
		panic(err)
	}
	_, err = s.Schedule(context.Background(), hosts, &scheduler.Request{
		Flavor: scheduler.Flavor{Name: "m1.medium", VCPUs: 2, MemoryMB: 4096},
	})
	var nvh *scheduler.NoValidHost
	if errors.As(err, &nvh) {
		fmt.Println(err)
		fmt.Print(nvh.Explain())
	}
	// Output:
	// no valid host: ComputeFilter returned 0 hosts (start: 1, end: 0)
	// no valid host: ComputeFilter returned 0 hosts (start: 1, end: 0)
	// hosts: 2
	// PlacementFilter: (start: 2, end: 1)
	//   cmp-1: MEMORY_MB: 4096 requested, 1536 free of 15872 (total 16384, reserved 512, ratio 1)
	// ComputeFilter: (start: 1, end: 0)
	//   cmp-2: compute service is down (not heard from)
}

// rackFilter is an embedder's own filter: the request's "rack" hint
// names the rack, which the hosts carry in their stats.
type rackFilter struct{}

func (rackFilter) Name() string { return "RackFilter" }

func (rackFilter) Filter(st *scheduler.State, h *scheduler.Host) *scheduler.Status {
	want := st.Request().Hints["rack"]
	if len(want) == 0 || h.Stats["rack"] == want[0] {
		return nil
	}
	return scheduler.Rejectf("in rack %q, not %q", h.Stats["rack"], want[0])
}

// Plugins are registered in a registry the embedder owns and enabled by
// name in the configuration; Rank shows how each host was scored.
func ExampleRegistry() {
	reg := scheduler.Builtins()
	if err := reg.Register("RackFilter", func(*scheduler.Config) (scheduler.Plugin, error) { return rackFilter{}, nil }); err != nil {
		panic(err)
	}
	cfg := scheduler.DefaultConfig()
	cfg.EnabledFilters = append(cfg.EnabledFilters, "RackFilter")
	cfg.Weighers = []string{"RAMWeigher"}
	s, err := scheduler.New(cfg, reg)
	if err != nil {
		panic(err)
	}
	hosts := []*scheduler.Host{host("cmp-1", 8, 32768, 0), host("cmp-2", 8, 32768, 16384), host("cmp-3", 8, 32768, 0)}
	hosts[0].Stats = map[string]string{"rack": "r1"}
	hosts[1].Stats = map[string]string{"rack": "r2"}
	hosts[2].Stats = map[string]string{"rack": "r2"}
	r, err := s.Rank(context.Background(), hosts, &scheduler.Request{
		Flavor: scheduler.Flavor{Name: "small", VCPUs: 1, MemoryMB: 2048},
		Hints:  map[string][]string{"rack": {"r2"}},
	})
	if err != nil {
		panic(err)
	}
	for _, w := range r.Hosts {
		fmt.Printf("%s %.3f (free RAM %v MB)\n", w.Host.Name, w.Weight, w.Scores[0].Raw)
	}
	for _, f := range r.Filters {
		for _, x := range f.Rejected {
			fmt.Printf("%s rejected %s: %s\n", f.Filter, x.Host, x.Reason)
		}
	}
	// Output:
	// cmp-3 1.000 (free RAM 32256 MB)
	// cmp-2 0.492 (free RAM 15872 MB)
	// RackFilter rejected cmp-1: in rack "r1", not "r2"
}
