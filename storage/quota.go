package storage

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Cinder's quota resources: the global ones, and per volume type
// "<part>_<type name>" for each of TypeQuotaParts.
const (
	QuotaVolumes            = "volumes"
	QuotaGigabytes          = "gigabytes"
	QuotaSnapshots          = "snapshots"
	QuotaPerVolumeGigabytes = "per_volume_gigabytes"
	QuotaBackups            = "backups"
	QuotaBackupGigabytes    = "backup_gigabytes"
	QuotaGroups             = "groups"
)

// TypeQuotaParts are the resources Cinder also keeps per volume type.
var TypeQuotaParts = []string{QuotaVolumes, QuotaGigabytes, QuotaSnapshots}

// DefaultQuotas are Cinder's defaults (cinder/quota.py's quota_* options
// and per_volume_size_limit); -1 is no limit. A per-type resource
// defaults to -1 unless Store.QuotaDefaults names it.
func DefaultQuotas() map[string]int64 {
	return map[string]int64{QuotaVolumes: 10, QuotaSnapshots: 10, QuotaGigabytes: 1000, QuotaPerVolumeGigabytes: -1,
		QuotaBackups: 10, QuotaBackupGigabytes: 1000, QuotaGroups: 10}
}

// lockProject takes project's quota lock until the transaction ends: the
// first lock of every transaction that counts the project's use.
func lockProject(ctx context.Context, tx *sqlstore.Tx, project string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO storage_project_locks (project_id, n) VALUES (?, 1)
		ON CONFLICT (project_id) DO UPDATE SET n = storage_project_locks.n + 1`, project); err != nil {
		return fmt.Errorf("storage: lock project %s: %w", project, err)
	}
	return nil
}

// typeNames are the names of every volume type.
func typeNames(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT name FROM storage_volume_types ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("storage: volume type names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("storage: volume type names: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// quotaResources are the resources there are now, sorted.
func quotaResources(ctx context.Context, q querier) ([]string, error) {
	names, err := typeNames(ctx, q)
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Keys(DefaultQuotas()))
	for _, n := range names {
		for _, p := range TypeQuotaParts {
			out = append(out, p+"_"+n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// QuotaResources are the quota resources there are now (the global
// ones and those of every volume type), sorted.
func (s *Store) QuotaResources(ctx context.Context) ([]string, error) {
	return quotaResources(ctx, s.db)
}

func (s *Store) defaultsFor(resources []string) map[string]int64 {
	def := DefaultQuotas()
	out := make(map[string]int64, len(resources))
	for _, r := range resources {
		n, ok := s.QuotaDefaults[r]
		if !ok {
			if n, ok = def[r]; !ok {
				n = -1
			}
		}
		out[r] = n
	}
	return out
}

// QuotaDefaultSet is the default limit of every resource there is now
// (Cinder's os-quota-sets defaults).
func (s *Store) QuotaDefaultSet(ctx context.Context) (map[string]int64, error) {
	rs, err := quotaResources(ctx, s.db)
	if err != nil {
		return nil, err
	}
	return s.defaultsFor(rs), nil
}

func (s *Store) quotasIn(ctx context.Context, q querier, project string) (map[string]int64, error) {
	rs, err := quotaResources(ctx, q)
	if err != nil {
		return nil, err
	}
	out := s.defaultsFor(rs)
	rows, err := q.Query(ctx, "SELECT resource, hard_limit FROM storage_quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, fmt.Errorf("storage: quotas of %s: %w", project, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, fmt.Errorf("storage: quotas of %s: %w", project, err)
		}
		if _, ok := out[r]; ok { // a deleted type's quota is no resource any more
			out[r] = n
		}
	}
	return out, rows.Err()
}

// Quotas are project's limits for every resource: its own where set,
// else the defaults.
func (s *Store) Quotas(ctx context.Context, project string) (map[string]int64, error) {
	return s.quotasIn(ctx, s.db, project)
}

// usageIn counts what project uses, from the rows: volumes and their
// gigabytes (an extend under way counts its new size), snapshots and
// theirs, in total and by type, backups and theirs. Groups, which
// nothing here makes, are 0.
func usageIn(ctx context.Context, q querier, project string) (map[string]int64, error) {
	rs, err := quotaResources(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rs))
	for _, r := range rs {
		out[r] = 0
	}
	rows, err := q.Query(ctx, `SELECT COALESCE(t.name, ''), COUNT(*), SUM(CASE WHEN v.new_size > v.size THEN v.new_size ELSE v.size END)
		FROM storage_volumes v LEFT JOIN storage_volume_types t ON t.id = v.volume_type_id
		WHERE v.project_id = ? AND v.deleted_at IS NULL GROUP BY t.name`, project)
	if err != nil {
		return nil, fmt.Errorf("storage: usage of %s: %w", project, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n, gb int64
		if err := rows.Scan(&name, &n, &gb); err != nil {
			return nil, fmt.Errorf("storage: usage of %s: %w", project, err)
		}
		out[QuotaVolumes] += n
		out[QuotaGigabytes] += gb
		if name != "" {
			out[QuotaVolumes+"_"+name] += n
			out[QuotaGigabytes+"_"+name] += gb
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: usage of %s: %w", project, err)
	}
	rows.Close()
	// Snapshots count, and take their volume's size of the gigabytes
	// quotas (Cinder's no_snapshot_gb_quota is false).
	rows, err = q.Query(ctx, `SELECT COALESCE(t.name, ''), COUNT(*), SUM(s.volume_size)
		FROM storage_snapshots s LEFT JOIN storage_volume_types t ON t.id = s.volume_type_id
		WHERE s.project_id = ? AND s.deleted_at IS NULL GROUP BY t.name`, project)
	if err != nil {
		return nil, fmt.Errorf("storage: snapshot usage of %s: %w", project, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n, gb int64
		if err := rows.Scan(&name, &n, &gb); err != nil {
			return nil, fmt.Errorf("storage: snapshot usage of %s: %w", project, err)
		}
		out[QuotaSnapshots] += n
		out[QuotaGigabytes] += gb
		if name != "" {
			out[QuotaSnapshots+"_"+name] += n
			out[QuotaGigabytes+"_"+name] += gb
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: snapshot usage of %s: %w", project, err)
	}
	rows.Close()
	if err := retypeUsage(ctx, q, project, out); err != nil {
		return nil, err
	}
	// Backups count, and take their size of backup_gigabytes.
	var n, gb int64
	rows, err = q.Query(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM storage_backups WHERE project_id = ? AND deleted_at IS NULL`, project)
	if err != nil {
		return nil, fmt.Errorf("storage: backup usage of %s: %w", project, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&n, &gb); err != nil {
			return nil, fmt.Errorf("storage: backup usage of %s: %w", project, err)
		}
	}
	out[QuotaBackups], out[QuotaBackupGigabytes] = n, gb
	return out, rows.Err()
}

// QuotaUsage is what project uses of every resource, counted from the
// volumes that are not deleted (no counter that could drift).
func (s *Store) QuotaUsage(ctx context.Context, project string) (map[string]int64, error) {
	var out map[string]int64
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		out, err = usageIn(ctx, tx, project)
		return err
	})
	return out, err
}

// SetQuotas sets project's own limits (Cinder's os-quota-sets update):
// every key a resource there is now ("Bad key(s) in quota set"), every
// value -1 (no limit) to 2147483647, and none below what the project
// uses now (per_volume_gigabytes aside), checked and written in one
// transaction under the project's lock. It returns the limits after.
func (s *Store) SetQuotas(ctx context.Context, project string, limits map[string]int64) (map[string]int64, error) {
	if err := checkProject(project); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, project); err != nil {
			return err
		}
		rs, err := quotaResources(ctx, tx)
		if err != nil {
			return err
		}
		var bad []string
		for _, k := range slices.Sorted(maps.Keys(limits)) {
			if !slices.Contains(rs, k) {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			return invalidInput("Bad key(s) in quota set: %s", strings.Join(bad, ", "))
		}
		for _, k := range slices.Sorted(maps.Keys(limits)) {
			switch n := limits[k]; {
			case n < -1:
				return cinderError(fault.BadRequest, "", "%s must be >= -1", k)
			case n > maxDBInt:
				return cinderError(fault.BadRequest, "", "%s must be <= %d", k, maxDBInt)
			}
		}
		used, err := usageIn(ctx, tx, project)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(limits)) {
			if n := limits[k]; k != QuotaPerVolumeGigabytes && n != -1 && n < used[k] {
				return cinderError(fault.BadRequest, "", "Quota %s limit must be equal or greater than existing resources. Current usage is %d and the requested limit is %d.",
					k, used[k], n)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(limits)) {
			if _, err := tx.Exec(ctx, `INSERT INTO storage_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)
				ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit`, project, k, limits[k]); err != nil {
				return fmt.Errorf("storage: set quota %s of %s: %w", k, project, err)
			}
		}
		if out, err = s.quotasIn(ctx, tx, project); err != nil {
			return err
		}
		if len(limits) == 0 {
			return nil
		}
		return s.record(ctx, tx, "quota", project, project, watch.Update, out)
	})
	return out, err
}

// DeleteQuotas reverts project to the default limits.
func (s *Store) DeleteQuotas(ctx context.Context, project string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM storage_quotas WHERE project_id = ?", project)
		if err != nil {
			return fmt.Errorf("storage: delete quotas of %s: %w", project, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already the defaults: nothing changed
		}
		return s.record(ctx, tx, "quota", project, project, watch.Delete, nil)
	})
}

// renameTypeQuotas renames a type's quota rows when it is renamed, as
// Cinder's update_quota_resource does.
func renameTypeQuotas(ctx context.Context, tx *sqlstore.Tx, from, to string) error {
	for _, p := range TypeQuotaParts {
		if _, err := tx.Exec(ctx, "UPDATE storage_quotas SET resource = ? WHERE resource = ?", p+"_"+to, p+"_"+from); err != nil {
			return fmt.Errorf("storage: rename quota %s_%s: %w", p, from, err)
		}
	}
	return nil
}

// checkVolumeQuota is Cinder's quota check of a new volume (or of an
// extend's growth, with volumes 0) of size GiB and type t in project,
// in the transaction that makes it, after the project's lock: the
// per_volume_gigabytes limit on the whole size, then the reservation of
// volumes, gigabytes and the type's volumes_<name> and gigabytes_<name>
// against the limits, refused with Cinder's exception for the first
// resource over, in Cinder's (sorted) order.
func (s *Store) checkVolumeQuota(ctx context.Context, tx *sqlstore.Tx, project string, t *VolumeType, volumes, gigabytes, size int64) error {
	limits, err := s.quotasIn(ctx, tx, project)
	if err != nil {
		return err
	}
	if lim := limits[QuotaPerVolumeGigabytes]; lim >= 0 && size > lim {
		return cinderError(fault.TooLarge, "VolumeSizeExceedsLimit",
			"Requested volume size %dG is larger than maximum allowed limit %dG.", size, lim)
	}
	used, err := usageIn(ctx, tx, project)
	if err != nil {
		return err
	}
	deltas := map[string]int64{QuotaGigabytes: gigabytes}
	if volumes > 0 {
		deltas[QuotaVolumes] = volumes
	}
	if t != nil {
		for r, d := range maps.Clone(deltas) {
			deltas[r+"_"+t.Name] = d
		}
	}
	var overs []string
	for r, d := range deltas {
		if lim, ok := limits[r]; ok && lim >= 0 && d >= 0 && lim < d+used[r] {
			overs = append(overs, r)
		}
	}
	if len(overs) == 0 {
		return nil
	}
	slices.Sort(overs)
	over := overs[0]
	if volumes == 0 {
		// An extend names the gigabytes quota, whichever is over
		// (Cinder's _extend reads usages['gigabytes']).
		over = QuotaGigabytes
	}
	if strings.Contains(over, QuotaGigabytes) {
		return quotaExceeded(over, gigabytes, limits[over], used[over])
	}
	return cinderError(fault.TooLarge, "VolumeLimitExceeded",
		"Maximum number of volumes allowed (%d) exceeded for quota '%s'.", limits[over], over)
}

func quotaExceeded(name string, requested, quota, consumed int64) error {
	return cinderError(fault.TooLarge, "VolumeSizeExceedsAvailableQuota",
		"Requested volume or snapshot exceeds allowed %s quota. Requested %dG, quota is %dG and %dG has been consumed.",
		name, requested, quota, consumed)
}

// retypeUsage adds what retypes under way hold of their new types'
// quotas (Cinder's reservations, committed when the retype ends): each
// volume, its size and its snapshots, in volumes_<type>,
// gigabytes_<type> and snapshots_<type>.
func retypeUsage(ctx context.Context, q querier, project string, out map[string]int64) error {
	for _, part := range []struct{ query, count, gb string }{
		{`SELECT t.name, COUNT(*), SUM(CASE WHEN v.new_size > v.size THEN v.new_size ELSE v.size END)
			FROM storage_volumes v JOIN storage_volume_types t ON t.id = v.retype_type_id
			WHERE v.project_id = ? AND v.deleted_at IS NULL AND v.retype_type_id <> '' GROUP BY t.name`, QuotaVolumes, QuotaGigabytes},
		{`SELECT t.name, COUNT(*), SUM(s.volume_size)
			FROM storage_snapshots s JOIN storage_volumes v ON v.id = s.volume_id JOIN storage_volume_types t ON t.id = v.retype_type_id
			WHERE v.project_id = ? AND s.deleted_at IS NULL AND v.retype_type_id <> '' GROUP BY t.name`, QuotaSnapshots, QuotaGigabytes},
	} {
		rows, err := q.Query(ctx, part.query, project)
		if err != nil {
			return fmt.Errorf("storage: retype usage of %s: %w", project, err)
		}
		for rows.Next() {
			var name string
			var n, gb int64
			if err := rows.Scan(&name, &n, &gb); err != nil {
				rows.Close()
				return fmt.Errorf("storage: retype usage of %s: %w", project, err)
			}
			out[part.count+"_"+name] += n
			out[part.gb+"_"+name] += gb
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("storage: retype usage of %s: %w", project, err)
		}
	}
	return nil
}
