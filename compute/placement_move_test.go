package compute_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// A move holds the source and the destination until it is confirmed or
// reverted; a destination without room refuses the whole move.
func TestMoveDoublesUp(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, db, _ := newStore(t, eng.New(t))
			ctx := context.Background()
			a, b := host(t, s, "a", 4, 4096, 40), host(t, s, "b", 4, 4096, 40)
			small := host(t, s, "small", 1, 512, 40)
			inst := uuid.NewString()
			flavor := map[string]int64{placement.VCPU: 2, placement.MemoryMB: 2048}
			if err := s.Claim(ctx, compute.Claim{Consumer: inst, ProjectID: "p", UserID: "u", Resources: map[string]map[string]int64{a: flavor}}); err != nil {
				t.Fatal(err)
			}
			used := func(p string) int64 {
				pr, err := s.Provider(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return pr.Usages[placement.MemoryMB]
			}
			// No room on small: nothing moves.
			err := s.StartMove(ctx, inst, uuid.NewString(), map[string]map[string]int64{small: flavor})
			if fault.KindOf(err) != fault.Conflict || used(a) != 2048 || used(small) != 0 {
				t.Fatalf("refused move: %v, a %d small %d", err, used(a), used(small))
			}
			// Revert: back to a, b released.
			mig := uuid.NewString()
			if err := s.StartMove(ctx, inst, mig, map[string]map[string]int64{b: flavor}); err != nil {
				t.Fatal(err)
			}
			if used(a) != 2048 || used(b) != 2048 {
				t.Fatalf("during the move a %d b %d, want both held", used(a), used(b))
			}
			if err := s.RevertMove(ctx, inst, mig); err != nil {
				t.Fatal(err)
			}
			if used(a) != 2048 || used(b) != 0 {
				t.Fatalf("after revert a %d b %d", used(a), used(b))
			}
			// Confirm: on b, a released.
			mig = uuid.NewString()
			if err := s.StartMove(ctx, inst, mig, map[string]map[string]int64{b: flavor}); err != nil {
				t.Fatal(err)
			}
			if err := s.ConfirmMove(ctx, mig); err != nil {
				t.Fatal(err)
			}
			c, _ := s.Consumer(ctx, inst)
			if used(a) != 0 || used(b) != 2048 || c.Allocations[b].Resources[placement.VCPU] != 2 {
				t.Fatalf("after confirm a %d b %d, instance %+v", used(a), used(b), c)
			}
			var n int64
			db.Get(ctx, `SELECT COUNT(*) FROM compute_consumers`, nil, &n)
			if n != 1 {
				t.Fatalf("%d consumers left, want the instance only", n)
			}
		})
	}
}
