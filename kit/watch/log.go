package watch

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the feed's schema, to apply with the area's own.
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "watch", FS: migrationFS, Dir: "migrations"}
}

// Log is the change feed of one database. Create one per database with New
// and share it; it is safe for concurrent use.
type Log struct {
	db      *sqlstore.DB
	wake    notifier
	poll    time.Duration
	metrics Observer
	now     func() time.Time
}

// Option configures a Log.
type Option func(*Log)

// WithPollInterval sets how often waiters re-check the database even
// without a wake-up (default 1s). It bounds the delay of changes written by
// another process when no LISTEN/NOTIFY is available (SQLite).
func WithPollInterval(d time.Duration) Option { return func(l *Log) { l.poll = d } }

// Observer receives the feed's measurements: the head revision this
// process appended, the compaction horizon, the number of long polls
// waiting (+1 when one starts, -1 when it ends), and each change's delay
// from commit to delivery. kit/watch/watchprom exports them to
// Prometheus. Calls come from many goroutines.
type Observer interface {
	Head(revision int64)
	Compacted(horizon int64)
	Waiters(delta int)
	Delivered(area string, lag time.Duration)
}

// WithObserver records head revision, delivery lag, waiters and
// compactions on o.
func WithObserver(o Observer) Option { return func(l *Log) { l.metrics = o } }

// New returns the feed over db, whose schema must include Migrations().
func New(db *sqlstore.DB, opts ...Option) *Log {
	l := &Log{db: db, poll: time.Second, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// AppendValue is Append with c.Data the JSON of v, the resource as it now
// is; a Delete (or a nil v) carries no data.
func (l *Log) AppendValue(ctx context.Context, tx *sqlstore.Tx, c Change, v any) (int64, error) {
	c.Data = nil
	if v != nil && c.Op != Delete {
		data, err := json.Marshal(v)
		if err != nil {
			return 0, fmt.Errorf("watch: %s %s %s: %w", c.Area, c.Kind, c.ID, err)
		}
		c.Data = data
	}
	return l.Append(ctx, tx, c)
}

// Append records c in the caller's transaction and returns its revision.
// Revision and At are set by Append. Waiters wake when tx commits.
func (l *Log) Append(ctx context.Context, tx *sqlstore.Tx, c Change) (int64, error) {
	if c.Area == "" || c.Kind == "" || c.ID == "" || c.Op == "" {
		return 0, fmt.Errorf("watch: append: area, kind, id and op are required")
	}
	var rev int64
	if err := tx.Get(ctx, "UPDATE watch_state SET head = head + 1 WHERE id = 1 RETURNING head", nil, &rev); err != nil {
		return 0, fmt.Errorf("watch: bump revision: %w", err)
	}
	var data any
	if len(c.Data) > 0 {
		data = string(c.Data)
	}
	at := l.now()
	if _, err := tx.Exec(ctx,
		"INSERT INTO watch_changes (rev, area, kind, id, project, op, data, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		rev, c.Area, c.Kind, c.ID, c.Project, string(c.Op), data, at.UnixMicro()); err != nil {
		return 0, fmt.Errorf("watch: append: %w", err)
	}
	if tx.Dialect() == sqlstore.Postgres {
		// Delivered at commit; identical payloads in one transaction collapse.
		if _, err := tx.Exec(ctx, "SELECT pg_notify(?, '')", notifyChannel); err != nil {
			return 0, fmt.Errorf("watch: notify: %w", err)
		}
	}
	tx.AfterCommit(l.wake.wake)
	if l.metrics != nil {
		tx.AfterCommit(func() { l.metrics.Head(rev) })
	}
	return rev, nil
}

// Head returns the latest revision and the compaction horizon.
func (l *Log) Head(ctx context.Context) (head, compacted int64, err error) {
	err = l.db.Get(ctx, "SELECT head, compacted FROM watch_state WHERE id = 1", nil, &head, &compacted)
	return head, compacted, err
}

// Since returns the changes after q.Since without waiting.
func (l *Log) Since(ctx context.Context, q Query) (Batch, error) {
	var b Batch
	err := l.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var head, compacted int64
		if err := tx.Get(ctx, "SELECT head, compacted FROM watch_state WHERE id = 1", nil, &head, &compacted); err != nil {
			return err
		}
		if q.Since < compacted {
			return &CompactedError{Since: q.Since, Horizon: compacted}
		}
		if q.Since > head {
			return fault.Invalid("since", "revision %d is ahead of the feed's head %d", q.Since, head)
		}
		var err error
		b, err = readChanges(ctx, tx, q, head)
		return err
	})
	return b, err
}

func readChanges(ctx context.Context, tx *sqlstore.Tx, q Query, head int64) (Batch, error) {
	stmt := "SELECT rev, area, kind, id, project, op, data, at FROM watch_changes WHERE rev > ?"
	args := []any{q.Since}
	if q.Area != "" {
		stmt += " AND area = ?"
		args = append(args, q.Area)
	}
	if q.Project != "" {
		stmt += " AND project = ?"
		args = append(args, q.Project)
	}
	limit := q.limit()
	stmt += " ORDER BY rev LIMIT ?"
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, stmt, args...)
	if err != nil {
		return Batch{}, fmt.Errorf("watch: read: %w", err)
	}
	defer rows.Close()
	b := Batch{Changes: []Change{}, Revision: head}
	for rows.Next() {
		var c Change
		var op string
		var data sql.NullString
		var at int64
		if err := rows.Scan(&c.Revision, &c.Area, &c.Kind, &c.ID, &c.Project, &op, &data, &at); err != nil {
			return Batch{}, fmt.Errorf("watch: read: %w", err)
		}
		c.Op = Op(op)
		if data.Valid {
			c.Data = []byte(data.String)
		}
		c.At = time.UnixMicro(at).UTC()
		b.Changes = append(b.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return Batch{}, fmt.Errorf("watch: read: %w", err)
	}
	if len(b.Changes) > limit {
		b.Changes = b.Changes[:limit]
		b.More = true
		b.Revision = b.Changes[limit-1].Revision
	}
	return b, nil
}

// Wait is Since that, when nothing has changed yet, blocks until a change
// arrives, timeout passes or ctx ends. A timeout is not an error: it
// returns an empty batch at the current head. A timeout <= 0 does not
// wait at all.
func (l *Log) Wait(ctx context.Context, q Query, timeout time.Duration) (Batch, error) {
	if timeout <= 0 {
		b, err := l.Since(ctx, q)
		l.observe(b)
		return b, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(l.poll)
	defer tick.Stop()
	if l.metrics != nil {
		l.metrics.Waiters(1)
		defer l.metrics.Waiters(-1)
	}
	for {
		woken := l.wake.channel() // before reading, so no wake-up is missed
		b, err := l.Since(ctx, q)
		if err != nil || len(b.Changes) > 0 {
			l.observe(b)
			return b, err
		}
		select {
		case <-woken:
		case <-tick.C:
		case <-timer.C:
			return b, nil
		case <-ctx.Done():
			return b, nil
		}
	}
}

func (l *Log) observe(b Batch) {
	if l.metrics == nil {
		return
	}
	now := l.now()
	for _, c := range b.Changes {
		l.metrics.Delivered(c.Area, now.Sub(c.At))
	}
}

// Compact drops changes with revision <= upTo (clamped to the head) and
// moves the horizon there. Watchers behind the horizon must resync.
func (l *Log) Compact(ctx context.Context, upTo int64) (int64, error) {
	var horizon int64
	err := l.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var head int64
		// Lock the state row first so compaction orders with appends.
		if err := tx.Get(ctx, "UPDATE watch_state SET head = head WHERE id = 1 RETURNING head, compacted", nil, &head, &horizon); err != nil {
			return err
		}
		upTo = min(upTo, head)
		if upTo <= horizon {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM watch_changes WHERE rev <= ?", upTo); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE watch_state SET compacted = ? WHERE id = 1", upTo); err != nil {
			return err
		}
		horizon = upTo
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("watch: compact: %w", err)
	}
	if l.metrics != nil {
		l.metrics.Compacted(horizon)
	}
	return horizon, nil
}

// Retention says how much of the feed to keep. Zero fields keep everything
// by that measure.
type Retention struct {
	MaxAge     time.Duration // drop changes older than this
	MaxChanges int64         // keep at most this many latest revisions
}

// Retain compacts the feed down to r and returns the new horizon.
func (l *Log) Retain(ctx context.Context, r Retention) (int64, error) {
	head, compacted, err := l.Head(ctx)
	if err != nil {
		return 0, err
	}
	upTo := compacted
	if r.MaxChanges > 0 && head-r.MaxChanges > upTo {
		upTo = head - r.MaxChanges
	}
	if r.MaxAge > 0 {
		var old sql.NullInt64
		cutoff := l.now().Add(-r.MaxAge).UnixMicro()
		if err := l.db.Get(ctx, "SELECT MAX(rev) FROM watch_changes WHERE at < ?", []any{cutoff}, &old); err != nil {
			return 0, err
		}
		if old.Valid && old.Int64 > upTo {
			upTo = old.Int64
		}
	}
	if upTo <= compacted {
		return compacted, nil
	}
	return l.Compact(ctx, upTo)
}

// notifier is a broadcast: channel() returns a channel closed by the next wake().
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) channel() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
