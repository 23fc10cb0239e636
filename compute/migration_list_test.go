package compute_test

import (
	"context"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// os-migrations' list: newest first with Nova's integer ids, who asked,
// filters (host matching either end), and pages by uuid marker.
func TestMigrationList(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			var ms []compute.Migration
			for n, host := range []string{"h1", "h1", "h2"} {
				i := e.create(t, "req-create")
				if _, err := e.s.Place(ctx, i.UUID, host, host, nil); err != nil {
					t.Fatal(err)
				}
				if _, err := e.s.ReportInstance(ctx, host, i.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active,
					PowerState: compute.PowerRunning}); err != nil {
					t.Fatal(err)
				}
				var flavor *compute.InstanceFlavor
				if n == 1 {
					flavor = &compute.InstanceFlavor{ID: "2", Name: "small", VCPUs: 2}
				}
				_, m, err := e.s.StartResize(as("req-move"), admin, i.UUID, flavor, "")
				if err != nil {
					t.Fatal(err)
				}
				if m.ID != int64(n+1) || m.UserID != "alice" || m.ProjectID != "proj-a" {
					t.Fatalf("migration %d: %+v", n, m)
				}
				ms = append(ms, m)
			}
			ids := func(f compute.MigrationFilter) []int64 {
				t.Helper()
				l, err := e.s.Migrations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				out := []int64{}
				for _, m := range l {
					out = append(out, m.ID)
				}
				return out
			}
			for _, c := range []struct {
				name string
				f    compute.MigrationFilter
				want []int64
			}{
				{"all, newest first", compute.MigrationFilter{}, []int64{3, 2, 1}},
				{"host h1", compute.MigrationFilter{Host: "h1"}, []int64{2, 1}},
				{"source h2", compute.MigrationFilter{SourceCompute: "h2"}, []int64{3}},
				{"resizes", compute.MigrationFilter{Type: "resize"}, []int64{2}},
				{"migrations", compute.MigrationFilter{Type: "migration"}, []int64{3, 1}},
				{"of an instance", compute.MigrationFilter{InstanceID: ms[0].InstanceID}, []int64{1}},
				{"a status", compute.MigrationFilter{Status: compute.MigrationPreMigrating}, []int64{3, 2, 1}},
				{"another status", compute.MigrationFilter{Status: compute.MigrationConfirmed}, []int64{}},
				{"another user", compute.MigrationFilter{UserID: "bob"}, []int64{}},
				{"a page", compute.MigrationFilter{Limit: 2}, []int64{3, 2}},
				{"the next page", compute.MigrationFilter{Limit: 2, Marker: ms[1].UUID}, []int64{1}},
				{"changed later", compute.MigrationFilter{ChangesSince: ms[2].UpdatedAt.Add(time.Second)}, []int64{}},
				{"changed before", compute.MigrationFilter{ChangesBefore: ms[1].UpdatedAt}, []int64{2, 1}},
			} {
				if got := ids(c.f); len(got) != len(c.want) || len(got) > 0 && got[0] != c.want[0] || len(got) > 1 && got[len(got)-1] != c.want[len(c.want)-1] {
					t.Errorf("%s: %v, want %v", c.name, got, c.want)
				}
			}
			if _, err := e.s.Migrations(ctx, compute.MigrationFilter{Marker: "nope"}); fault.KindOf(err) != fault.BadRequest ||
				fault.Message(err) != "Marker nope could not be found." {
				t.Fatalf("an unknown marker: %v", err)
			}
		})
	}
}
