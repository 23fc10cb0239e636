package compute_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/testenv"
)

// Nova's aggregates show in Placement as the hosts' providers'
// aggregates, written with the membership: joining, leaving, a provider
// registered after its host joined, and a deleted compute service.
func TestAggregateMirror(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			schedHosts(t, s, 1, 4, 4096) // cn0, provider and service
			if _, err := s.ReportService(ctx, compute.NovaCompute, "late", 1); err != nil {
				t.Fatal(err)
			}
			agg, err := s.CreateAggregate(ctx, "rack1", "az1")
			if err != nil {
				t.Fatal(err)
			}
			member := func(host string) bool {
				ps, err := s.Providers(ctx, compute.ProviderFilter{Name: host, MemberOf: [][]string{{agg.UUID}}})
				if err != nil {
					t.Fatal(err)
				}
				return len(ps) == 1
			}
			if _, err := s.AddAggregateHost(ctx, agg.ID, "cn0"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddAggregateHost(ctx, agg.ID, "late"); err != nil {
				t.Fatal(err)
			}
			if !member("cn0") {
				t.Fatal("cn0's provider is not in the aggregate it joined")
			}
			// late's provider appears after it joined.
			inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(4)}
			if _, err := s.ReportHost(ctx, uuid.NewString(), "late", inv, compute.Ratios{}); err != nil {
				t.Fatal(err)
			}
			if !member("late") {
				t.Fatal("a provider created after its host joined has not got the aggregate")
			}
			// The AZ as a Placement query, as Nova's prefilter asks it.
			cs, _, err := s.AllocationCandidates(ctx, placement.Query{Groups: []placement.Group{{Resources: map[string]int64{placement.VCPU: 1},
				MemberOf: [][]string{{agg.UUID}}}}})
			if err != nil || len(cs) != 2 {
				t.Fatalf("member_of candidates: %d, %v", len(cs), err)
			}
			if _, err := s.RemoveAggregateHost(ctx, agg.ID, "cn0"); err != nil {
				t.Fatal(err)
			}
			if member("cn0") {
				t.Fatal("cn0 left the aggregate but its provider did not")
			}
			svcs, _ := s.Services(ctx, compute.NovaCompute, "late")
			if err := s.DeleteService(ctx, svcs[0].UUID); err != nil {
				t.Fatal(err)
			}
			p, _ := s.Providers(ctx, compute.ProviderFilter{Name: "late"})
			if len(p) != 1 || slices.Contains(p[0].Aggregates, agg.UUID) {
				t.Fatalf("after its service was deleted, late's provider: %+v", p)
			}
		})
	}
}
