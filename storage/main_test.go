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
// tests set them back to Cinder's), with one large pool, defaultPool,
// in the default zone.
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
	addPool(t, s, defaultPool, "", storage.BackendReport{VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(100000), FreeCapacityGB: storage.GB(100000)})
	return s, db, feed
}

// defaultPool is the pool newStore makes.
const defaultPool = "host@lvm#pool"

// addPool reports pool host in zone az ("" for the default).
func addPool(t testing.TB, s *storage.Store, host, az string, r storage.BackendReport) storage.Backend {
	t.Helper()
	r.AvailabilityZone = az
	b, err := s.ReportBackend(context.Background(), host, r)
	if err != nil {
		t.Fatalf("report %s: %v", host, err)
	}
	return b
}

// nowhere is a volume type no pool takes: its volumes are never placed.
func nowhere(t testing.TB, s *storage.Store) string {
	t.Helper()
	if _, err := s.FindVolumeType(context.Background(), admin, "nowhere"); err == nil {
		return "nowhere"
	}
	if _, err := s.CreateVolumeType(context.Background(), storage.VolumeTypeCreate{Name: "nowhere",
		ExtraSpecs: map[string]string{"volume_backend_name": "none"}}); err != nil {
		t.Fatal(err)
	}
	return "nowhere"
}

// purge deletes volume id as its agent would: the delete, then the
// agent's report that the volume is gone.
func purge(t testing.TB, s *storage.Store, v storage.Viewer, id string) {
	t.Helper()
	ctx := context.Background()
	vol, err := s.DeleteVolume(ctx, v, id, storage.DeleteOptions{Force: true})
	if err != nil {
		t.Fatalf("delete %s: %v", id, err)
	}
	if vol.DeletedAt != nil {
		return
	}
	if _, err := s.ReportVolume(ctx, vol.Host, id, storage.VolumeReport{Status: vol.Status}); err != nil {
		t.Fatalf("report %s deleted: %v", id, err)
	}
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
