package placement_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gostack/gostack/compute/placement"
)

// A compute node with two NUMA children (VCPU and memory there), its
// disk on the root, and a plain host with everything on it.
func cluster() []*placement.Provider {
	inv := placement.NewInventory
	return []*placement.Provider{
		{UUID: "cn1", Name: "cn1", RootUUID: "cn1", Inventories: map[string]placement.Inventory{placement.DiskGB: inv(100)},
			Usages: map[string]int64{}, Aggregates: []string{"agg-a"}},
		{UUID: "cn1-n0", Name: "cn1-n0", ParentUUID: "cn1", RootUUID: "cn1", Traits: []string{"HW_NUMA_ROOT"},
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(4), placement.MemoryMB: inv(4096)}, Usages: map[string]int64{placement.VCPU: 3}},
		{UUID: "cn1-n1", Name: "cn1-n1", ParentUUID: "cn1", RootUUID: "cn1", Traits: []string{"HW_NUMA_ROOT"},
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(4), placement.MemoryMB: inv(4096)}, Usages: map[string]int64{}},
		{UUID: "cn2", Name: "cn2", RootUUID: "cn2", Traits: []string{"CUSTOM_GOLD"},
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(8), placement.MemoryMB: inv(8192), placement.DiskGB: inv(50)}, Usages: map[string]int64{}},
	}
}

func render(cs []placement.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprint(c.Allocations))
	}
	return out
}

// res is resource amounts from class, amount pairs.
func res(kv ...any) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = int64(kv[i+1].(int))
	}
	return m
}

// candidateCase is a query and the allocation requests it must find.
type candidateCase struct {
	name string
	q    placement.Query
	want []string
}

// runCandidates checks each case over ps, in any order, and that every
// provider in a candidate is in the summaries.
func runCandidates(t *testing.T, ps []*placement.Provider, cases []candidateCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cs, sums, err := placement.Candidates(ps, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := render(cs)
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
			for _, c := range cs {
				for u := range c.Allocations {
					if !slices.ContainsFunc(sums, func(p *placement.Provider) bool { return p.UUID == u }) {
						t.Fatalf("%s is in a candidate but not in the summaries", u)
					}
				}
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	runCandidates(t, cluster(), []candidateCase{
		{"unnumbered group spreads over a tree, one provider per class",
			placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 2, placement.DiskGB, 10)}}},
			[]string{"map[cn1:map[DISK_GB:10] cn1-n1:map[VCPU:2]]", "map[cn2:map[DISK_GB:10 VCPU:2]]"}},
		{"VCPU and memory may come from different NUMA nodes of one tree",
			placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 1, placement.MemoryMB, 1024)}}},
			[]string{"map[cn1-n0:map[MEMORY_MB:1024 VCPU:1]]", "map[cn1-n0:map[VCPU:1] cn1-n1:map[MEMORY_MB:1024]]",
				"map[cn1-n0:map[MEMORY_MB:1024] cn1-n1:map[VCPU:1]]", "map[cn1-n1:map[MEMORY_MB:1024 VCPU:1]]", "map[cn2:map[MEMORY_MB:1024 VCPU:1]]"}},
		{"required trait", placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 1), Required: []string{"CUSTOM_GOLD"}}}},
			[]string{"map[cn2:map[VCPU:1]]"}},
		{"forbidden trait", placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 1), Forbidden: []string{"CUSTOM_GOLD", "HW_NUMA_ROOT"}}}},
			nil},
		{"member_of through the root's aggregate", placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 2), MemberOf: [][]string{{"agg-a", "agg-z"}}}}},
			[]string{"map[cn1-n1:map[VCPU:2]]"}},
		{"two granular groups isolated on different NUMA nodes: only cn2 fails (one provider)",
			placement.Query{Isolate: true, Groups: []placement.Group{{Suffix: "1", Resources: res(placement.MemoryMB, 1024)}, {Suffix: "2", Resources: res(placement.MemoryMB, 1024)}}},
			[]string{"map[cn1-n0:map[MEMORY_MB:1024] cn1-n1:map[MEMORY_MB:1024]]", "map[cn1-n0:map[MEMORY_MB:1024] cn1-n1:map[MEMORY_MB:1024]]"}},
		{"the same groups without isolation may share a provider; groups swapping providers are two candidates (their mappings differ)",
			placement.Query{Groups: []placement.Group{{Suffix: "1", Resources: res(placement.MemoryMB, 4096)}, {Suffix: "2", Resources: res(placement.MemoryMB, 4096)}}},
			[]string{"map[cn1-n0:map[MEMORY_MB:4096] cn1-n1:map[MEMORY_MB:4096]]", "map[cn1-n0:map[MEMORY_MB:4096] cn1-n1:map[MEMORY_MB:4096]]",
				"map[cn2:map[MEMORY_MB:8192]]"}},
		{"limit", placement.Query{Limit: 1, Groups: []placement.Group{{Resources: res(placement.VCPU, 1)}}},
			[]string{"map[cn1-n0:map[VCPU:1]]"}},
		{"root_required", placement.Query{RootRequired: []string{"CUSTOM_GOLD"}, Groups: []placement.Group{{Resources: res(placement.VCPU, 1)}}},
			[]string{"map[cn2:map[VCPU:1]]"}},
	})
	if _, _, err := placement.Candidates(cluster(), placement.Query{}); err == nil {
		t.Fatal("an empty query was accepted")
	}
}

func TestCapacityRule(t *testing.T) {
	inv := placement.Inventory{Total: 16384, Reserved: 512, MinUnit: 1, MaxUnit: 16384, StepSize: 1, AllocationRatio: 1.5}
	if inv.Capacity() != 23808 { // int((16384-512)*1.5)
		t.Fatal(inv.Capacity())
	}
	err := inv.Fit(placement.MemoryMB, 22000, 4096)
	if err == nil || err.Error() != "MEMORY_MB: 4096 requested, 1808 free of 23808 (total 16384, reserved 512, ratio 1.5)" {
		t.Fatal(err)
	}
	inv.StepSize = 256
	if err := inv.Fit(placement.MemoryMB, 0, 100); err == nil {
		t.Fatal("step_size not enforced")
	}
}

// A sharing provider (a disk pool in the aggregate of cn1 and cn2) gives
// DISK_GB to the trees it shares with, and is found alone when the
// request is its class only.
func TestCandidatesSharing(t *testing.T) {
	inv := placement.NewInventory
	ps := []*placement.Provider{
		{UUID: "cn1", Name: "cn1", RootUUID: "cn1", Aggregates: []string{"rack1"},
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(8)}, Usages: map[string]int64{}},
		{UUID: "cn2", Name: "cn2", RootUUID: "cn2", Aggregates: []string{"rack1"},
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(8), placement.DiskGB: inv(10)}, Usages: map[string]int64{}},
		{UUID: "cn3", Name: "cn3", RootUUID: "cn3",
			Inventories: map[string]placement.Inventory{placement.VCPU: inv(8)}, Usages: map[string]int64{}},
		{UUID: "pool", Name: "pool", RootUUID: "pool", Aggregates: []string{"rack1"}, Traits: []string{placement.SharesViaAggregate},
			Inventories: map[string]placement.Inventory{placement.DiskGB: inv(1000)}, Usages: map[string]int64{}},
	}
	runCandidates(t, ps, []candidateCase{
		{"VCPU from the host, disk from the pool or the host's own",
			placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 1, placement.DiskGB, 5)}}},
			[]string{"map[cn1:map[VCPU:1] pool:map[DISK_GB:5]]", "map[cn2:map[DISK_GB:5 VCPU:1]]", "map[cn2:map[VCPU:1] pool:map[DISK_GB:5]]"}},
		{"more disk than cn2 has: the pool only",
			placement.Query{Groups: []placement.Group{{Resources: res(placement.VCPU, 1, placement.DiskGB, 50)}}},
			[]string{"map[cn1:map[VCPU:1] pool:map[DISK_GB:50]]", "map[cn2:map[VCPU:1] pool:map[DISK_GB:50]]"}},
		{"disk alone: the pool once, and cn2",
			placement.Query{Groups: []placement.Group{{Resources: res(placement.DiskGB, 5)}}},
			[]string{"map[cn2:map[DISK_GB:5]]", "map[pool:map[DISK_GB:5]]"}},
	})
}
