package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// DefaultMaxOverSubscriptionRatio is Cinder's max_over_subscription_ratio
// default, for a thin pool that reports none.
const DefaultMaxOverSubscriptionRatio = 20.0

// BackendReport is what a backend pool's volume agent reports
// periodically (Cinder's volume stats of one pool).
type BackendReport struct {
	// AvailabilityZone is the pool's zone ("" for the Store's default).
	AvailabilityZone  string `json:"availability_zone"`
	VolumeBackendName string `json:"volume_backend_name"`
	VendorName        string `json:"vendor_name,omitempty"`
	DriverVersion     string `json:"driver_version,omitempty"`
	StorageProtocol   string `json:"storage_protocol,omitempty"`
	// TotalCapacityGB and FreeCapacityGB are the pool's size and free
	// space, or infinite or unknown.
	TotalCapacityGB Capacity `json:"total_capacity_gb"`
	FreeCapacityGB  Capacity `json:"free_capacity_gb"`
	// ProvisionedCapacityGB is the apparent size of everything on the
	// pool; nil for what the Store's volumes on it take (Cinder's
	// allocated_capacity_gb).
	ProvisionedCapacityGB    *float64 `json:"provisioned_capacity_gb,omitempty"`
	ThinProvisioningSupport  bool     `json:"thin_provisioning_support"`
	ThickProvisioningSupport bool     `json:"thick_provisioning_support"`
	// MaxOverSubscriptionRatio is the thin pool's ratio (0 for
	// DefaultMaxOverSubscriptionRatio).
	MaxOverSubscriptionRatio float64 `json:"max_over_subscription_ratio"`
	// ReservedPercentage of the total is kept free (0 to 100).
	ReservedPercentage int  `json:"reserved_percentage"`
	Multiattach        bool `json:"multiattach"`
	// Capabilities are the driver's other capabilities, which volume
	// type extra specs may ask for (CapabilitiesFilter). Read back from
	// the Store, numbers are json.Number, which keeps Python's int and
	// float apart as MatchSpec needs.
	Capabilities map[string]any `json:"capabilities,omitempty"`
	// RBDMonitors are an RBD backend's monitors ("host:port",
	// "[v6]:port"), from its cluster's "mon dump" at the report: the
	// connection info of its volumes takes them, so a changed monitor
	// map reaches every volume, not only those made since.
	RBDMonitors []string `json:"rbd_monitors,omitempty"`
}

// Backend is a volume backend pool as the Store keeps it: its last
// report, what its volumes take, whether it is up (heard from within
// the Store's ServiceDownTime) and whether an admin disabled it.
type Backend struct {
	// Host is Cinder's host@backend#pool.
	Host             string        `json:"host"`
	AvailabilityZone string        `json:"availability_zone"`
	Report           BackendReport `json:"report"`
	// AllocatedCapacityGB is what the volumes placed on it (not deleted)
	// take, an extend under way counting its new size, with the copies a
	// retype keeps there of other pools' volumes.
	AllocatedCapacityGB int64     `json:"allocated_capacity_gb"`
	Disabled            bool      `json:"disabled"`
	DisabledReason      string    `json:"disabled_reason"`
	Up                  bool      `json:"up"`
	CreatedAt           time.Time `json:"created_at"`
	// UpdatedAt is the last report's time (the heartbeat).
	UpdatedAt time.Time `json:"updated_at"`
}

func backendNotFound(host string) error {
	return cinderError(fault.NotFound, "ServiceNotFound", "Service %s could not be found.", host)
}

// checkHost refuses a host name Cinder's host strings cannot be.
func checkHost(host string) error {
	if err := checkText("host", host, maxText); err != nil {
		return err
	}
	if host == "" || strings.IndexFunc(host, unicode.IsSpace) >= 0 {
		return fault.Invalid("host", "Invalid input received: host %q must be a host@backend#pool without spaces.", host)
	}
	return nil
}

func (r *BackendReport) check() error {
	for _, f := range []struct{ name, v string }{{"availability_zone", r.AvailabilityZone},
		{"volume_backend_name", r.VolumeBackendName}, {"vendor_name", r.VendorName},
		{"driver_version", r.DriverVersion}, {"storage_protocol", r.StorageProtocol}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return err
		}
	}
	bad := func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) || x < 0 }
	for _, c := range []struct {
		name string
		v    Capacity
	}{{"total_capacity_gb", r.TotalCapacityGB}, {"free_capacity_gb", r.FreeCapacityGB}} {
		if n, ok := c.v.Number(); ok && bad(n) {
			return fault.Invalid(c.name, "Invalid input received: %s must be a finite number of GiB at least 0, infinite or unknown.", c.name)
		}
	}
	if r.ProvisionedCapacityGB != nil && bad(*r.ProvisionedCapacityGB) {
		return fault.Invalid("provisioned_capacity_gb", "Invalid input received: provisioned_capacity_gb must be a finite number at least 0.")
	}
	if bad(r.MaxOverSubscriptionRatio) {
		return fault.Invalid("max_over_subscription_ratio", "Invalid input received: max_over_subscription_ratio must be a finite number at least 0.")
	}
	if r.ReservedPercentage < 0 || r.ReservedPercentage > 100 {
		return fault.Invalid("reserved_percentage", "Invalid input received: reserved_percentage must be 0 to 100.")
	}
	if _, err := json.Marshal(r.Capabilities); err != nil {
		return fault.Invalid("capabilities", "Invalid input received: capabilities must be JSON values: %v", err)
	}
	for k := range r.Capabilities {
		if err := checkText("capabilities", k, maxText); err != nil {
			return err
		}
	}
	if len(r.RBDMonitors) > maxRBDMonitors {
		return fault.Invalid("rbd_monitors", "Invalid input received: rbd_monitors has more than %d monitors.", maxRBDMonitors)
	}
	for _, m := range r.RBDMonitors {
		if _, _, ok := parseMonitor(m); !ok {
			return fault.Invalid("rbd_monitors", "Invalid input received: rbd_monitors: %q is not host:port or [IPv6]:port.", m)
		}
	}
	return nil
}

// maxRBDMonitors bounds a report's monitors (a Ceph cluster has a few).
const maxRBDMonitors = 64

// registration is what of a report others act on: everything but the
// capacity figures.
func (r BackendReport) registration() BackendReport {
	r.TotalCapacityGB, r.FreeCapacityGB, r.ProvisionedCapacityGB = Capacity{}, Capacity{}, nil
	return r
}

// allocatedSQL sums what the volumes of host take, with the copies a
// retype keeps there of volumes of other pools (a migration's
// destination, an old copy still to remove).
const allocatedSQL = `SELECT COALESCE(SUM(CASE WHEN new_size > size THEN new_size ELSE size END), 0)
	FROM storage_volumes WHERE (host = ? OR retype_host = ?) AND deleted_at IS NULL`

// ReportBackend records a pool's report (the volume agent's periodic
// stats): the first report makes the backend, every report is its
// heartbeat and replaces its figures (what was placed on it since then
// is added back by the scheduler). A report changing what others act on
// (zone, names, flags, capabilities: not the capacity figures) is on the
// feed (kind "backend").
func (s *Store) ReportBackend(ctx context.Context, host string, r BackendReport) (Backend, error) {
	if err := checkHost(host); err != nil {
		return Backend{}, err
	}
	if err := r.check(); err != nil {
		return Backend{}, err
	}
	r.Capabilities = maps.Clone(r.Capabilities)
	if r.AvailabilityZone == "" {
		r.AvailabilityZone = s.defaultZone()
	}
	report, err := json.Marshal(r)
	if err != nil {
		return Backend{}, fmt.Errorf("storage: backend report: %w", err)
	}
	var out Backend
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		old, err := backendIn(ctx, tx, host)
		if err != nil {
			return err
		}
		var allocated int64
		if err := tx.Get(ctx, allocatedSQL, []any{host, host}, &allocated); err != nil {
			return fmt.Errorf("storage: allocated on %s: %w", host, err)
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO storage_backends (host, availability_zone, report, allocated_at_report, generation,
			created_at, heartbeat_at) VALUES (?, ?, ?, ?, 1, ?, ?)
			ON CONFLICT (host) DO UPDATE SET availability_zone = excluded.availability_zone, report = excluded.report,
			allocated_at_report = excluded.allocated_at_report, generation = storage_backends.generation + 1,
			heartbeat_at = excluded.heartbeat_at`,
			host, r.AvailabilityZone, string(report), allocated, now.UnixMicro(), now.UnixMicro()); err != nil {
			return fmt.Errorf("storage: report backend %s: %w", host, err)
		}
		b, err := backendIn(ctx, tx, host)
		if err != nil {
			return err
		}
		out = s.view(*b, now)
		switch {
		case old == nil:
			return s.record(ctx, tx, "backend", host, "", watch.Create, out)
		case old.AvailabilityZone != r.AvailabilityZone || !reflect.DeepEqual(old.Report.registration(), b.Report.registration()):
			return s.record(ctx, tx, "backend", host, "", watch.Update, out)
		}
		return nil
	})
	return out, err
}

// backendRow is a backend as stored.
type backendRow struct {
	Backend
	allocatedAtReport int64
	generation        int64
}

const backendCols = `b.host, b.availability_zone, b.report, b.allocated_at_report, b.disabled, b.disabled_reason,
	b.generation, b.created_at, b.heartbeat_at,
	(SELECT COALESCE(SUM(CASE WHEN v.new_size > v.size THEN v.new_size ELSE v.size END), 0) FROM storage_volumes v
		WHERE (v.host = b.host OR v.retype_host = b.host) AND v.deleted_at IS NULL)`

func queryBackends(ctx context.Context, q querier, query string, args ...any) ([]backendRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read backends: %w", err)
	}
	defer rows.Close()
	var out []backendRow
	for rows.Next() {
		var b backendRow
		var report string
		var created, heartbeat int64
		if err := rows.Scan(&b.Host, &b.AvailabilityZone, &report, &b.allocatedAtReport, &b.Disabled, &b.DisabledReason,
			&b.generation, &created, &heartbeat, &b.AllocatedCapacityGB); err != nil {
			return nil, fmt.Errorf("storage: read backends: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(report))
		dec.UseNumber() // a capability keeps Python's int or float (MatchSpec's <is> tells them apart)
		if err := dec.Decode(&b.Report); err != nil {
			return nil, fmt.Errorf("storage: backend %s report: %w", b.Host, err)
		}
		b.CreatedAt, b.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(heartbeat).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// backendIn reads backend host (nil if there is none).
func backendIn(ctx context.Context, q querier, host string) (*backendRow, error) {
	bs, err := queryBackends(ctx, q, "SELECT "+backendCols+" FROM storage_backends b WHERE b.host = ?", host)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return &bs[0], nil
}

// view is b as callers see it at now.
func (s *Store) view(b backendRow, now time.Time) Backend {
	out := b.Backend
	elapsed := now.Sub(b.UpdatedAt)
	out.Up = elapsed.Abs() <= s.downTime() // Cinder's is_up: abs(elapsed) <= service_down_time
	out.Report.Capabilities = maps.Clone(b.Report.Capabilities)
	return out
}

func (s *Store) downTime() time.Duration {
	if s.ServiceDownTime > 0 {
		return s.ServiceDownTime
	}
	return DefaultServiceDownTime
}

// Backends are every backend pool, by host.
func (s *Store) Backends(ctx context.Context) ([]Backend, error) {
	bs, err := queryBackends(ctx, s.db, "SELECT "+backendCols+" FROM storage_backends b ORDER BY b.host")
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Backend, len(bs))
	for i, b := range bs {
		out[i] = s.view(b, now)
	}
	return out, nil
}

// Backend is backend pool host (Cinder's ServiceNotFound when there is
// none).
func (s *Store) Backend(ctx context.Context, host string) (Backend, error) {
	b, err := backendIn(ctx, s.db, host)
	if err != nil {
		return Backend{}, err
	}
	if b == nil {
		return Backend{}, backendNotFound(host)
	}
	return s.view(*b, s.now()), nil
}

// SetBackendDisabled is an admin's os-services disable and enable of a
// pool: a disabled pool takes no new volume and no extend (Cinder's
// scheduler sees enabled services only); its volumes stay, and its
// agent still deletes them. reason is kept while disabled.
func (s *Store) SetBackendDisabled(ctx context.Context, host string, disabled bool, reason string) (Backend, error) {
	if err := checkText("disabled_reason", reason, maxText); err != nil {
		return Backend{}, err
	}
	if !disabled {
		reason = ""
	}
	var out Backend
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE storage_backends SET disabled = ?, disabled_reason = ?, generation = generation + 1 WHERE host = ?",
			disabled, reason, host)
		if err != nil {
			return fmt.Errorf("storage: disable backend %s: %w", host, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return backendNotFound(host)
		}
		b, err := backendIn(ctx, tx, host)
		if err != nil {
			return err
		}
		out = s.view(*b, s.now())
		return s.record(ctx, tx, "backend", host, "", watch.Update, out)
	})
	return out, err
}

// DeleteBackend forgets backend pool host (its agent reports it again
// when it comes back), refused (409) while volumes are placed on it.
func (s *Store) DeleteBackend(ctx context.Context, host string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE storage_backends SET generation = generation + 1 WHERE host = ?", host); err != nil {
			return fmt.Errorf("storage: lock backend %s: %w", host, err)
		}
		b, err := backendIn(ctx, tx, host)
		if err != nil {
			return err
		}
		if b == nil {
			return backendNotFound(host)
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volumes WHERE host = ? AND deleted_at IS NULL", []any{host}, &n); err != nil {
			return fmt.Errorf("storage: volumes on %s: %w", host, err)
		}
		if n > 0 {
			return cinderError(fault.Conflict, "", "Backend %s still holds %d volumes.", host, n)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_backends WHERE host = ?", host); err != nil {
			return fmt.Errorf("storage: delete backend %s: %w", host, err)
		}
		if err := unbindMachine(ctx, tx, host); err != nil {
			return err
		}
		return s.record(ctx, tx, "backend", host, "", watch.Delete, nil)
	})
}

// AvailabilityZone is a zone backends are in (Cinder's
// os-availability-zone): available unless every pool in it is disabled.
type AvailabilityZone struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
}

// AvailabilityZones are the zones of every backend pool, by name.
func (s *Store) AvailabilityZones(ctx context.Context) ([]AvailabilityZone, error) {
	rows, err := s.db.Query(ctx, "SELECT availability_zone, disabled FROM storage_backends")
	if err != nil {
		return nil, fmt.Errorf("storage: availability zones: %w", err)
	}
	defer rows.Close()
	allDisabled := map[string]bool{}
	for rows.Next() {
		var az string
		var disabled bool
		if err := rows.Scan(&az, &disabled); err != nil {
			return nil, fmt.Errorf("storage: availability zones: %w", err)
		}
		prev, seen := allDisabled[az]
		allDisabled[az] = (!seen || prev) && disabled
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: availability zones: %w", err)
	}
	out := []AvailabilityZone{}
	for _, az := range slices.Sorted(maps.Keys(allDisabled)) {
		out = append(out, AvailabilityZone{Name: az, Available: !allDisabled[az]})
	}
	return out, nil
}

// pool is b as the scheduler sees it: the report's figures with what was
// placed on the pool since the report added in, as Cinder's
// consume_from_volume does between two reports.
func (b backendRow) pool() *PoolState {
	r := b.Report
	consumed := float64(b.AllocatedCapacityGB - b.allocatedAtReport)
	provisioned := float64(b.allocatedAtReport)
	if r.ProvisionedCapacityGB != nil {
		provisioned = *r.ProvisionedCapacityGB
	}
	free := r.FreeCapacityGB
	if n, ok := free.Number(); ok {
		free = GB(n - consumed)
	}
	// Cinder's calculate_max_over_subscription_ratio: 1 without thin
	// provisioning or with an infinite or unknown figure, else the
	// pool's, else the default.
	mosr := r.MaxOverSubscriptionRatio
	if mosr == 0 {
		mosr = DefaultMaxOverSubscriptionRatio
	}
	word := func(c Capacity) bool { _, n := c.Number(); return c.Reported() && !n }
	if !r.ThinProvisioningSupport || word(r.TotalCapacityGB) || word(r.FreeCapacityGB) {
		mosr = 1
	}
	p := &PoolState{Host: b.Host, AvailabilityZone: b.AvailabilityZone, TotalCapacityGB: r.TotalCapacityGB, FreeCapacityGB: free,
		AllocatedCapacityGB: float64(b.AllocatedCapacityGB), ProvisionedCapacityGB: provisioned + consumed,
		ThinProvisioningSupport: r.ThinProvisioningSupport, ThickProvisioningSupport: r.ThickProvisioningSupport,
		MaxOverSubscriptionRatio: mosr, ReservedPercentage: r.ReservedPercentage}
	caps := maps.Clone(r.Capabilities)
	if caps == nil {
		caps = map[string]any{}
	}
	capacity := func(c Capacity) any {
		if n, ok := c.Number(); ok {
			return n
		}
		if !c.Reported() {
			return nil
		}
		return c.String()
	}
	maps.Copy(caps, map[string]any{
		"volume_backend_name": r.VolumeBackendName, "vendor_name": r.VendorName, "driver_version": r.DriverVersion,
		"storage_protocol": r.StorageProtocol, "total_capacity_gb": capacity(p.TotalCapacityGB),
		"free_capacity_gb": capacity(p.FreeCapacityGB), "allocated_capacity_gb": p.AllocatedCapacityGB,
		"provisioned_capacity_gb": p.ProvisionedCapacityGB, "thin_provisioning_support": r.ThinProvisioningSupport,
		"thick_provisioning_support": r.ThickProvisioningSupport, "max_over_subscription_ratio": mosr,
		"reserved_percentage": r.ReservedPercentage, "multiattach": r.Multiattach,
		"pool_name": poolName(b.Host),
	})
	p.Capabilities = caps
	return p
}

// poolName is the pool part of host@backend#pool (the backend name when
// there is none).
func poolName(host string) string {
	if _, pool, ok := strings.Cut(host, "#"); ok {
		return pool
	}
	return host
}

// PoolStates are the pools the scheduler may place on now (up and not
// disabled), by host, as a read of the Store sees them.
func (s *Store) PoolStates(ctx context.Context) ([]*PoolState, error) {
	var out []*PoolState
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		out, err = s.pools(ctx, tx)
		return err
	})
	return out, err
}

// pools are the schedulable pools read in tx.
func (s *Store) pools(ctx context.Context, q querier) ([]*PoolState, error) {
	bs, err := queryBackends(ctx, q, "SELECT "+backendCols+" FROM storage_backends b WHERE b.disabled = ? ORDER BY b.host", false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []*PoolState{}
	for _, b := range bs {
		if s.view(b, now).Up {
			out = append(out, b.pool())
		}
	}
	return out, nil
}

// claim takes room for req on pool host in tx: the pool's state is
// read again, every filter must pass it, and its generation is compared
// and bumped, so a claim that raced another on the same pool reads
// again (on PostgreSQL the other's row lock, then its commit, make the
// compare fail) and is checked against what the other took. It returns
// the pool, or why it cannot take the request.
func (s *Store) claim(ctx context.Context, tx *sqlstore.Tx, sched *Scheduler, req *ScheduleRequest, host string) (*PoolState, string, error) {
	for {
		b, err := backendIn(ctx, tx, host)
		if err != nil {
			return nil, "", err
		}
		if b == nil {
			return nil, host + " is gone", nil
		}
		if v := s.view(*b, s.now()); !v.Up || v.Disabled {
			return nil, host + " is down or disabled", nil
		}
		p := b.pool()
		if err := sched.passes(req, p); err != nil {
			return nil, err.Error(), nil
		}
		res, err := tx.Exec(ctx, "UPDATE storage_backends SET generation = generation + 1 WHERE host = ? AND generation = ?", host, b.generation)
		if err != nil {
			return nil, "", fmt.Errorf("storage: claim on %s: %w", host, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return p, "", nil
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
	}
}
