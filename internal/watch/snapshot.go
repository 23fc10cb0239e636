package watch

import (
	"context"

	"github.com/gostack/gostack/internal/sqlstore"
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
