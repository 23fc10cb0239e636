package dns

import (
	"context"
	"embed"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the DNS schema, to apply with watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "dns", FS: migrationFS, Dir: "migrations"}
}

// Store keeps zones, recordsets, pools, TSIG keys and quotas in a sqlstore
// database. Every write is one transaction that also appends to the watch
// feed (area "dns", kinds "zone", "recordset", "pool", "tsigkey", "quota",
// "tld", "blacklist", "shared_zone" and those of transfers and tasks).
//
// Lock order, the same in every transaction so that PostgreSQL never
// deadlocks: the dns_locks row, then pools, then zones by id, then the
// feed (Append comes last).
type Store struct {
	db   *sqlstore.DB
	feed *watch.Log

	// Now is the clock (time.Now when nil); serials are its Unix seconds.
	Now func() time.Time
	// Defaults are the quotas of projects without overrides
	// (DefaultQuota() when zero).
	Defaults Quota
}

// NewStore returns a store over db, whose schema includes Migrations()
// and watch.Migrations().
func NewStore(db *sqlstore.DB, feed *watch.Log) *Store { return &Store{db: db, feed: feed} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func newID() string { return uuid.NewString() }

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id, project string, op watch.Op, v any) error {
	_, err := s.feed.AppendValue(ctx, tx, watch.Change{Area: "dns", Kind: kind, ID: id, Project: project, Op: op}, v)
	return err
}

// lockZones takes the dns_locks row that serializes zone creation and
// deletion and pool changes.
func lockZones(ctx context.Context, tx *sqlstore.Tx) error {
	_, err := tx.Exec(ctx, "UPDATE dns_locks SET n = n + 1 WHERE name = 'zones'")
	return err
}

type scanner interface{ Scan(...any) error }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
