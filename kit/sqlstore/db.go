package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Observer is told about every statement the kit runs: its verb (SELECT,
// INSERT, ...), how long it took and its error. Daemons use it for the
// database latency histogram; the kit itself imports no metrics library.
type Observer func(verb string, d time.Duration, err error)

// Option configures Open.
type Option func(*options)

type options struct {
	observe  Observer
	maxConns int
}

// WithObserver installs an Observer.
func WithObserver(o Observer) Option { return func(op *options) { op.observe = o } }

// WithMaxConns caps the connection pool (default 16).
func WithMaxConns(n int) Option { return func(op *options) { op.maxConns = n } }

// DB is an open database. It is safe for concurrent use.
//
// Every statement checks its context first. On PostgreSQL a context
// that ends also cancels the statement in flight. On SQLite a statement
// in flight runs to its end (no goroutine watches each statement's
// context), the next one fails with the context's error, and a
// transaction whose context ended rolls back instead of committing; a
// read-write transaction's wait for the write lock ends with its
// context.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	dsn     string // as given; use Redact before logging
	observe Observer

	rebindCache sync.Map // query -> rebound query (PostgreSQL)
}

// Open opens the database named by dsn and checks that it answers. For
// SQLite it creates the file's directory (0700) if needed.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	o := options{maxConns: 16}
	for _, f := range opts {
		f(&o)
	}
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if t.path != "" {
		if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
	}
	sdb, err := sql.Open(t.driver, t.source)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", t.dialect, err)
	}
	sdb.SetMaxOpenConns(o.maxConns)
	sdb.SetMaxIdleConns(o.maxConns)
	if t.dialect == SQLite && t.path == "" {
		// Every connection to :memory: is a new database: keep one.
		sdb.SetMaxOpenConns(1)
	}
	if err := ping(ctx, sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", Redact(dsn), err)
	}
	return &DB{sql: sdb, dialect: t.dialect, dsn: dsn, observe: o.observe}, nil
}

// ping checks that the database answers. A new SQLite connection sets
// journal_mode=WAL; on a fresh file that several processes open at once
// SQLite may refuse the switch with SQLITE_BUSY at once, without waiting
// for its busy timeout, so contention is tried again for a while.
func ping(ctx context.Context, sdb *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := sdb.PingContext(ctx)
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// DSN returns the DSN the database was opened with. It may hold a password:
// pass it through Redact before logging.
func (db *DB) DSN() string { return db.dsn }

// SQL returns the underlying *sql.DB for code that needs the raw handle.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

// Rebind rewrites ? placeholders to the engine's form.
func (db *DB) Rebind(q string) string {
	if db.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := db.rebindCache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	db.rebindCache.Store(q, out)
	return out
}

// rewriteDDL adapts portable DDL to the engine.
func (db *DB) rewriteDDL(q string) string {
	if db.dialect == Postgres {
		q = strings.ReplaceAll(q, "BLOB", "BYTEA")
	}
	return q
}

func (db *DB) note(q string, start time.Time, err error) {
	if db.observe == nil {
		return
	}
	db.observe(verb(q), time.Since(start), err)
}

func verb(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexAny(q, " \t\n("); i > 0 {
		q = q[:i]
	}
	return strings.ToUpper(q)
}

// querier is what DB and Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// stmtContext is the context a statement (or a read-only transaction) is
// handed to database/sql with, or ctx's error if ctx has already ended.
//
// On PostgreSQL it is ctx: a statement waiting on the server (a row
// lock, a slow plan) is cancelled with it. On SQLite it is ctx without
// its cancellation. Given a context that can end, database/sql and the
// SQLite driver each start a goroutine per statement to watch it (more
// than forty per token request in identity); on a saturated core that
// churn overflows the Go scheduler's local run queue into its global
// one, and the goroutines that serve connections then wait there for
// hundreds of milliseconds. SQLite runs a statement on the calling
// goroutine, so a context that ends stops the work before the next
// statement and before a commit, rather than in the middle of one.
func (db *DB) stmtContext(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if db.dialect == SQLite && ctx.Done() != nil {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

func exec(ctx context.Context, db *DB, x querier, q string, args []any) (sql.Result, error) {
	start := time.Now()
	sctx, err := db.stmtContext(ctx)
	var r sql.Result
	if err == nil {
		r, err = x.ExecContext(sctx, db.Rebind(q), args...)
	}
	db.note(q, start, err)
	return r, translate(err)
}

func query(ctx context.Context, db *DB, x querier, q string, args []any) (*sql.Rows, error) {
	start := time.Now()
	sctx, err := db.stmtContext(ctx)
	var r *sql.Rows
	if err == nil {
		r, err = x.QueryContext(sctx, db.Rebind(q), args...)
	}
	db.note(q, start, err)
	return r, translate(err)
}

func get(ctx context.Context, db *DB, x querier, q string, args []any, dest []any) error {
	start := time.Now()
	sctx, err := db.stmtContext(ctx)
	if err == nil {
		err = x.QueryRowContext(sctx, db.Rebind(q), args...).Scan(dest...)
	}
	db.note(q, start, err)
	return translate(err)
}

// Exec runs a statement outside any transaction.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return exec(ctx, db, db.sql, q, args)
}

// Query runs a query outside any transaction.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return query(ctx, db, db.sql, q, args)
}

// Get runs a one-row query and scans it into dest. No row gives ErrNotFound.
func (db *DB) Get(ctx context.Context, q string, args []any, dest ...any) error {
	return get(ctx, db, db.sql, q, args, dest)
}

// Tx is a transaction. Use it only inside the function given to DB.Tx.
type Tx struct {
	tx          *sql.Tx
	db          *DB
	afterCommit []func()
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return exec(ctx, tx.db, tx.tx, q, args)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return query(ctx, tx.db, tx.tx, q, args)
}

// Get runs a one-row query in the transaction. No row gives ErrNotFound.
func (tx *Tx) Get(ctx context.Context, q string, args []any, dest ...any) error {
	return get(ctx, tx.db, tx.tx, q, args, dest)
}

// Dialect reports the engine.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// AfterCommit queues fn to run once the transaction has committed (not on
// rollback). The watch feed uses it to wake waiters.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// maxAttempts bounds retries of a transaction that lost to contention.
const maxAttempts = 5

// Tx runs fn in a read-write transaction and commits if fn returns nil.
// A transaction that fails only because of contention (SQLite busy,
// PostgreSQL serialization failure or deadlock) is retried from the start,
// so fn must not have effects outside the transaction other than through
// AfterCommit.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	return db.runTx(ctx, nil, fn)
}

// ReadTx runs fn in a read-only transaction that sees one consistent
// snapshot of the database for all its statements.
func (db *DB) ReadTx(ctx context.Context, fn func(*Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return db.runTx(ctx, opts, fn)
}

func (db *DB) runTx(ctx context.Context, opts *sql.TxOptions, fn func(*Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.tryTx(ctx, opts, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func (db *DB) tryTx(ctx context.Context, opts *sql.TxOptions, fn func(*Tx) error) (err error) {
	// A read-write transaction keeps its context on both engines: its
	// BEGIN IMMEDIATE may wait for SQLite's write lock, and that wait
	// ends with the context. A read-only one never waits for a lock.
	bctx := ctx
	if opts != nil && opts.ReadOnly {
		if bctx, err = db.stmtContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: begin: %w", err)
		}
	}
	stx, err := db.sql.BeginTx(bctx, opts)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	tx := &Tx{tx: stx, db: db}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
		if err != nil {
			stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	// A context that ended during fn rolls back, as database/sql does
	// for a transaction whose context it watches.
	if err = ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", translate(err))
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}
