package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// benchRecordSets is how many recordsets BenchmarkListRecordSets seeds in
// one zone.
const benchRecordSets = 100_000

// BenchmarkListRecordSets measures GET /v2/zones/{id}/recordsets?limit=100
// through the handler over one zone of benchRecordSets A recordsets, on
// each engine: the first page and a page 90% of the way down (by marker),
// each with metadata.total_count (the default) and without it
// (OpenStack-DNS-Hide-Counts). Seeding happens only when the benchmark
// runs (go test -bench ListRecordSets).
func BenchmarkListRecordSets(b *testing.B) {
	for _, e := range testenv.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			h, zoneID, ids := benchDNSAPI(b, e.DSN, benchRecordSets)
			path := "/v2/zones/" + zoneID + "/recordsets?limit=100"
			for _, page := range []struct{ name, path string }{
				{"first", path},
				{"deep", path + "&marker=" + ids[benchRecordSets*9/10]},
			} {
				for _, hide := range []bool{false, true} {
					name := page.name
					if hide {
						name += "-hidecounts"
					}
					b.Run(name, func(b *testing.B) { benchRecordSetPage(b, h, page.path, hide) })
				}
			}
		})
	}
}

// benchRecordSetPage serves path b.N times as memberA and checks that
// each answer is a page of 100 recordsets.
func benchRecordSetPage(b *testing.B, h http.Handler, path string, hideCounts bool) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Auth-Token", memberA)
	if hideCounts {
		req.Header.Set("OpenStack-DNS-Hide-Counts", "True")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		var body struct{ RecordSets []json.RawMessage }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.RecordSets) != 100 {
			b.Fatalf("%s: %d recordsets, %v", path, len(body.RecordSets), err)
		}
	}
}

// benchDNSAPI is the DNS API over a database on dsn with one zone of
// projectA holding n A recordsets (besides its SOA and NS), created one
// second apart before the zone's own; it returns the handler, the zone's
// id and the recordsets' ids, oldest first.
func benchDNSAPI(b *testing.B, dsn string, n int) (http.Handler, string, []string) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		b.Fatal(err)
	}
	s := dns.NewStore(db, watch.New(db))
	if _, err := s.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		b.Fatal(err)
	}
	z, err := s.CreateZone(ctx, dns.Zone{ProjectID: projectA, PoolID: dns.DefaultPoolID, Name: "bench.example.com.",
		Email: "hostmaster@bench.example.com", TTL: 600})
	if err != nil {
		b.Fatal(err)
	}
	ids, err := seedRecordSets(ctx, db, z.ID, n)
	if err != nil {
		b.Fatal(err)
	}
	// Statistics, as PostgreSQL's autovacuum gathers them soon after a
	// bulk load: without them the planners guess at the tables' sizes.
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		b.Fatal(err)
	}
	h := (&api.API{Store: s, Policy: enf}).Handler()
	mw := &middleware.Middleware{Validator: callers(), Style: httpapi.Designate, Optional: true}
	return mw.Wrap(h), z.ID, ids
}

// seedRecordSets inserts n A recordsets of one record each into zone in
// one transaction, 500 rows a statement, and returns their ids, oldest
// first.
func seedRecordSets(ctx context.Context, db *sqlstore.DB, zoneID string, n int) ([]string, error) {
	const batch = 500
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	ids := make([]string, n)
	err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			var sets, records []any
			setRows, recordRows := "", ""
			for i := start; i < end; i++ {
				ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				at := t0 + int64(i)*1_000_000
				sets = append(sets, ids[i], zoneID, projectA, fmt.Sprintf("host-%06d.bench.example.com.", i), "A",
					"", "ACTIVE", "NONE", 1, at, at)
				records = append(records, ids[i], zoneID, 0, fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
				if i > start {
					setRows, recordRows = setRows+", ", recordRows+", "
				}
				setRows += "(?, ?, ?, ?, ?, NULL, ?, ?, ?, 1, ?, ?, ?)"
				recordRows += "(?, ?, ?, ?)"
			}
			if _, err := tx.Exec(ctx, "INSERT INTO dns_recordsets (id, zone_id, project_id, name, type, ttl, description, status, action, serial, version, created_at, updated_at) VALUES "+setRows, sets...); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO dns_records (recordset_id, zone_id, position, data) VALUES "+recordRows, records...); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}
