package libvirt

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestKeyLocks(t *testing.T) {
	var l keyLocks
	ctx := context.Background()
	unlockA, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another key does not wait.
	unlockB, err := l.lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	// A free key is taken even with an ended context (no coin toss
	// between the two ready cases).
	ended, endNow := context.WithCancel(ctx)
	endNow()
	for range 20 {
		unlock, err := l.lock(ended, "d")
		if err != nil {
			t.Fatalf("free key with an ended context: %v", err)
		}
		unlock()
	}
	// The same key waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of a held key: %v, want the deadline", err)
	}
	got := make(chan struct{})
	go func() {
		unlock, err := l.lock(ctx, "a")
		if err == nil {
			unlock()
		}
		close(got)
	}()
	unlockA()
	<-got
	// Many holders in turn; the map is empty once they are done.
	var wg sync.WaitGroup
	n := 0
	for range 50 {
		wg.Go(func() {
			unlock, err := l.lock(ctx, "c")
			if err != nil {
				t.Error(err)
				return
			}
			n++ // guarded by the key lock; the race detector checks it
			unlock()
		})
	}
	wg.Wait()
	if n != 50 || len(l.m) != 0 {
		t.Fatalf("n=%d, %d keys left", n, len(l.m))
	}
}
