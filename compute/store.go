package compute

import (
	"context"
	"embed"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the compute schema (Placement's resource providers and
// allocations, and Nova's aggregates, server groups and services), to
// apply with watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "compute", FS: migrationFS, Dir: "migrations"}
}

// Store keeps the compute area's state in a sqlstore database: the
// Placement model (placement_*.go) and the Nova objects the scheduler
// needs. Every write is one transaction that also appends to the watch
// feed (area "compute").
type Store struct {
	db   *sqlstore.DB
	feed *watch.Log

	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// QuotaDefaults override DefaultQuotas, by resource.
	QuotaDefaults map[string]int64
	// MaxBuildAttempts is how many hosts a build is tried on
	// (DefaultMaxBuildAttempts when 0; 1 never reschedules).
	MaxBuildAttempts int
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

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id, project string, op watch.Op, v any) error {
	_, err := s.feed.AppendValue(ctx, tx, watch.Change{Area: "compute", Kind: kind, ID: id, Project: project, Op: op}, v)
	return err
}
