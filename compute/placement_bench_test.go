package compute_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/internal/testenv"
)

// BenchmarkClaim measures persisted claims (one instance's VCPU,
// MEMORY_MB and DISK_GB on one of 5,000 hosts) from 8 concurrent
// schedulers, one transaction each, and from 64 through a ClaimBatcher:
// claims/s is what the scheduler's Reserve step sustains on each engine.
func BenchmarkClaim(b *testing.B) {
	for _, eng := range testenv.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			s, _, _ := newStore(b, eng.New(b))
			benchClaims(b, s.Claim, benchHosts(b, s, 5000))
		})
		// The same claims from 64 schedulers through a ClaimBatcher
		// (group commit).
		b.Run(eng.Name+"-batched", func(b *testing.B) {
			s, _, _ := newStore(b, eng.New(b))
			cb := &compute.ClaimBatcher{Store: s}
			benchClaims(b, cb.Claim, benchHosts(b, s, 5000), 64)
		})
	}
}

// benchClaims runs b.N claims from schedulers goroutines (8 when not
// given) spread over hosts.
func benchClaims(b *testing.B, claim func(context.Context, compute.Claim) error, hosts []string, schedulers ...int) {
	n := 8
	if len(schedulers) > 0 {
		n = schedulers[0]
	}
	var next atomic.Int64
	b.SetParallelism(max(1, n/testingProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := hosts[int(next.Add(1))%len(hosts)]
			err := claim(context.Background(), compute.Claim{Consumer: uuid.NewString(), ProjectID: "p", UserID: "u", CheckGeneration: true,
				Resources: map[string]map[string]int64{h: {placement.VCPU: 1, placement.MemoryMB: 512, placement.DiskGB: 1}}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}

// BenchmarkAllocationCandidates is GET /allocation_candidates' work over
// 6,000 providers (LP 1828937 measured Placement at 5.5 to 16 s there).
func BenchmarkAllocationCandidates(b *testing.B) {
	for _, eng := range testenv.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			s, _, _ := newStore(b, eng.New(b))
			benchHosts(b, s, 6000)
			q := placement.Query{Groups: []placement.Group{{Resources: map[string]int64{placement.VCPU: 1, placement.MemoryMB: 512, placement.DiskGB: 10}}}, Limit: 1000}
			b.ResetTimer()
			for b.Loop() {
				cs, _, err := s.AllocationCandidates(context.Background(), q)
				if err != nil || len(cs) != 1000 {
					b.Fatal(len(cs), err)
				}
			}
		})
	}
}

func testingProcs() int { return 2 }

// benchHosts makes n hosts with inventories in few transactions.
func benchHosts(b testing.TB, s *compute.Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(64), placement.MemoryMB: placement.NewInventory(262144), placement.DiskGB: placement.NewInventory(4000)}
	var out []string
	for i := range n {
		u := uuid.NewString()
		if _, err := s.ReportHost(ctx, u, fmt.Sprintf("bench-%05d", i), inv, compute.Ratios{Initial: compute.DefaultInitialRatios()}); err != nil {
			b.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// BenchmarkPlacement is whole placements: a scheduling decision over
// 5,000 hosts (default filters and weighers) and its claim, from 8
// schedulers (64 through a ClaimBatcher) sharing one HostCache, read
// whole every second and kept current with their claims in between:
// placements/s against kube-scheduler's bar of 680 pods/s at 5,000 nodes.
func BenchmarkPlacement(b *testing.B) {
	for _, eng := range testenv.Engines(b) {
		for _, batched := range []bool{false, true} {
			name := eng.Name
			if batched {
				name += "-batched"
			}
			b.Run(name, func(b *testing.B) {
				s, _, _ := newStore(b, eng.New(b))
				for i := range benchHosts(b, s, 5000) {
					if _, err := s.ReportService(context.Background(), compute.NovaCompute, fmt.Sprintf("bench-%05d", i), 1); err != nil {
						b.Fatal(err)
					}
				}
				// One host cache for the process, read whole every second
				// and kept current with its own claims in between.
				cache := &compute.HostCache{Store: s, MaxAge: time.Second}
				claimer := &compute.Claimer{Store: s, Cache: cache}
				workers := 8
				if batched {
					claimer.Batch, workers = &compute.ClaimBatcher{Store: s}, 64
				}
				sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), claimer)
				if err != nil {
					b.Fatal(err)
				}
				flavor := scheduler.Flavor{Name: "m1.small", VCPUs: 1, MemoryMB: 512, RootGB: 1}
				b.SetParallelism(max(1, workers/testingProcs()))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						hs, err := cache.Hosts(context.Background())
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := sch.Schedule(context.Background(), hs, &scheduler.Request{InstanceUUIDs: []string{uuid.NewString()},
							ProjectID: "p", Flavor: flavor}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
			})
		}
	}
}

// BenchmarkHosts is the scheduler's snapshot of 5,000 compute hosts
// (providers, services, aggregates, instances), read from the store.
func BenchmarkHosts(b *testing.B) {
	for _, eng := range testenv.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			s, _, _ := newStore(b, eng.New(b))
			for i := range benchHosts(b, s, 5000) {
				if _, err := s.ReportService(context.Background(), compute.NovaCompute, fmt.Sprintf("bench-%05d", i), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if hs, err := s.Hosts(context.Background(), 0); err != nil || len(hs) != 5000 {
					b.Fatal(len(hs), err)
				}
			}
		})
	}
}
