package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gostack/gostack/kit/watch"
)

// Loop is a host agent's main loop, the same for every agent: it is
// level-triggered. Sync reads the host's whole desired state from the
// controller, makes the host match it and returns the watch revision its
// read was a snapshot of; the loop then follows the feed from there and
// runs Sync again after any change, after a poke (Wake: the local
// component changed under the agent, say Open vSwitch restarted), and
// every Interval in any case. Changes that arrive while Sync runs are
// coalesced into one more run. A failed Sync is retried with back-off.
// Because every run starts from the full desired state and the host's
// observed state, an agent killed at any point converges when it starts
// again, with nothing of its own to recover.
type Loop struct {
	Sync func(ctx context.Context) (revision int64, err error)
	// Feed is the controller's watch feed for the agent's area (a
	// watchhttp.Client with Session.Prepare); Area filters a feed that
	// serves several.
	Feed watch.Source
	Area string
	// Wake pokes the loop into a Sync; nil for none.
	Wake <-chan struct{}
	// Interval between full Syncs when nothing happens (default 5 min).
	Interval time.Duration
	// Heartbeat, if set, runs at start and every HeartbeatInterval
	// (default 30 s, Neutron's report_interval): the agent's report.
	Heartbeat         func(ctx context.Context) error
	HeartbeatInterval time.Duration
	// PollTimeout bounds one long poll of the feed (default 30 s); the
	// client gives up 30 s after it.
	PollTimeout time.Duration
	// SyncTimeout bounds one Sync (default 5 min): a hung component makes
	// a failed Sync, retried, not a silent agent.
	SyncTimeout time.Duration
	Log         *slog.Logger
	// Synced, if set, is called after every successful Sync.
	Synced func(revision int64, took time.Duration)
}

func (l *Loop) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// Run runs the loop until ctx ends, and returns ctx's error.
func (l *Loop) Run(ctx context.Context) error {
	interval := l.Interval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	if l.Heartbeat != nil {
		go l.beat(ctx)
	}
	dirty := make(chan struct{}, 1)
	poke := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	started := false
	var bo backoff
	tick := time.NewTimer(interval)
	defer tick.Stop()
	syncTimeout := l.SyncTimeout
	if syncTimeout <= 0 {
		syncTimeout = 5 * time.Minute
	}
	for {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, syncTimeout)
		rev, err := l.Sync(sctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			l.log().Warn("agent: sync failed; retrying", "err", err)
			if !bo.sleep(ctx) {
				return ctx.Err()
			}
			continue
		}
		bo.reset()
		if l.Synced != nil {
			l.Synced(rev, time.Since(start))
		}
		if !started && l.Feed != nil {
			started = true
			go l.follow(ctx, rev, poke)
		}
		tick.Reset(interval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-dirty:
		case <-l.Wake:
		case <-tick.C:
		}
	}
}

// follow long-polls the feed from rev and pokes after every batch with
// changes (and after a compaction, which may have hidden some).
func (l *Loop) follow(ctx context.Context, rev int64, poke func()) {
	timeout := l.PollTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var bo backoff
	q := watch.Query{Area: l.Area, Since: rev}
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
		b, err := l.Feed.Wait(wctx, q, timeout)
		cancel()
		var ce *watch.CompactedError
		switch {
		case errors.As(err, &ce):
			if ce.Horizon <= q.Since { // no horizon given: do not spin
				bo.sleep(ctx)
			}
			q.Since = ce.Horizon
			poke()
			continue
		case err != nil:
			if ctx.Err() == nil {
				l.log().Warn("agent: watch feed", "err", err)
				bo.sleep(ctx)
			}
			continue
		}
		bo.reset()
		q.Since = b.Revision
		if len(b.Changes) > 0 {
			poke()
		}
	}
}

func (l *Loop) beat(ctx context.Context) {
	every := l.HeartbeatInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := l.Heartbeat(ctx); err != nil && ctx.Err() == nil {
			l.log().Warn("agent: report failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// backoff doubles from 100 ms to 10 s.
type backoff struct{ d time.Duration }

func (b *backoff) reset() { b.d = 0 }

// sleep waits the next delay; false if ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	b.d = min(max(2*b.d, 100*time.Millisecond), 10*time.Second)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
