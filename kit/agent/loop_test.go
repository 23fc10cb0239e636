package agent_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func newFeed(t *testing.T) (*sqlstore.DB, *watch.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "feed.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations()); err != nil {
		t.Fatal(err)
	}
	return db, watch.New(db, watch.WithPollInterval(10*time.Millisecond))
}

func appendChange(t *testing.T, db *sqlstore.DB, feed *watch.Log, area string) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sqlstore.Tx) error {
		_, err := feed.Append(context.Background(), tx, watch.Change{Area: area, Kind: "port", ID: "p", Op: watch.Update})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The loop syncs at start, after a change of its area (not of another),
// after a poke, and again after a failed sync; the heartbeat runs at
// start.
func TestLoop(t *testing.T) {
	db, feed := newFeed(t)
	var syncs, beats atomic.Int32
	var fail atomic.Bool
	wake := make(chan struct{}, 1)
	l := &agent.Loop{
		Sync: func(ctx context.Context) (int64, error) {
			syncs.Add(1)
			if fail.Swap(false) {
				return 0, errors.New("controller unreachable")
			}
			head, _, err := feed.Head(ctx)
			return head, err
		},
		Feed: feed, Area: "network", Wake: wake,
		Heartbeat:   func(context.Context) error { beats.Add(1); return nil },
		PollTimeout: time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	waitFor(t, "first sync and report", func() bool { return syncs.Load() == 1 && beats.Load() == 1 })

	appendChange(t, db, feed, "network")
	waitFor(t, "a sync after a change", func() bool { return syncs.Load() == 2 })
	appendChange(t, db, feed, "compute") // another area's
	time.Sleep(200 * time.Millisecond)
	if n := syncs.Load(); n != 2 {
		t.Fatalf("%d syncs: another area's change woke the loop", n)
	}
	fail.Store(true)
	wake <- struct{}{}
	waitFor(t, "a poke, a failure and the retry", func() bool { return syncs.Load() == 4 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
