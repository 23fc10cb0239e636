package compute

import (
	"context"
	"fmt"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// QuotaResources are Nova's quota resources, in Nova's order. The
// network ones (fixed_ips, floating_ips, security_groups,
// security_group_rules) are Nova's proxies of Neutron's, shown before
// microversion 2.36 and never enforced here (Neutron enforces its own).
var QuotaResources = []string{"instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items", "injected_files",
	"injected_file_content_bytes", "injected_file_path_bytes", "security_groups", "security_group_rules", "key_pairs",
	"server_groups", "server_group_members"}

// DefaultQuotas are Nova's defaults ([quota] options); -1 is no limit.
func DefaultQuotas() map[string]int64 {
	return map[string]int64{"instances": 10, "cores": 20, "ram": 50 * 1024, "floating_ips": 10, "fixed_ips": -1,
		"metadata_items": 128, "injected_files": 5, "injected_file_content_bytes": 10 * 1024, "injected_file_path_bytes": 255,
		"security_groups": 10, "security_group_rules": 20, "key_pairs": DefaultKeyPairQuota, "server_groups": 10,
		"server_group_members": 10}
}

// Quotas are project's limits: its own where set, else Defaults (the
// store's, DefaultQuotas when nil).
func (s *Store) Quotas(ctx context.Context, project string) (map[string]int64, error) {
	out := s.defaultQuotas()
	rows, err := s.db.Query(ctx, "SELECT resource, hard_limit FROM compute_quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, fmt.Errorf("compute: quotas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

func (s *Store) defaultQuotas() map[string]int64 {
	out := DefaultQuotas()
	for k, v := range s.QuotaDefaults {
		out[k] = v
	}
	return out
}

// QuotaUsage is what project uses of the resources Nova counts:
// instances, cores and ram of its instances that are not deleted, and
// its server groups.
func (s *Store) QuotaUsage(ctx context.Context, project string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		is, err := getInstance(ctx, tx, "project_id = ? AND deleted_at IS NULL", project)
		if err != nil {
			return err
		}
		for _, i := range is {
			out["instances"]++
			out["cores"] += int64(i.Flavor.VCPUs)
			out["ram"] += i.Flavor.MemoryMB
		}
		var groups int64
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_server_groups WHERE project_id = ?", []any{project}, &groups); err != nil {
			return err
		}
		out["server_groups"] = groups
		return nil
	})
	return out, err
}

// SetQuotas sets project's own limits (-1: no limit). Unless force, a
// limit below what the project uses now is refused, as Nova refuses it.
func (s *Store) SetQuotas(ctx context.Context, project string, limits map[string]int64, force bool) (map[string]int64, error) {
	for r, n := range limits {
		if !slices.Contains(QuotaResources, r) {
			return nil, fault.Invalid(r, "not a quota resource")
		}
		if n < -1 {
			return nil, novaError(fault.BadRequest, "", "Quota limit %d for %s must be greater than or equal to -1.", n, r)
		}
	}
	if !force {
		used, err := s.QuotaUsage(ctx, project)
		if err != nil {
			return nil, err
		}
		for _, r := range QuotaResources {
			if n, ok := limits[r]; ok && n != -1 && n < used[r] {
				return nil, novaError(fault.BadRequest, "", "Quota limit %d for %s must be greater than or equal to already used and reserved %d.", n, r, used[r])
			}
		}
	}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		for _, r := range QuotaResources {
			n, ok := limits[r]
			if !ok {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO compute_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)
				ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit`, project, r, n); err != nil {
				return fmt.Errorf("compute: set quota: %w", err)
			}
		}
		return s.record(ctx, tx, "quota", project, project, watch.Update, limits)
	})
	if err != nil {
		return nil, err
	}
	return s.Quotas(ctx, project)
}

// DeleteQuotas reverts project to the default limits.
func (s *Store) DeleteQuotas(ctx context.Context, project string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM compute_quotas WHERE project_id = ?", project)
		if err != nil {
			return fmt.Errorf("compute: delete quotas: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already the defaults: nothing changed
		}
		return s.record(ctx, tx, "quota", project, project, watch.Delete, nil)
	})
}

// CheckInstanceQuota is Nova's check before a server create (with
// count 0, its recheck after one: is any limit exceeded?): count more
// instances of flavor fl fit project's instances, cores and ram limits,
// else Nova's TooManyInstances (403) naming what is over. It returns
// how many would fit (Nova creates fewer, down to min_count).
func (s *Store) CheckInstanceQuota(ctx context.Context, project string, fl InstanceFlavor, count int) (int, error) {
	limits, err := s.Quotas(ctx, project)
	if err != nil {
		return 0, err
	}
	used, err := s.QuotaUsage(ctx, project)
	if err != nil {
		return 0, err
	}
	per := map[string]int64{"instances": 1, "cores": int64(fl.VCPUs), "ram": fl.MemoryMB}
	if count == 0 { // a recheck after creating: is anything over?
		for _, r := range []string{"instances", "cores", "ram"} {
			if lim := limits[r]; lim >= 0 && used[r] > lim {
				return 0, &fault.Error{Kind: fault.Forbidden, Type: "TooManyInstances",
					Message: fmt.Sprintf("Quota exceeded for %s: Requested %d, but already used %d of %d %s", r, per[r], used[r]-per[r], lim, r)}
			}
		}
		return 0, nil
	}
	fits := count
	var overs []string
	for _, r := range []string{"instances", "cores", "ram"} {
		lim := limits[r]
		if lim < 0 || per[r] == 0 {
			continue
		}
		n := int((lim - used[r]) / per[r])
		if used[r] >= lim {
			n = 0
		}
		if n < count {
			overs = append(overs, r)
		}
		fits = min(fits, n)
	}
	if len(overs) == 0 {
		return count, nil
	}
	fits = max(fits, 0)
	r := overs[0]
	return fits, &fault.Error{Kind: fault.Forbidden, Type: "TooManyInstances",
		Message: fmt.Sprintf("Quota exceeded for %s: Requested %d, but already used %d of %d %s", joinOvers(overs), per[r]*int64(count), used[r], limits[r], joinOvers(overs))}
}

func joinOvers(overs []string) string {
	out := ""
	for i, o := range overs {
		if i > 0 {
			out += ", "
		}
		out += o
	}
	return out
}

// CheckResizeQuota checks a resize of an instance of project from old to
// new flavor against its quotas, as Nova's check for an upsize: only
// what grows counts (cores, ram), added to what the project uses now.
func (s *Store) CheckResizeQuota(ctx context.Context, project string, old, new InstanceFlavor) error {
	deltas := map[string]int64{"cores": int64(new.VCPUs - old.VCPUs), "ram": new.MemoryMB - old.MemoryMB}
	if deltas["cores"] <= 0 && deltas["ram"] <= 0 {
		return nil
	}
	limits, err := s.Quotas(ctx, project)
	if err != nil {
		return err
	}
	used, err := s.QuotaUsage(ctx, project)
	if err != nil {
		return err
	}
	for _, r := range []string{"cores", "ram"} {
		if d, lim := deltas[r], limits[r]; d > 0 && lim >= 0 && used[r]+d > lim {
			return &fault.Error{Kind: fault.Forbidden, Type: "TooManyInstances",
				Message: fmt.Sprintf("Quota exceeded for %s: Requested %d, but already used %d of %d %s", r, d, used[r], lim, r)}
		}
	}
	return nil
}

// CheckMetadataQuota checks a server's metadata of n items against
// project's metadata_items (Nova's MetadataLimitExceeded, 403).
func (s *Store) CheckMetadataQuota(ctx context.Context, project string, n int) error {
	limits, err := s.Quotas(ctx, project)
	if err != nil {
		return err
	}
	if lim := limits["metadata_items"]; lim >= 0 && int64(n) > lim {
		return &fault.Error{Kind: fault.Forbidden, Type: "MetadataLimitExceeded",
			Message: fmt.Sprintf("Maximum number of metadata items exceeds %d", lim)}
	}
	return nil
}

// CheckGroupMembersQuota checks count more servers in server group
// group (of project) against project's server_group_members: the
// servers of the group that are not deleted count (Nova's
// GroupMemberLimitExceeded, 403).
func (s *Store) CheckGroupMembersQuota(ctx context.Context, project, group string, count int) error {
	limits, err := s.Quotas(ctx, project)
	if err != nil {
		return err
	}
	lim := limits["server_group_members"]
	if lim < 0 {
		return nil
	}
	var members int64
	if err := s.db.Get(ctx, "SELECT COUNT(*) FROM compute_instances WHERE server_group = ? AND deleted_at IS NULL", []any{group}, &members); err != nil {
		return fmt.Errorf("compute: members of %s: %w", group, err)
	}
	if members+int64(count) > lim {
		return &fault.Error{Kind: fault.Forbidden, Type: "GroupMemberLimitExceeded", Message: "Quota exceeded, too many servers in group"}
	}
	return nil
}
