package watch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/jackc/pgx/v5"
)

// notifyChannel is the PostgreSQL LISTEN/NOTIFY channel of the feed.
const notifyChannel = "gostack_watch"

// Run keeps the feed's background duties until ctx ends: on PostgreSQL it
// listens for other controllers' commits and wakes local waiters; if r is
// non-zero it compacts the feed every interval. It returns ctx.Err(),
// once the listener has closed its connection too.
func (l *Log) Run(ctx context.Context, r Retention, interval time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if l.db.Dialect() == sqlstore.Postgres {
		var wg sync.WaitGroup
		wg.Go(func() { l.listen(ctx, log) })
		defer wg.Wait()
	}
	if r == (Retention{}) || interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if h, err := l.Retain(ctx, r); err != nil && ctx.Err() == nil {
			log.Warn("watch: compaction failed", "err", err)
		} else if err == nil {
			log.Debug("watch: compacted", "horizon", h)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// listen holds a LISTEN connection, reconnecting with back-off, and wakes
// local waiters on every notification (and after every reconnect, since
// notifications sent while disconnected are lost).
func (l *Log) listen(ctx context.Context, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("watch: postgres listener lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (l *Log) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.db.DSN())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	l.wake.wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		l.wake.wake()
	}
}
