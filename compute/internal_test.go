package compute

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func internalStore(t *testing.T, dsn string) *Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), Migrations()); err != nil {
		t.Fatal(err)
	}
	return NewStore(db, watch.New(db))
}

// An inventory of a custom class is written on a one-connection
// database (sqlite::memory:): the class is looked up in the
// transaction, not beside it.
func TestCustomClassOnOneConnection(t *testing.T) {
	s := internalStore(t, "sqlite::memory:")
	ctx := context.Background()
	if _, err := s.CreateResourceClass(ctx, "CUSTOM_FPGA", true); err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProvider(ctx, "", "cn1", "")
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := s.SetInventories(tctx, p.UUID, nil, ReplaceAll, map[string]placement.Inventory{"CUSTOM_FPGA": placement.NewInventory(2)}); err != nil {
		t.Fatal(err)
	}
}

// A read of the store between a claim's commit and the cache being told
// of it has the claim already: the cache must not add it again.
func TestHostCacheReadDuringClaim(t *testing.T) {
	s := internalStore(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	ctx := context.Background()
	p, err := s.CreateProvider(ctx, "", "cn1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetInventories(ctx, p.UUID, nil, ReplaceAll, map[string]placement.Inventory{placement.VCPU: placement.NewInventory(8)}); err != nil {
		t.Fatal(err)
	}
	c := &HostCache{Store: s, MaxAge: time.Hour}
	if _, err := c.Hosts(ctx); err != nil {
		t.Fatal(err)
	}
	inst := "11111111-1111-1111-1111-111111111111"
	res := map[string]int64{placement.VCPU: 2}
	tok := c.token() // Reserve, before its claim
	if err := s.Claim(ctx, Claim{Consumer: inst, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{p.UUID: res}}); err != nil {
		t.Fatal(err)
	}
	c.Invalidate() // another scheduler's Hosts reads the store now
	if _, err := c.Hosts(ctx); err != nil {
		t.Fatal(err)
	}
	c.claimed(tok, p.UUID, inst, res) // Reserve tells the cache
	hs, _ := c.Hosts(ctx)
	if got := hs[0].Resources[placement.VCPU].Used; got != 2 {
		t.Fatalf("cache says VCPU used %d, store says 2", got)
	}
}

// Python-scale ratios do not wrap the capacity.
func TestCapacityDoesNotWrap(t *testing.T) {
	inv := placement.Inventory{Total: 1<<31 - 1, MinUnit: 1, MaxUnit: 1, StepSize: 1, AllocationRatio: 1e10}
	if inv.Capacity() <= 0 {
		t.Fatalf("capacity %d", inv.Capacity())
	}
}

// A sharing provider nested in a tree that is read in another chunk than
// the tree it serves: its tree is in the summaries (it was a nil entry).
func TestSharedProviderInAnotherChunk(t *testing.T) {
	s := internalStore(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	ctx := context.Background()
	mk := func(u, name, parent string) {
		if _, err := s.CreateProvider(ctx, u, name, parent); err != nil {
			t.Fatal(err)
		}
	}
	T := "00000000-0000-0000-0000-000000000001"
	R := "ffffffff-ffff-ffff-ffff-ffffffffffff"
	SP := "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
	agg := "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	mk(T, "compute", "")
	for i := 0; i < 500; i++ {
		mk(fmt.Sprintf("10000000-0000-0000-0000-%012d", i), fmt.Sprintf("filler%d", i), "")
	}
	mk(R, "storage-root", "")
	mk(SP, "shared-disk", R)
	if _, err := s.SetInventories(ctx, T, nil, ReplaceAll, map[string]placement.Inventory{placement.VCPU: placement.NewInventory(8)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetInventories(ctx, SP, nil, ReplaceAll, map[string]placement.Inventory{placement.DiskGB: placement.NewInventory(100)}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{T, SP} {
		if _, err := s.SetProviderAggregates(ctx, u, nil, []string{agg}); err != nil {
			t.Fatal(err)
		}
	}
	pr, _ := s.Provider(ctx, SP)
	if _, err := s.SetProviderTraits(ctx, SP, pr.Generation, []string{placement.SharesViaAggregate}); err != nil {
		t.Fatal(err)
	}
	cands, sums, err := s.AllocationCandidates(ctx, placement.Query{Groups: []placement.Group{{Resources: map[string]int64{placement.VCPU: 1, placement.DiskGB: 10}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 1 {
		t.Fatalf("%d candidates: %v", len(cands), cands)
	}
	for i, p := range sums {
		if p == nil {
			t.Fatalf("provider summary %d of %d is nil (GET /allocation_candidates would panic in summaries())", i, len(sums))
		}
	}
}
