package dns

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Quota is a project's limits, named as in Designate's quota API. -1 is
// unlimited. APIExportSize is kept for the zone-export API; the store
// itself does not export.
type Quota struct {
	Zones            int `json:"zones"`
	ZoneRecordSets   int `json:"zone_recordsets"`
	ZoneRecords      int `json:"zone_records"`
	RecordSetRecords int `json:"recordset_records"`
	APIExportSize    int `json:"api_export_size"`
}

// DefaultQuota is Designate's default quotas.
func DefaultQuota() Quota {
	return Quota{Zones: 10, ZoneRecordSets: 500, ZoneRecords: 500, RecordSetRecords: 20, APIExportSize: 1000}
}

// fields maps Designate's resource names to q's fields.
func (q *Quota) fields() map[string]*int {
	return map[string]*int{
		"zones": &q.Zones, "zone_recordsets": &q.ZoneRecordSets, "zone_records": &q.ZoneRecords,
		"recordset_records": &q.RecordSetRecords, "api_export_size": &q.APIExportSize,
	}
}

func (s *Store) defaults() Quota {
	if s.Defaults == (Quota{}) {
		return DefaultQuota()
	}
	return s.Defaults
}

// quota is the project's effective quota: the defaults and its overrides.
func (s *Store) quota(ctx context.Context, tx *sqlstore.Tx, project string) (Quota, error) {
	q := s.defaults()
	fields := q.fields()
	rows, err := tx.Query(ctx, "SELECT resource, hard_limit FROM dns_quotas WHERE project_id = ?", project)
	if err != nil {
		return Quota{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var resource string
		var limit int
		if err := rows.Scan(&resource, &limit); err != nil {
			return Quota{}, err
		}
		if f := fields[resource]; f != nil {
			*f = limit
		}
	}
	return q, rows.Err()
}

// GetQuota returns a project's effective quota.
func (s *Store) GetQuota(ctx context.Context, project string) (Quota, error) {
	var q Quota
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		q, err = s.quota(ctx, tx, project)
		return err
	})
	return q, err
}

// SetQuota overrides some of a project's limits, keyed by Designate's
// resource names ("zones", "zone_recordsets", ...), and returns the
// effective quota. Limits already in use above the new value stay; only
// new growth is refused.
func (s *Store) SetQuota(ctx context.Context, project string, limits map[string]int) (Quota, error) {
	if err := checkProjectID(project); err != nil {
		return Quota{}, err
	}
	var probe Quota
	fields := probe.fields()
	for _, resource := range slices.Sorted(maps.Keys(limits)) {
		if fields[resource] == nil {
			return Quota{}, invalid(resource, "%q is not a quota resource", resource)
		}
		if limits[resource] < -1 {
			return Quota{}, invalid(resource, "%s must be -1 (unlimited) or more", resource)
		}
	}
	var q Quota
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		for _, resource := range slices.Sorted(maps.Keys(limits)) {
			_, err := tx.Exec(ctx, `INSERT INTO dns_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)
				ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit`, project, resource, limits[resource])
			if err != nil {
				return err
			}
		}
		var err error
		if q, err = s.quota(ctx, tx, project); err != nil {
			return err
		}
		return s.record(ctx, tx, "quota", project, project, watch.Update, q)
	})
	return q, err
}

// ResetQuota drops a project's overrides: it is back to the defaults.
func (s *Store) ResetQuota(ctx context.Context, project string) error {
	if err := checkProjectID(project); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM dns_quotas WHERE project_id = ?", project)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // nothing was set: nothing changes
		}
		return s.record(ctx, tx, "quota", project, project, watch.Delete, nil)
	})
}

// checkProjectID holds a project id to Keystone's id format (1 to 64
// letters, digits, '-' and '_'): Designate takes any project id for a
// quota, but one Keystone could never issue only fills the table.
func checkProjectID(project string) error {
	if project == "" || len(project) > 64 || strings.Trim(project, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return invalid("project_id", "a project id is 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}
