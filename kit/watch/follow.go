package watch

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Reconciler is what an agent plugs into Follow.
type Reconciler interface {
	// Apply makes the world match one change. It must be idempotent: after
	// a crash the agent may see a change it had already applied.
	Apply(ctx context.Context, c Change) error
	// Resync lists the full desired state, makes the world match it, and
	// returns the revision to watch from (Log.Snapshot's revision).
	Resync(ctx context.Context) (int64, error)
}

// FollowOptions tune Follow. The zero value is fine.
type FollowOptions struct {
	PollTimeout time.Duration                             // long-poll timeout (default 30s)
	Limit       int                                       // batch size (default: the server's)
	Log         *slog.Logger                              // default slog.Default()
	Applied     func(ctx context.Context, revision int64) // called after each applied change, e.g. to persist the revision
}

// Follow applies every change of src after since, in order, until ctx
// ends. A change whose Apply fails is retried with back-off and the feed
// does not advance past it: Follow is level-triggered, and an agent killed
// at any point resumes from the last revision it recorded. When since is
// compacted away, Follow calls Resync and continues from its revision.
// It returns ctx's error.
func Follow(ctx context.Context, src Source, q Query, r Reconciler, o FollowOptions) error {
	if o.PollTimeout <= 0 {
		o.PollTimeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Limit > 0 {
		q.Limit = o.Limit
	}
	var bo backoff
	for ctx.Err() == nil {
		b, err := src.Wait(ctx, q, o.PollTimeout)
		if errors.Is(err, ErrCompacted) {
			o.Log.Info("watch: feed compacted past our revision; resyncing", "since", q.Since)
			rev, err := r.Resync(ctx)
			if err != nil {
				o.Log.Warn("watch: resync failed", "err", err)
				bo.sleep(ctx)
				continue
			}
			q.Since = rev
			bo.reset()
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				o.Log.Warn("watch: read failed", "err", err)
				bo.sleep(ctx)
			}
			continue
		}
		bo.reset()
		for _, c := range b.Changes {
			if !applyOne(ctx, r, c, o) {
				return ctx.Err()
			}
			q.Since = c.Revision
		}
		if b.Revision > q.Since && !b.More {
			q.Since = b.Revision
		}
	}
	return ctx.Err()
}

// applyOne retries one change until it applies or ctx ends.
func applyOne(ctx context.Context, r Reconciler, c Change, o FollowOptions) bool {
	var bo backoff
	for {
		err := r.Apply(ctx, c)
		if err == nil {
			if o.Applied != nil {
				o.Applied(ctx, c.Revision)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		o.Log.Warn("watch: apply failed; will retry", "revision", c.Revision, "kind", c.Kind, "id", c.ID, "err", err)
		bo.sleep(ctx)
	}
}

// backoff doubles from 50ms to 10s.
type backoff struct{ d time.Duration }

func (b *backoff) reset() { b.d = 0 }

func (b *backoff) sleep(ctx context.Context) {
	if b.d == 0 {
		b.d = 50 * time.Millisecond
	} else {
		b.d = min(2*b.d, 10*time.Second)
	}
	select {
	case <-ctx.Done():
	case <-time.After(b.d):
	}
}
