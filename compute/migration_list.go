package compute

import (
	"context"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
)

// MigrationFilter selects migrations as Nova's os-migrations does; the
// zero value selects all.
type MigrationFilter struct {
	Host          string // the source or the destination compute host
	SourceCompute string
	Status        string
	Type          string // "resize", "migration"
	UUID          string
	InstanceID    string
	UserID        string
	ProjectID     string
	// ChangesSince and ChangesBefore bound updated_at (inclusive).
	ChangesSince, ChangesBefore time.Time
	// Limit (0: all) and Marker (a migration's uuid: the ones after it)
	// page the list, newest first.
	Limit  int
	Marker string
}

// Migrations are the migration records f selects, newest first (Nova's
// created_at desc, id desc). A Marker that is no migration's is Nova's
// 400 MarkerNotFound.
func (s *Store) Migrations(ctx context.Context, f MigrationFilter) ([]Migration, error) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if f.Host != "" {
		add("(source_compute = ? OR dest_compute = ?)", f.Host, f.Host)
	}
	for _, c := range []struct{ col, v string }{{"source_compute", f.SourceCompute}, {"status", f.Status},
		{"migration_type", f.Type}, {"uuid", f.UUID}, {"instance_uuid", f.InstanceID}, {"user_id", f.UserID}, {"project_id", f.ProjectID}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.ChangesSince.IsZero() {
		add("updated_at >= ?", f.ChangesSince.UnixMicro())
	}
	if !f.ChangesBefore.IsZero() {
		add("updated_at <= ?", f.ChangesBefore.UnixMicro())
	}
	if f.Marker != "" {
		ms, err := queryMigrations(ctx, s.db, "uuid = ?", f.Marker)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, novaError(fault.BadRequest, "MarkerNotFound", "Marker %s could not be found.", f.Marker)
		}
		m := ms[0]
		add("(created_at < ? OR (created_at = ? AND id < ?))", m.CreatedAt.UnixMicro(), m.CreatedAt.UnixMicro(), m.ID)
	}
	cond := "1 = 1"
	if len(conds) > 0 {
		cond = strings.Join(conds, " AND ")
	}
	cond += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		cond += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := queryMigrations(ctx, s.db, cond, args...)
	if out == nil && err == nil {
		out = []Migration{}
	}
	return out, err
}
