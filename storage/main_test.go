package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore opens a migrated storage Store on dsn (testenv.Engines),
// whose volumes and gigabytes are not limited by default (the quota
// tests set them back to Cinder's).
func newStore(t testing.TB, dsn string) (*storage.Store, *sqlstore.DB, *watch.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	s := storage.NewStore(db, feed)
	s.QuotaDefaults = map[string]int64{storage.QuotaVolumes: -1, storage.QuotaGigabytes: -1}
	return s, db, feed
}

// forEngine runs fn on a fresh store on every engine.
func forEngine(t *testing.T, fn func(t *testing.T, s *storage.Store, db *sqlstore.DB, feed *watch.Log)) {
	t.Helper()
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s, db, feed := newStore(t, e.DSN)
			fn(t, s, db, feed)
		})
	}
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

func ptr[T any](v T) *T { return &v }
