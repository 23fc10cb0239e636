package network

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Quota resources, named as Neutron's quota API and OverQuota name them.
const (
	QuotaNetwork           = "network"
	QuotaSubnet            = "subnet"
	QuotaPort              = "port"
	QuotaRouter            = "router"
	QuotaFloatingIP        = "floatingip"
	QuotaSecurityGroup     = "security_group"
	QuotaSecurityGroupRule = "security_group_rule"
)

// Unlimited is the limit of a resource without a quota.
const Unlimited = -1

// MaxQuota is the largest limit (Neutron's DB_INTEGER_MAX_VALUE).
const MaxQuota = 1<<31 - 1

// quotaTables are the tables each resource is counted in: every row of
// the project, as Neutron's TrackedResource counts them (a project's
// ports include its DHCP and router interface ports; a gateway's or a
// floating IP's port belongs to no project).
var quotaTables = map[string]string{
	QuotaNetwork: "network_networks", QuotaSubnet: "network_subnets", QuotaPort: "network_ports",
	QuotaRouter: "network_routers", QuotaFloatingIP: "network_floatingips",
	QuotaSecurityGroup: "network_security_groups", QuotaSecurityGroupRule: "network_security_group_rules",
}

// QuotaResources returns the resources that have a quota, sorted.
func QuotaResources() []string { return slices.Sorted(maps.Keys(quotaTables)) }

// DefaultQuotas returns Neutron's default limits (neutron/conf/quota.py).
func DefaultQuotas() map[string]int {
	return map[string]int{QuotaNetwork: 100, QuotaSubnet: 100, QuotaPort: 500, QuotaRouter: 10, QuotaFloatingIP: 50,
		QuotaSecurityGroup: 10, QuotaSecurityGroupRule: 100}
}

// QuotaUsage is one resource's limit and use in a project.
type QuotaUsage struct {
	Limit int `json:"limit"`
	Used  int `json:"used"`
	// Reserved is always 0: a create counts and inserts in one
	// transaction, nothing is held in between.
	Reserved int `json:"reserved"`
}

// ProjectQuota is the limits of a project that has its own.
type ProjectQuota struct {
	ProjectID string
	Limits    map[string]int
}

// QuotaDefaults returns the limits of a project without its own: Quotas,
// Neutron's default for a resource it lacks.
func (s *Store) QuotaDefaults() map[string]int {
	out := DefaultQuotas()
	for r, l := range s.Quotas {
		if _, ok := out[r]; ok {
			out[r] = max(l, Unlimited)
		}
	}
	return out
}

// limits are project's limits: the defaults and its overrides.
func (s *Store) limits(ctx context.Context, q querier, project string) (map[string]int, error) {
	own, err := overrides(ctx, q, project)
	if err != nil {
		return nil, err
	}
	out := s.QuotaDefaults()
	for r, l := range own {
		if _, ok := out[r]; ok {
			out[r] = l
		}
	}
	return out, nil
}

// usage counts project's resources.
func usage(ctx context.Context, q querier, project, resource string) (int, error) {
	rows, err := q.Query(ctx, "SELECT COUNT(*) FROM "+quotaTables[resource]+" WHERE project_id = ?", project)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		err = rows.Scan(&n)
	}
	return n, errors.Join(err, rows.Err())
}

// lockProject takes project's quota lock until the transaction ends: the
// first lock of every transaction that takes it (see Store).
func lockProject(ctx context.Context, tx *sqlstore.Tx, project string) error {
	_, err := tx.Exec(ctx, `INSERT INTO network_project_locks (project_id, n) VALUES (?, 1)
		ON CONFLICT (project_id) DO UPDATE SET n = network_project_locks.n + 1`, project)
	return err
}

// checkQuota takes project's quota lock, then refuses one more resource
// beyond its limit: Neutron's OverQuota. It must come first in the
// transaction. Nothing is charged to no project.
func (s *Store) checkQuota(ctx context.Context, tx *sqlstore.Tx, project, resource string) error {
	if project == "" {
		return nil
	}
	if err := lockProject(ctx, tx, project); err != nil {
		return err
	}
	limits, err := s.limits(ctx, tx, project)
	if err != nil || limits[resource] < 0 {
		return err
	}
	used, err := usage(ctx, tx, project, resource)
	if err != nil {
		return err
	}
	if used+1 > limits[resource] {
		return overQuota(resource)
	}
	return nil
}

// charged is the project a create by v of a resource of project counts
// against: none for gostack itself (an admin Viewer without a project,
// as an agent's request), whose creates no quota limits, as Neutron's
// quotas limit API requests only.
func (v Viewer) charged(project string) string {
	if v.Admin && v.Project == "" {
		return ""
	}
	return project
}

// projectOf is the project of row id of table if v sees it, else ""
// (the create fails with a NotFound after the quota check, which must
// not tell another project's quota). A resource's project never
// changes, so it is read without a lock.
func projectOf(ctx context.Context, tx *sqlstore.Tx, v Viewer, table, id string) (string, error) {
	var p string
	err := tx.Get(ctx, "SELECT project_id FROM "+table+" WHERE id = ?", []any{id}, &p)
	if errors.Is(err, sqlstore.ErrNotFound) || (err == nil && !v.sees(p)) {
		return "", nil
	}
	return p, err
}

// overQuota is Neutron's OverQuota, the resources in Python's list form.
func overQuota(resources ...string) error {
	quoted := make([]string, len(resources))
	for i, r := range slices.Sorted(slices.Values(resources)) {
		quoted[i] = "'" + r + "'"
	}
	return neutronError(fault.Conflict, "OverQuota", "Quota exceeded for resources: [%s].", strings.Join(quoted, ", "))
}

// CheckProjectID holds a quota's project id to Keystone's id format (1 to
// 64 letters, digits, '-' and '_'): Neutron takes any text, but one
// Keystone could never issue only fills the table.
func CheckProjectID(project string) error {
	if project == "" || len(project) > 64 || strings.Trim(project, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return neutronError(fault.BadRequest, "HTTPBadRequest",
			"Invalid input for project_id. Reason: a project id is 1 to 64 letters, digits, '-' or '_'.")
	}
	return nil
}

// Quota returns project's limits (the defaults where it has none of its
// own).
func (s *Store) Quota(ctx context.Context, project string) (map[string]int, error) {
	if err := CheckProjectID(project); err != nil {
		return nil, err
	}
	return s.limits(ctx, s.db, project)
}

// QuotaDetails returns project's limits with what it uses of each, read
// in one snapshot.
func (s *Store) QuotaDetails(ctx context.Context, project string) (map[string]QuotaUsage, error) {
	if err := CheckProjectID(project); err != nil {
		return nil, err
	}
	out := map[string]QuotaUsage{}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		limits, err := s.limits(ctx, tx, project)
		if err != nil {
			return err
		}
		for _, r := range QuotaResources() {
			used, err := usage(ctx, tx, project, r)
			if err != nil {
				return err
			}
			out[r] = QuotaUsage{Limit: limits[r], Used: used}
		}
		return nil
	})
	return out, err
}

// ListQuotas returns the projects that have limits of their own, by id,
// each with all its limits.
func (s *Store) ListQuotas(ctx context.Context) ([]ProjectQuota, error) {
	var out []ProjectQuota
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		out = nil
		projects, err := idsOf(ctx, tx, "SELECT DISTINCT project_id FROM network_quotas ORDER BY project_id")
		if err != nil {
			return err
		}
		for _, p := range projects {
			limits, err := s.limits(ctx, tx, p)
			if err != nil {
				return err
			}
			out = append(out, ProjectQuota{ProjectID: p, Limits: limits})
		}
		return nil
	})
	return out, err
}

// checkLimits refuses a resource without a quota and a limit out of
// Neutron's range (-1 to MaxQuota), in Neutron's words.
func checkLimits(limits map[string]int) error {
	var unknown []string
	for r := range limits {
		if _, ok := quotaTables[r]; !ok {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return neutronError(fault.BadRequest, "HTTPBadRequest", "Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	for _, r := range slices.Sorted(maps.Keys(limits)) {
		switch l := limits[r]; {
		case l < Unlimited:
			return neutronError(fault.BadRequest, "HTTPBadRequest", "Invalid input for %s. Reason: '%d' is too small - must be at least '%d'.", r, l, Unlimited)
		case l > MaxQuota:
			return neutronError(fault.BadRequest, "HTTPBadRequest", "Invalid input for %s. Reason: '%d' is too large - must be no larger than '%d'.", r, l, MaxQuota)
		}
	}
	return nil
}

// SetQuota gives project its own limits for the resources of limits and
// returns all its limits. A limit below what the project uses is taken,
// as in Neutron (further creates fail), unless checkLimit asks to refuse
// it (Neutron's check_limit). Setting what the project already has
// changes nothing; any other change is on the feed (kind "quota", id the
// project).
func (s *Store) SetQuota(ctx context.Context, project string, limits map[string]int, checkLimit bool) (map[string]int, error) {
	if err := CheckProjectID(project); err != nil {
		return nil, err
	}
	if err := checkLimits(limits); err != nil {
		return nil, err
	}
	var out map[string]int
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, project); err != nil {
			return err
		}
		own, err := overrides(ctx, tx, project)
		if err != nil {
			return err
		}
		changed := false
		for _, r := range slices.Sorted(maps.Keys(limits)) {
			l := limits[r]
			if checkLimit && l >= 0 {
				used, err := usage(ctx, tx, project, r)
				if err != nil {
					return err
				}
				if used > l {
					return neutronError(fault.BadRequest, "HTTPBadRequest",
						"Quota limit %d for %s must be greater than or equal to already used %d", l, r, used)
				}
			}
			if old, ok := own[r]; ok && old == l {
				continue
			}
			changed = true
			if _, err := tx.Exec(ctx, `INSERT INTO network_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)
				ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit`, project, r, l); err != nil {
				return err
			}
		}
		if out, err = s.limits(ctx, tx, project); err != nil {
			return err
		}
		if !changed {
			return errUnchanged // nothing to write: roll the lock back too
		}
		return s.record(ctx, tx, "quota", project, project, watch.Update, out)
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return nil, err
	}
	return out, nil
}

// errUnchanged rolls back a transaction that changed nothing.
var errUnchanged = errors.New("network: unchanged")

// overrides are project's own limits.
func overrides(ctx context.Context, q querier, project string) (map[string]int, error) {
	rows, err := q.Query(ctx, "SELECT resource, hard_limit FROM network_quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var r string
		var l int
		if err := rows.Scan(&r, &l); err != nil {
			return nil, err
		}
		out[r] = l
	}
	return out, rows.Err()
}

// DeleteQuota drops project's own limits: it is back to the defaults.
// A project without any is Neutron's TenantQuotaNotFound.
func (s *Store) DeleteQuota(ctx context.Context, project string) error {
	if err := CheckProjectID(project); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, project); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM network_quotas WHERE project_id = ?", project)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return neutronError(fault.NotFound, "TenantQuotaNotFound", "Quota for tenant %s could not be found.", project)
		}
		return s.record(ctx, tx, "quota", project, project, watch.Delete, nil)
	})
}
