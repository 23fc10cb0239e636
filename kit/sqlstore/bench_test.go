package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
)

func benchDB(b *testing.B, dsn string) *sqlstore.DB {
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), testMigrations); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkWrite measures single-row write transactions (writes/s), the
// unit of work of every API mutation.
func BenchmarkWrite(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := benchDB(b, e.DSN)
			ctx := context.Background()
			run := time.Now().UnixNano() // the function runs once per b.N on the same database
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
					_, err := tx.Exec(ctx, "INSERT INTO widgets (id, name, size) VALUES (?, ?, ?)", fmt.Sprint(run, "w", i), fmt.Sprint(run, "n", i), i)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// BenchmarkRead measures primary-key reads.
func BenchmarkRead(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := benchDB(b, e.DSN)
			ctx := context.Background()
			for i := range 100 {
				if _, err := db.Exec(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", fmt.Sprint("w", i), fmt.Sprint("n", i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var name string
				for i := 0; pb.Next(); i++ {
					if err := db.Get(ctx, "SELECT name FROM widgets WHERE id = ?", []any{fmt.Sprint("w", i%100)}, &name); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
