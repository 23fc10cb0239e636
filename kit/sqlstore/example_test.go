package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/gostack/gostack/kit/sqlstore"
)

// An area's schema is a set of numbered SQL files, usually embedded with
// //go:embed; an in-memory file system stands in for it here.
var notes = sqlstore.Migrations{Area: "notes", Dir: ".", FS: fstest.MapFS{
	"0001_notes.sql": {Data: []byte(`CREATE TABLE notes (
	id TEXT PRIMARY KEY,
	body TEXT NOT NULL
);`)},
}}

// Open a database, apply the schema, write in a transaction and read
// back. The same code runs on PostgreSQL with a postgres:// DSN.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlstore-example")
	defer os.RemoveAll(dir)

	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, notes); err != nil { // once; the next Migrate finds nothing to do
		panic(err)
	}
	version, _ := db.SchemaVersion(ctx, "notes")
	fmt.Println(db.Dialect(), "schema version", version)

	// A transaction is retried from the start on contention: no effects
	// outside it but through AfterCommit.
	err = db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", "n1", "buy milk"); err != nil {
			return err
		}
		tx.AfterCommit(func() { fmt.Println("committed") })
		return nil
	})
	if err != nil {
		panic(err)
	}

	var body string
	err = db.Get(ctx, "SELECT body FROM notes WHERE id = ?", []any{"n1"}, &body)
	fmt.Println(body, err)
	err = db.Get(ctx, "SELECT body FROM notes WHERE id = ?", []any{"n2"}, &body)
	fmt.Println(errors.Is(err, sqlstore.ErrNotFound))
	_, err = db.Exec(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", "n1", "again")
	fmt.Println(errors.Is(err, sqlstore.ErrConflict))
	// Output:
	// sqlite schema version 1
	// committed
	// buy milk <nil>
	// true
	// true
}

// Redact makes a DSN safe to log.
func ExampleRedact() {
	fmt.Println(sqlstore.Redact("postgres://gostack:s3cret@db.example.net:5432/gostack?sslmode=verify-full"))
	// Output: postgres://gostack:xxxxx@db.example.net:5432/gostack?sslmode=verify-full
}
