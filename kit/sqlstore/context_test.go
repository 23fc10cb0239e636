package sqlstore_test

import (
	"context"
	"errors"
	"runtime/metrics"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
)

// A context that has ended stops every kind of statement before it runs,
// and a transaction whose context ends before it returns rolls back: the
// same on both engines, although SQLite statements run without a
// goroutine watching their context.
func TestContextEnded(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := open(t, e.DSN)
			bg := context.Background()
			if err := db.Migrate(bg, testMigrations); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(bg, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w1", "one"); err != nil {
				t.Fatal(err)
			}
			done, cancel := context.WithCancel(bg)
			cancel()
			var n int
			calls := []struct {
				name string
				run  func() error
			}{
				{"Exec", func() error {
					_, err := db.Exec(done, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w2", "two")
					return err
				}},
				{"Query", func() error {
					rows, err := db.Query(done, "SELECT id FROM widgets")
					if err == nil {
						rows.Close()
					}
					return err
				}},
				{"Get", func() error { return db.Get(done, "SELECT COUNT(*) FROM widgets", nil, &n) }},
				{"Tx", func() error {
					return db.Tx(done, func(tx *sqlstore.Tx) error {
						_, err := tx.Exec(done, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w3", "three")
						return err
					})
				}},
				{"ReadTx", func() error {
					return db.ReadTx(done, func(tx *sqlstore.Tx) error { return tx.Get(done, "SELECT COUNT(*) FROM widgets", nil, &n) })
				}},
			}
			for _, c := range calls {
				if err := c.run(); !errors.Is(err, context.Canceled) {
					t.Errorf("%s with an ended context: err = %v, want context.Canceled", c.name, err)
				}
			}

			// The context ends while the transaction runs: its writes and
			// its after-commit hooks are dropped.
			ctx, cancel := context.WithCancel(bg)
			committed := false
			err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
				tx.AfterCommit(func() { committed = true })
				if _, err := tx.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w4", "four"); err != nil {
					return err
				}
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) || committed {
				t.Errorf("Tx whose context ended: err = %v, after-commit ran = %v; want context.Canceled, false", err, committed)
			}
			// A statement after the end fails, in a read-only transaction too.
			ctx, cancel = context.WithCancel(bg)
			err = db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.Get(ctx, "SELECT COUNT(*) FROM widgets", nil, &n); err != nil {
					return err
				}
				cancel()
				return tx.Get(ctx, "SELECT COUNT(*) FROM widgets", nil, &n)
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ReadTx statement after its context ended: err = %v, want context.Canceled", err)
			}

			var ids []string
			rows, err := db.Query(bg, "SELECT id FROM widgets ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != "w1" {
				t.Fatalf("widgets after the ended contexts = %v, want only w1", ids)
			}
		})
	}
}

// On SQLite, reads under a context that can end start no goroutine: with
// one per statement from database/sql and one from the driver, a busy
// core's run queue overflowed and connections waited for hundreds of
// milliseconds.
func TestSQLiteReadsStartNoGoroutine(t *testing.T) {
	db := open(t, "sqlite://"+t.TempDir()+"/g.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := db.Migrate(ctx, testMigrations); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "w1", "one"); err != nil {
		t.Fatal(err)
	}
	read := func() {
		var n int
		if err := db.Get(ctx, "SELECT COUNT(*) FROM widgets", nil, &n); err != nil || n != 1 {
			t.Fatalf("Get: %d, %v", n, err)
		}
		rows, err := db.Query(ctx, "SELECT id, name FROM widgets")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	read() // the pool's connection is open
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("this Go runtime does not count the goroutines it creates")
	}
	before := sample[0].Value.Uint64()
	const reads = 100
	for range reads {
		read()
	}
	metrics.Read(sample)
	// Nothing else in the test starts goroutines; a few runtime ones
	// (GC workers) may start meanwhile.
	if created := sample[0].Value.Uint64() - before; created > reads/10 {
		t.Fatalf("%d reads (a Get and a Query each) started %d goroutines, want none", reads, created)
	}
}
