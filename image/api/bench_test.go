package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// benchImages is how many images BenchmarkList seeds.
const benchImages = 100_000

// BenchmarkList measures GET /v2/images?limit=100 through the handler
// over benchImages images of the caller's project, on each engine: the
// first page, and a page 90% of the way down the default order (by
// marker). Seeding takes a few seconds per engine and happens only when
// the benchmark runs (go test -bench List).
func BenchmarkList(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			h, ids := benchImageAPI(b, e.DSN, benchImages)
			// ids are oldest first; the default order is newest first, so
			// the image 90% down that order is the one 10% from the start.
			deep := ids[benchImages/10]
			for _, page := range []struct{ name, query string }{
				{"first", "limit=100"},
				{"deep", "limit=100&marker=" + deep},
			} {
				b.Run(page.name, func(b *testing.B) {
					benchGet(b, h, "/v2/images?"+page.query, 100)
				})
			}
		})
	}
}

// benchGet serves path b.N times as memberA and checks that each answer
// is a page of want images.
func benchGet(b *testing.B, h http.Handler, path string, want int) {
	b.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Auth-Token", memberA)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		var body struct{ Images []json.RawMessage }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Images) != want {
			b.Fatalf("%s: %d images, %v", path, len(body.Images), err)
		}
	}
}

// benchImageAPI is the image API over a database on dsn holding n active
// private images of projectA, created one second apart; it returns the
// handler (fake identity in front) and the ids, oldest first.
func benchImageAPI(b *testing.B, dsn string, n int) (http.Handler, []string) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	svc := &image.Service{
		Store:   image.NewStore(db, watch.New(db)),
		Data:    &store.Filesystem{Dir: dir + "/data"},
		Staging: &store.Filesystem{Dir: dir + "/staging"},
	}
	b.Cleanup(svc.Wait)
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		b.Fatal(err)
	}
	ids, err := seedImages(ctx, db, n)
	if err != nil {
		b.Fatal(err)
	}
	// Statistics, as PostgreSQL's autovacuum gathers them soon after a
	// bulk load: without them the planners guess at the tables' sizes.
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	h := (&api.API{Service: svc, Policy: enf}).Handler()
	mw := &middleware.Middleware{Validator: callers(), Style: httpapi.Glance, Optional: true}
	return mw.Wrap(h), ids
}

// seedImages inserts n images in one transaction, 500 rows a statement,
// and returns their ids, oldest first.
func seedImages(ctx context.Context, db *sqlstore.DB, n int) ([]string, error) {
	const cols = `id, name, status, visibility, protected, os_hidden, owner, checksum, os_hash_algo, os_hash_value,
		size, virtual_size, container_format, disk_format, min_ram, min_disk, tags, properties, created_at, updated_at`
	const batch = 500
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", 20), ", ") + ")"
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	ids := make([]string, n)
	err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			args := make([]any, 0, (end-start)*20)
			for i := start; i < end; i++ {
				ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				at := t0 + int64(i)*1_000_000
				args = append(args, ids[i], fmt.Sprintf("image-%06d", i), "active", "private", false, false, projectA,
					"", "sha512", "", int64(1024+i), nil, "bare", "raw", 0, 0, `["bench"]`, `{"os_distro":"debian"}`, at, at)
			}
			q := "INSERT INTO image_images (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", end-start), ", ")
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}
