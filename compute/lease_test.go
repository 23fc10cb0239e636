package compute_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/internal/testenv"
)

func TestLease(t *testing.T) {
	e := newNovaEnv(t, "sqlite://"+t.TempDir()+"/l.db")
	ok := func(id, owner string, want bool) {
		t.Helper()
		got, err := e.s.Lease(e.ctx, id, owner, time.Minute)
		if err != nil || got != want {
			t.Fatalf("lease %s by %s: %v %v, want %v", id, owner, got, err, want)
		}
	}
	ok("i1", "ctl-a", true)
	ok("i1", "ctl-b", false)
	ok("i1", "ctl-a", true) // its own again (a restart under the same name)
	e.now = e.now.Add(2 * time.Minute)
	ok("i1", "ctl-b", true) // expired
	if err := e.s.Unlease(e.ctx, "i1", "ctl-a"); err != nil {
		t.Fatal(err)
	}
	ok("i1", "ctl-a", false) // ctl-a's unlease did not free ctl-b's
	if err := e.s.Unlease(e.ctx, "i1", "ctl-b"); err != nil {
		t.Fatal(err)
	}
	ok("i1", "ctl-a", true)
}

// Two controllers' builders over one database, at once: every instance
// is placed once, with one claim.
func TestTwoBuilders(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e, _ := rescheduleEnv(t, eng.DSN, 3)
			var builders []*compute.Builder
			for _, name := range []string{"ctl-a", "ctl-b"} {
				sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: e.s})
				if err != nil {
					t.Fatal(err)
				}
				builders = append(builders, &compute.Builder{Store: e.s, Scheduler: sch, Host: name})
			}
			var ids []string
			for range 8 {
				ids = append(ids, e.newServer(t).UUID)
			}
			var wg sync.WaitGroup
			for _, b := range builders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						if err := b.BuildWaiting(e.ctx); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			for _, id := range ids {
				i, err := e.s.Instance(e.ctx, compute.Viewer{Admin: true}, id)
				if err != nil || i.Host == "" || i.TaskState != compute.Spawning {
					t.Fatalf("instance %s: host %q task %q %v", id, i.Host, i.TaskState, err)
				}
				c, err := e.s.Consumer(e.ctx, id)
				if err != nil || len(c.Allocations) != 1 {
					t.Fatalf("instance %s holds %v %v", id, c.Allocations, err)
				}
			}
		})
	}
}
