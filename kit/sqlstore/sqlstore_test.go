package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"os"
	"strings"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testMigrations = sqlstore.Migrations{Area: "test", FS: os.DirFS("testdata/migrations")}

func open(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("migrate concurrently", func(t *testing.T) { testConcurrentMigrate(t, e.DSN) })
			db := open(t, e.DSN)
			t.Run("queries", func(t *testing.T) { testQueries(t, db) })
			t.Run("transactions", func(t *testing.T) { testTx(t, db) })
			t.Run("forward only", func(t *testing.T) { testForwardOnly(t, db) })
		})
	}
}

// Several processes starting at once each open their own pool and migrate;
// exactly one applies each migration and nobody fails.
func testConcurrentMigrate(t *testing.T, dsn string) {
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = db.Migrate(ctx, testMigrations)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
	}
	db := open(t, dsn)
	var count int
	if err := db.Get(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE area = ?", []any{"test"}, &count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Fatalf("schema_migrations has %d rows for area test, want 2", count)
	}
	if v, err := db.SchemaVersion(ctx, "test"); err != nil || v != 2 {
		t.Fatalf("SchemaVersion = %d, %v; want 2", v, err)
	}
	// Re-running is a no-op.
	if err := db.Migrate(ctx, testMigrations); err != nil {
		t.Fatal(err)
	}
}

func testQueries(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	if _, err := db.Exec(ctx, "INSERT INTO widgets (id, name, blob, size) VALUES (?, ?, ?, ?)", "w1", "one", []byte{0, 1, 2}, 3); err != nil {
		t.Fatal(err)
	}
	var name string
	var blob []byte
	if err := db.Get(ctx, "SELECT name, blob FROM widgets WHERE id = ? AND size = ?", []any{"w1", 3}, &name, &blob); err != nil {
		t.Fatal(err)
	}
	if name != "one" || string(blob) != "\x00\x01\x02" {
		t.Fatalf("got %q %x", name, blob)
	}
	err := db.Get(ctx, "SELECT name FROM widgets WHERE id = ?", []any{"nope"}, &name)
	if !errors.Is(err, sqlstore.ErrNotFound) || fault.KindOf(err) != fault.NotFound {
		t.Fatalf("missing row: err = %v (kind %v), want ErrNotFound", err, fault.KindOf(err))
	}
	_, err = db.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w2", "one")
	if !errors.Is(err, sqlstore.ErrConflict) || fault.KindOf(err) != fault.Conflict {
		t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
	}
	_, err = db.Exec(ctx, "INSERT INTO parts (id, widget_id) VALUES (?, ?)", "p1", "no-such-widget")
	if !errors.Is(err, sqlstore.ErrConflict) {
		t.Fatalf("foreign key: err = %v, want ErrConflict (foreign keys must be on)", err)
	}
	var ret string
	if err := db.Get(ctx, "INSERT INTO parts (id, widget_id, ok) VALUES (?, ?, ?) RETURNING id", []any{"p1", "w1", true}, &ret); err != nil || ret != "p1" {
		t.Fatalf("RETURNING: %q, %v", ret, err)
	}
}

func testTx(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	committed := false
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
		tx.AfterCommit(func() { committed = true })
		if _, err := tx.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "tx1", "rolled back"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || committed {
		t.Fatalf("rollback: err = %v, after-commit ran = %v", err, committed)
	}
	var n int
	if err := db.Get(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", []any{"tx1"}, &n); err != nil || n != 0 {
		t.Fatalf("rolled-back row visible: n=%d err=%v", n, err)
	}
	err = db.Tx(ctx, func(tx *sqlstore.Tx) error {
		tx.AfterCommit(func() { committed = true })
		_, err := tx.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "tx2", "kept")
		return err
	})
	if err != nil || !committed {
		t.Fatalf("commit: err = %v, after-commit ran = %v", err, committed)
	}
	err = db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		return tx.Get(ctx, "SELECT COUNT(*) FROM widgets", nil, &n)
	})
	if err != nil || n != 2 {
		t.Fatalf("ReadTx count = %d, %v; want 2", n, err)
	}
}

func testForwardOnly(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	changed := sqlstore.Migrations{Area: "test", FS: fstest.MapFS{
		"0001_widgets.sql": {Data: []byte("CREATE TABLE widgets (id TEXT);")},
		"0002_parts.sql":   {Data: []byte("CREATE TABLE parts (id TEXT);")},
	}}
	if err := db.Migrate(ctx, changed); err == nil {
		t.Fatal("a changed applied migration was accepted")
	}
	older := sqlstore.Migrations{Area: "test", FS: fstest.MapFS{
		"0001_widgets.sql": {Data: mustRead(t, "testdata/migrations/0001_widgets.sql")},
	}}
	if err := db.Migrate(ctx, older); !errors.Is(err, sqlstore.ErrNewerSchema) {
		t.Fatalf("older binary: err = %v, want ErrNewerSchema", err)
	}
	bad := sqlstore.Migrations{Area: "bad", FS: fstest.MapFS{
		"0001_ok.sql":  {Data: []byte("CREATE TABLE bad_ok (id TEXT);")},
		"0002_bad.sql": {Data: []byte("CREATE TABLE bad_ok (id TEXT);")},
	}}
	if err := db.Migrate(ctx, bad); err == nil {
		t.Fatal("failing migration accepted")
	}
	// Nothing of the failed run is left: the first file rolled back too.
	if v, err := db.SchemaVersion(ctx, "bad"); err != nil || v != 0 {
		t.Fatalf("after failed migrate, version = %d, %v; want 0", v, err)
	}
	if _, err := db.Exec(ctx, "SELECT * FROM bad_ok"); err == nil {
		t.Fatal("table from a failed migration run exists")
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "mysql://x", "sqlite:", "sqlite://"} {
		if _, err := sqlstore.Open(ctx, dsn); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
	_, err := sqlstore.Open(ctx, "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=1")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password leaked into error: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := map[string]string{
		"postgres://u:secret@h/db":             "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=secret":    "postgres://u@h/db?password=xxxxx",
		"sqlite:///var/lib/gostack/gostack.db": "sqlite:///var/lib/gostack/gostack.db",
	}
	for in, want := range tests {
		if got := sqlstore.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// The SQLite defaults the docs promise are in force on every connection.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db := open(t, "sqlite://"+t.TempDir()+"/p.db")
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		var got string
		if err := db.Get(ctx, "PRAGMA "+pragma, nil, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	// A DSN's own pragma wins over the default.
	db = open(t, "sqlite://"+t.TempDir()+"/n.db?_pragma=synchronous(NORMAL)")
	var got string
	if err := db.Get(ctx, "PRAGMA synchronous", nil, &got); err != nil || got != "1" {
		t.Fatalf("PRAGMA synchronous with override = %s, %v; want 1", got, err)
	}
}
