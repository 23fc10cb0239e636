package compute_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// wantCode checks err is a fault of kind with Placement code.
func wantCode(t *testing.T, err error, kind fault.Kind, code string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || fe.Type != code {
		t.Fatalf("got %v, want %s %s", err, kind, code)
	}
}

func ptr[T any](v T) *T { return &v }

// host makes a provider with VCPU, MEMORY_MB and DISK_GB inventories.
func host(t testing.TB, s *compute.Store, name string, vcpu, ram, disk int64) string {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProvider(ctx, "", name, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetInventories(ctx, p.UUID, ptr(p.Generation), compute.ReplaceAll, map[string]placement.Inventory{
		placement.VCPU: placement.NewInventory(vcpu), placement.MemoryMB: placement.NewInventory(ram), placement.DiskGB: placement.NewInventory(disk),
	}); err != nil {
		t.Fatal(err)
	}
	return p.UUID
}

func TestProviderTree(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			root, err := s.CreateProvider(ctx, "", "cn1", "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.CreateProvider(ctx, "", "cn1", "")
			wantCode(t, err, fault.Conflict, compute.CodeDuplicateName)
			_, err = s.CreateProvider(ctx, root.UUID, "other", "")
			wantCode(t, err, fault.Conflict, compute.CodeDuplicateName)
			_, err = s.CreateProvider(ctx, "", "x", uuid.NewString())
			wantCode(t, err, fault.BadRequest, compute.CodeDefault)

			numa, err := s.CreateProvider(ctx, "", "cn1_numa0", root.UUID)
			if err != nil || numa.RootUUID != root.UUID || numa.ParentUUID != root.UUID {
				t.Fatalf("child %+v, %v", numa, err)
			}
			leaf, err := s.CreateProvider(ctx, "", "cn1_numa0_pf", numa.UUID)
			if err != nil || leaf.RootUUID != root.UUID {
				t.Fatalf("grandchild %+v, %v", leaf, err)
			}
			// No loops; deleting a parent is refused.
			_, err = s.UpdateProvider(ctx, root.UUID, "cn1", leaf.UUID)
			wantCode(t, err, fault.BadRequest, compute.CodeDefault)
			wantCode(t, s.DeleteProvider(ctx, numa.UUID), fault.Conflict, compute.CodeCannotDeleteParent)
			// Un-parenting a subtree makes it a tree of its own.
			if _, err := s.UpdateProvider(ctx, numa.UUID, "cn1_numa0", ""); err != nil {
				t.Fatal(err)
			}
			got, err := s.Provider(ctx, leaf.UUID)
			if err != nil || got.RootUUID != numa.UUID {
				t.Fatalf("after un-parenting, leaf root %q (%v), want %q", got.RootUUID, err, numa.UUID)
			}
			tree, err := s.Providers(ctx, compute.ProviderFilter{InTree: leaf.UUID})
			if err != nil || len(tree) != 2 {
				t.Fatalf("in_tree: %d providers, %v", len(tree), err)
			}
			wantCode(t, s.DeleteProvider(ctx, uuid.NewString()), fault.NotFound, compute.CodeProviderNotFound)
		})
	}
}

func TestTraitsAggregatesClasses(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			u := host(t, s, "cn1", 8, 16384, 100)
			p, _ := s.Provider(ctx, u)
			_, err := s.SetProviderTraits(ctx, u, p.Generation, []string{"CUSTOM_GOLD"})
			wantCode(t, err, fault.BadRequest, compute.CodeDefault)
			if _, err := s.CreateTrait(ctx, "custom_gold"); fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("lower-case trait: %v", err)
			}
			if created, err := s.CreateTrait(ctx, "CUSTOM_GOLD"); err != nil || !created {
				t.Fatal(created, err)
			}
			_, err = s.SetProviderTraits(ctx, u, p.Generation-1, []string{"CUSTOM_GOLD"})
			wantCode(t, err, fault.Conflict, compute.CodeConcurrentUpdate)
			gen, err := s.SetProviderTraits(ctx, u, p.Generation, []string{"CUSTOM_GOLD", "HW_CPU_X86_AVX2", "CUSTOM_GOLD"})
			if err != nil || gen != p.Generation+1 {
				t.Fatal(gen, err)
			}
			wantCode(t, s.DeleteTrait(ctx, "CUSTOM_GOLD"), fault.Conflict, compute.CodeDefault)
			agg := uuid.NewString()
			if gen, err = s.SetProviderAggregates(ctx, u, &gen, []string{agg}); err != nil {
				t.Fatal(err)
			}
			ps, err := s.Providers(ctx, compute.ProviderFilter{MemberOf: [][]string{{agg}}, Required: []string{"CUSTOM_GOLD"},
				Resources: map[string]int64{placement.MemoryMB: 16384}})
			if err != nil || len(ps) != 1 {
				t.Fatalf("filtered providers: %d, %v", len(ps), err)
			}
			if ps, _ := s.Providers(ctx, compute.ProviderFilter{Resources: map[string]int64{placement.MemoryMB: 16385}}); len(ps) != 0 {
				t.Fatalf("a provider without room passed the resources filter")
			}
			// Classes: custom ones are made, used, and then kept.
			if _, err := s.CreateResourceClass(ctx, "CUSTOM_FPGA", true); err != nil {
				t.Fatal(err)
			}
			_, err = s.CreateResourceClass(ctx, "CUSTOM_FPGA", true)
			wantCode(t, err, fault.Conflict, compute.CodeDuplicateName)
			if _, err := s.SetInventories(ctx, u, &gen, compute.AddOnly, map[string]placement.Inventory{"CUSTOM_FPGA": placement.NewInventory(2)}); err != nil {
				t.Fatal(err)
			}
			wantCode(t, s.DeleteResourceClass(ctx, "CUSTOM_FPGA"), fault.Conflict, compute.CodeDefault)
			_, err = s.SetInventories(ctx, u, nil, compute.AddOnly, map[string]placement.Inventory{"CUSTOM_NOPE": placement.NewInventory(2)})
			wantCode(t, err, fault.BadRequest, compute.CodeDefault)
		})
	}
}

func TestClaimRules(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			u := host(t, s, "cn1", 4, 2048, 20)
			inst := uuid.NewString()
			claim := func(gen *int64, res map[string]int64) error {
				return s.Claim(ctx, compute.Claim{Consumer: inst, ProjectID: "p", UserID: "u", CheckGeneration: true, Generation: gen,
					Resources: map[string]map[string]int64{u: res}})
			}
			if err := claim(nil, map[string]int64{placement.VCPU: 2, placement.MemoryMB: 1024}); err != nil {
				t.Fatal(err)
			}
			// A stale or missing consumer generation is a concurrent update.
			wantCode(t, claim(nil, map[string]int64{placement.VCPU: 1}), fault.Conflict, compute.CodeConcurrentUpdate)
			wantCode(t, claim(ptr[int64](7), map[string]int64{placement.VCPU: 1}), fault.Conflict, compute.CodeConcurrentUpdate)
			c, err := s.Consumer(ctx, inst)
			if err != nil || c.Generation != 1 || c.Allocations[u].Resources[placement.MemoryMB] != 1024 {
				t.Fatalf("consumer %+v, %v", c, err)
			}
			// Replacing the allocation frees what it held: 2048 MiB fits now.
			if err := claim(&c.Generation, map[string]int64{placement.VCPU: 4, placement.MemoryMB: 2048}); err != nil {
				t.Fatal(err)
			}
			other := uuid.NewString()
			err = s.Claim(ctx, compute.Claim{Consumer: other, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.MemoryMB: 1}}})
			wantCode(t, err, fault.Conflict, compute.CodeDefault)
			if !strings.Contains(err.Error(), "would exceed the capacity") || !strings.Contains(err.Error(), "0 free of 2048") {
				t.Errorf("capacity refusal does not explain: %v", err)
			}
			err = s.Claim(ctx, compute.Claim{Consumer: other, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.DiskGB: 21}}})
			if !strings.Contains(fmt.Sprint(err), "inventory constraints") {
				t.Errorf("max_unit refusal: %v", err)
			}
			err = s.Claim(ctx, compute.Claim{Consumer: other, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.PCPU: 1}}})
			wantCode(t, err, fault.Conflict, compute.CodeDefault) // InvalidInventory, as Placement
			err = s.Claim(ctx, compute.Claim{Consumer: other, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{uuid.NewString(): {placement.VCPU: 1}}})
			wantCode(t, err, fault.BadRequest, compute.CodeDefault)
			// Nothing of the refused claims was written.
			if c, _ := s.Consumer(ctx, other); len(c.Allocations) != 0 {
				t.Fatalf("refused claims left %+v", c)
			}
			// The inventory in use cannot go; a ratio raised makes room.
			p, _ := s.Provider(ctx, u)
			_, err = s.SetInventories(ctx, u, &p.Generation, compute.DeleteOnly, map[string]placement.Inventory{placement.MemoryMB: {}})
			wantCode(t, err, fault.Conflict, compute.CodeInventoryInUse)
			ram := placement.NewInventory(2048)
			ram.AllocationRatio = 1.5
			if _, err := s.SetInventories(ctx, u, &p.Generation, compute.UpdateOnly, map[string]placement.Inventory{placement.MemoryMB: ram}); err != nil {
				t.Fatal(err)
			}
			if err := s.Claim(ctx, compute.Claim{Consumer: other, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.MemoryMB: 1024}}}); err != nil {
				t.Fatal(err)
			}
			use, err := s.Usages(ctx, "p", "", "")
			if err != nil || use[placement.MemoryMB] != 3072 || use[placement.VCPU] != 4 {
				t.Fatalf("usages %v, %v", use, err)
			}
			wantCode(t, s.DeleteProvider(ctx, u), fault.Conflict, compute.CodeProviderInUse)
			if err := s.DeleteAllocations(ctx, inst); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAllocations(ctx, inst); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("second delete: %v", err)
			}
			p, _ = s.Provider(ctx, u)
			if p.Usages[placement.MemoryMB] != 1024 || p.Usages[placement.VCPU] != 0 {
				t.Fatalf("usages after delete: %v", p.Usages)
			}
		})
	}
}

func TestReportHostRatios(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			u := uuid.NewString()
			inv := map[string]placement.Inventory{placement.VCPU: placement.NewInventory(8), placement.MemoryMB: placement.NewInventory(16384)}
			ratios := compute.Ratios{Initial: compute.DefaultInitialRatios()}
			p, err := s.ReportHost(ctx, u, "cn1", inv, ratios)
			if err != nil || p.Inventories[placement.VCPU].AllocationRatio != 4 || p.Inventories[placement.VCPU].Capacity() != 32 {
				t.Fatalf("first report: %+v, %v", p.Inventories, err)
			}
			// An admin sets 2.0 through the API; the next reports keep it
			// and, changing nothing, write nothing.
			vcpu := p.Inventories[placement.VCPU]
			vcpu.AllocationRatio = 2
			if _, err := s.SetInventories(ctx, u, &p.Generation, compute.UpdateOnly, map[string]placement.Inventory{placement.VCPU: vcpu}); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Provider(ctx, u)
			for range 3 {
				if p, err = s.ReportHost(ctx, u, "cn1", inv, ratios); err != nil {
					t.Fatal(err)
				}
			}
			if p.Inventories[placement.VCPU].AllocationRatio != 2 || p.Generation != before.Generation {
				t.Fatalf("reports overwrote the admin's ratio or bumped the generation: %+v gen %d→%d", p.Inventories[placement.VCPU], before.Generation, p.Generation)
			}
			// An override in the host's config wins.
			ratios.Override = map[string]float64{placement.VCPU: 16}
			if p, err = s.ReportHost(ctx, u, "cn1", inv, ratios); err != nil || p.Inventories[placement.VCPU].AllocationRatio != 16 {
				t.Fatalf("override: %+v, %v", p.Inventories, err)
			}
		})
	}
}

// Hostile amounts are refused as Placement refuses them, and change
// nothing: one past 32 bits (PostgreSQL once typed it as a 32-bit integer,
// an internal error), amounts of several consumers on one class whose sum
// is past int64 (it wrapped around and was written, a usage below 0), and
// a bad amount beside a good one (only the last consumer's was checked).
func TestClaimHostileAmounts(t *testing.T) {
	a, b := "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			u := host(t, s, "cn1", 4, 2048, 20)
			claim := func(c string, n int64) compute.Claim {
				return compute.Claim{Consumer: c, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.VCPU: n}}}
			}
			if err := s.Claim(ctx, claim(uuid.NewString(), 1)); err != nil {
				t.Fatal(err)
			}
			p, _ := s.Provider(ctx, u)
			ram := placement.NewInventory(2048)
			ram.StepSize = 512
			if _, err := s.SetInventories(ctx, u, &p.Generation, compute.UpdateOnly, map[string]placement.Inventory{placement.MemoryMB: ram}); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Provider(ctx, u)
			for _, tc := range []struct {
				name   string
				claims []compute.Claim
				want   string
			}{
				{"2^31", []compute.Claim{claim(a, 1<<31)}, "more than max_unit 4"},
				{"max int64", []compute.Claim{claim(a, 1<<63-1)}, "more than max_unit 4"},
				{"sum past int64", []compute.Claim{claim(a, 1<<63-1), claim(b, 2)}, "exceed the capacity"},
				{"sum past capacity", []compute.Claim{claim(a, 2), claim(b, 2)}, "4 requested, 3 free of 4"},
				{"bad step beside a good one", []compute.Claim{
					{Consumer: a, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.MemoryMB: 100}}},
					{Consumer: b, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{u: {placement.MemoryMB: 512}}},
				}, "100 requested, not a multiple of step_size 512"},
			} {
				err := s.ClaimAll(ctx, tc.claims)
				wantCode(t, err, fault.Conflict, compute.CodeDefault)
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
				}
			}
			if p, _ := s.Provider(ctx, u); p.Generation != before.Generation || p.Usages[placement.VCPU] != 1 || p.Usages[placement.MemoryMB] != 0 {
				t.Fatalf("refused claims changed the provider: %+v", p)
			}
			// Both consumers' amounts fit and meet the rules: both are written.
			if err := s.ClaimAll(ctx, []compute.Claim{claim(a, 2), claim(b, 1)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Through the store: a shared disk pool serves the hosts of its
// aggregate in GET /allocation_candidates, and a claim on host + pool is
// one claim.
func TestSharedCandidates(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			agg := uuid.NewString()
			cn, err := s.CreateProvider(ctx, "", "cn1", "")
			if err != nil {
				t.Fatal(err)
			}
			gen, _ := s.SetInventories(ctx, cn.UUID, nil, compute.ReplaceAll, map[string]placement.Inventory{placement.VCPU: placement.NewInventory(4)})
			if _, err := s.SetProviderAggregates(ctx, cn.UUID, &gen, []string{agg}); err != nil {
				t.Fatal(err)
			}
			pool, _ := s.CreateProvider(ctx, "", "pool", "")
			gen, _ = s.SetInventories(ctx, pool.UUID, nil, compute.ReplaceAll, map[string]placement.Inventory{placement.DiskGB: placement.NewInventory(100)})
			gen, _ = s.SetProviderAggregates(ctx, pool.UUID, &gen, []string{agg})
			if _, err := s.SetProviderTraits(ctx, pool.UUID, gen, []string{placement.SharesViaAggregate}); err != nil {
				t.Fatal(err)
			}
			cs, sums, err := s.AllocationCandidates(ctx, placement.Query{Groups: []placement.Group{{Resources: map[string]int64{placement.VCPU: 1, placement.DiskGB: 10}}}})
			if err != nil || len(cs) != 1 || cs[0].Allocations[pool.UUID][placement.DiskGB] != 10 || len(sums) != 2 {
				t.Fatalf("candidates %+v (summaries %d), %v", cs, len(sums), err)
			}
			if err := s.Claim(ctx, compute.Claim{Consumer: uuid.NewString(), ProjectID: "p", UserID: "u", Resources: cs[0].Allocations}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Two moves that would make a loop together (X under Y and Y under X, at
// the same time) take turns: one succeeds, the other is refused, and no
// loop is ever stored.
func TestReparentRace(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			root, _ := s.CreateProvider(ctx, "", "root", "")
			for i := range 4 { // PostgreSQL resolves each collision as a deadlock: about a second
				x, _ := s.CreateProvider(ctx, "", fmt.Sprintf("x%d", i), root.UUID)
				y, _ := s.CreateProvider(ctx, "", fmt.Sprintf("y%d", i), root.UUID)
				errs := make(chan error, 2)
				go func() { _, err := s.UpdateProvider(ctx, x.UUID, x.Name, y.UUID); errs <- err }()
				go func() { _, err := s.UpdateProvider(ctx, y.UUID, y.Name, x.UUID); errs <- err }()
				e1, e2 := <-errs, <-errs
				if (e1 == nil) == (e2 == nil) {
					t.Fatalf("round %d: %v and %v, want exactly one refused", i, e1, e2)
				}
				px, _ := s.Provider(ctx, x.UUID)
				py, _ := s.Provider(ctx, y.UUID)
				if px.ParentUUID == y.UUID && py.ParentUUID == x.UUID {
					t.Fatalf("round %d: a loop was stored", i)
				}
				if px.RootUUID != root.UUID || py.RootUUID != root.UUID {
					t.Fatalf("round %d: roots %s %s", i, px.RootUUID, py.RootUUID)
				}
			}
		})
	}
}
