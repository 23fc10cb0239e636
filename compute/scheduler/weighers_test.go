package scheduler

import (
	"context"
	"math"
	"testing"

	"github.com/gostack/gostack/compute/placement"
)

// weighOnly ranks hosts with just the named weigher (and no filter but
// the capacity one), returning each host's weight by name.
func weighOnly(t *testing.T, weigher string, edit func(*Config), req *Request, hosts ...*Host) map[string]float64 {
	t.Helper()
	s := newTestScheduler(t, func(c *Config) {
		c.EnabledFilters = nil
		c.Weighers = []string{weigher}
		if edit != nil {
			edit(c)
		}
	})
	if req == nil {
		req = &Request{Flavor: Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 1}}
	}
	r, err := s.Rank(context.Background(), hosts, req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, w := range r.Hosts {
		out[w.Host.Name] = w.Weight
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestWeighers(t *testing.T) {
	h := func(name string, edit func(*Host)) *Host {
		x := testHost(name, 16, 16384, 100)
		edit(x)
		return x
	}
	cases := []struct {
		name    string
		weigher string
		cfg     func(*Config)
		req     *Request
		hosts   []*Host
		want    map[string]float64
	}{
		// free_ram_mb with minval 0: w/max, so the fullest is not 0.
		{name: "RAM spreads, minval 0", weigher: "RAMWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.FreeRAMMB = 1000 }), h("b", func(x *Host) { x.FreeRAMMB = 4000 }),
		}, want: map[string]float64{"a": 0.25, "b": 1}},
		{name: "RAM equal but minval 0: all 1", weigher: "RAMWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.FreeRAMMB = 1000 }), h("b", func(x *Host) { x.FreeRAMMB = 1000 }),
		}, want: map[string]float64{"a": 1, "b": 1}},
		{name: "RAM negative free clamps to 0", weigher: "RAMWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.FreeRAMMB = -500 }), h("b", func(x *Host) { x.FreeRAMMB = 2000 }),
		}, want: map[string]float64{"a": 0, "b": 1}},
		{name: "RAM stacks with a negative multiplier", weigher: "RAMWeigher", cfg: func(c *Config) { c.RAMWeightMultiplier = -1 },
			hosts: []*Host{h("a", func(x *Host) { x.FreeRAMMB = 1000 }), h("b", func(x *Host) { x.FreeRAMMB = 4000 })},
			want:  map[string]float64{"a": -0.25, "b": -1}},
		// vcpus_total * cpu_allocation_ratio - vcpus_used.
		{name: "CPU with the ratio", weigher: "CPUWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.VCPUsTotal, x.CPUAllocationRatio, x.VCPUsUsed = 8, 4, 16 }),
			h("b", func(x *Host) { x.VCPUsTotal, x.CPUAllocationRatio, x.VCPUsUsed = 16, 2, 0 }),
		}, want: map[string]float64{"a": 0.5, "b": 1}},
		{name: "Disk", weigher: "DiskWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.FreeDiskMB = 10240 }), h("b", func(x *Host) { x.FreeDiskMB = 40960 }),
		}, want: map[string]float64{"a": 0.25, "b": 1}},
		// num_io_ops, multiplier -1: busier is lower.
		{name: "IoOps prefers idle", weigher: "IoOpsWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.NumIOOps = 0 }), h("b", func(x *Host) { x.NumIOOps = 4 }),
		}, want: map[string]float64{"a": 0, "b": -1}},
		// num_instances, no minval: min-max over the candidates; off by default.
		{name: "NumInstances off by default", weigher: "NumInstancesWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.NumInstances = 2 }), h("b", func(x *Host) { x.NumInstances = 6 }),
		}, want: map[string]float64{"a": 0, "b": 0}},
		{name: "NumInstances min-max", weigher: "NumInstancesWeigher", cfg: func(c *Config) { c.NumInstancesWeightMultiplier = -1 },
			hosts: []*Host{h("a", func(x *Host) { x.NumInstances = 2 }), h("b", func(x *Host) { x.NumInstances = 6 }), h("c", func(x *Host) { x.NumInstances = 4 })},
			want:  map[string]float64{"a": 0, "b": -1, "c": -0.5}},
		{name: "HypervisorVersion prefers newer", weigher: "HypervisorVersionWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.HypervisorVersion = 7000000 }), h("b", func(x *Host) { x.HypervisorVersion = 8000000 }),
		}, want: map[string]float64{"a": 0, "b": 1}},
		// failed_builds against -1e6.
		{name: "BuildFailure sinks failing hosts", weigher: "BuildFailureWeigher", hosts: []*Host{
			h("a", func(x *Host) { x.FailedBuilds = 0 }), h("b", func(x *Host) { x.FailedBuilds = 3 }),
		}, want: map[string]float64{"a": 0, "b": -1e6}},
		// Members of the request's group on the host.
		{name: "SoftAffinity", weigher: "ServerGroupSoftAffinityWeigher",
			req: &Request{Flavor: smallFlavor(), Group: &Group{Policy: SoftAffinity, Members: []string{"m-1", "m-2"}}},
			hosts: []*Host{
				h("a", func(x *Host) { x.Instances = NewSet("m-1", "m-2", "z") }), h("b", func(x *Host) { x.Instances = NewSet("m-1") }),
				h("c", func(*Host) {}),
			}, want: map[string]float64{"a": 1, "b": 0.5, "c": 0}},
		{name: "SoftAffinity ignores other policies", weigher: "ServerGroupSoftAffinityWeigher",
			req:   &Request{Flavor: smallFlavor(), Group: &Group{Policy: SoftAntiAffinity, Members: []string{"m-1"}}},
			hosts: []*Host{h("a", func(x *Host) { x.Instances = NewSet("m-1") }), h("b", func(*Host) {})},
			want:  map[string]float64{"a": 0, "b": 0}},
		{name: "SoftAntiAffinity", weigher: "ServerGroupSoftAntiAffinityWeigher",
			req: &Request{Flavor: smallFlavor(), Group: &Group{Policy: SoftAntiAffinity, Members: []string{"m-1", "m-2"}}},
			hosts: []*Host{
				h("a", func(x *Host) { x.Instances = NewSet("m-1", "m-2") }), h("b", func(x *Host) { x.Instances = NewSet("m-1") }),
				h("c", func(*Host) {}),
			}, want: map[string]float64{"a": 0, "b": 0.5, "c": 1}},
		// A lone host is not weighed.
		{name: "one host weighs 0", weigher: "RAMWeigher", hosts: []*Host{h("a", func(x *Host) { x.FreeRAMMB = 1000 })},
			want: map[string]float64{"a": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := weighOnly(t, tc.weigher, tc.cfg, tc.req, tc.hosts...)
			for name, w := range tc.want {
				if !near(got[name], w) {
					t.Errorf("%s weighs %v, want %v (all: %v)", name, got[name], w, got)
				}
			}
		})
	}
}

// Aggregate metadata named like the option overrides the multiplier; of
// several values the least wins; a bad value means the option's value.
func TestAggregateMultiplier(t *testing.T) {
	agg := func(v ...string) *Host {
		h := testHost("h", 1, 1024, 1)
		for _, x := range v {
			h.Aggregates = append(h.Aggregates, Aggregate{Metadata: map[string]string{"ram_weight_multiplier": x}})
		}
		h.Aggregates = append(h.Aggregates, Aggregate{Metadata: map[string]string{"other": "1"}})
		return h
	}
	for _, tc := range []struct {
		values []string
		want   float64
	}{
		{nil, 1.5}, {[]string{"2"}, 2}, {[]string{"2", "-1.5", "0"}, -1.5}, {[]string{" 3e0 "}, 3},
		{[]string{"2", "nope"}, 1.5}, {[]string{"1_0"}, 10},
	} {
		if got := AggregateMultiplier(agg(tc.values...), "ram_weight_multiplier", 1.5); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.values, got, tc.want)
		}
	}
	// Through the weigher: host a stacks, b spreads.
	a, b := testHost("a", 8, 8192, 10), testHost("b", 8, 8192, 10)
	a.FreeRAMMB, b.FreeRAMMB = 4000, 2000
	a.Aggregates = []Aggregate{{Metadata: map[string]string{"ram_weight_multiplier": "-1"}}}
	got := weighOnly(t, "RAMWeigher", nil, nil, a, b)
	if !near(got["a"], -1) || !near(got["b"], 0.5) {
		t.Errorf("weights %v, want a -1 and b 0.5", got)
	}
}

// FiguresFrom reads Placement inventories as Nova's compute node
// reports them.
func TestFiguresFrom(t *testing.T) {
	res := map[string]Resource{
		placement.MemoryMB: {Inventory: placement.Inventory{Total: 16384, Reserved: 512, MinUnit: 1, MaxUnit: 16384, StepSize: 1, AllocationRatio: 1.5}, Used: 20000},
		placement.DiskGB:   {Inventory: placement.Inventory{Total: 100, Reserved: 10, AllocationRatio: 1}, Used: 30},
		placement.VCPU:     {Inventory: placement.Inventory{Total: 8, Reserved: 2, AllocationRatio: 4}, Used: 20},
	}
	f := FiguresFrom(res)
	want := Figures{
		TotalUsableRAMMB: 16384, FreeRAMMB: 16384 - 512 - 20000, TotalUsableDiskGB: 100, FreeDiskMB: 60 * 1024,
		DiskMBUsed: 40 * 1024, VCPUsTotal: 8, VCPUsUsed: 20, CPUAllocationRatio: 4, RAMAllocationRatio: 1.5, DiskAllocationRatio: 1,
	}
	if f != want {
		t.Errorf("got %+v\nwant %+v", f, want)
	}
}
