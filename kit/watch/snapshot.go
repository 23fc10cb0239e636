package watch

import (
	"context"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
)

// Snapshot runs fn in one read-only snapshot and returns the feed's head
// as of that snapshot. A list endpoint uses it so that a watcher can
// resync: list the state with fn, then watch from the returned revision —
// no change is missed or seen twice.
func (l *Log) Snapshot(ctx context.Context, fn func(tx *sqlstore.Tx) error) (int64, error) {
	var head int64
	err := l.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.Get(ctx, "SELECT head FROM watch_state WHERE id = 1", nil, &head); err != nil {
			return err
		}
		return fn(tx)
	})
	return head, err
}

// Source is anything that can be long-polled for changes: a *Log in the
// same process, or a watchhttp.Client of a feed served over HTTP.
type Source interface {
	Wait(ctx context.Context, q Query, timeout time.Duration) (Batch, error)
}

var _ Source = (*Log)(nil)
