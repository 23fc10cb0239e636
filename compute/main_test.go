package compute_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore opens a migrated compute Store on dsn (testenv.Engines).
func newStore(t testing.TB, dsn string) (*compute.Store, *sqlstore.DB, *watch.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	return compute.NewStore(db, feed), db, feed
}
