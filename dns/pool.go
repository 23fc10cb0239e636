package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

const poolCols = "id, name, description, ns_records, also_notifies, version, created_at, updated_at"

// hostnames are the pool's nameservers by priority.
func (p Pool) hostnames() []string {
	ns := slices.Clone(p.NSRecords)
	slices.SortStableFunc(ns, func(a, b NSRecord) int { return a.Priority - b.Priority })
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Hostname
	}
	return out
}

// mname is the SOA MNAME: the first nameserver.
func (p Pool) mname() string {
	if hs := p.hostnames(); len(hs) > 0 {
		return hs[0]
	}
	return "."
}

func scanPool(r scanner) (Pool, error) {
	var p Pool
	var ns, notifies string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Name, &p.Description, &ns, &notifies, &p.Version, &created, &updated); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(ns), &p.NSRecords); err != nil {
		return p, fmt.Errorf("dns: pool %s ns_records: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(notifies), &p.AlsoNotifies); err != nil {
		return p, fmt.Errorf("dns: pool %s also_notifies: %w", p.ID, err)
	}
	if p.NSRecords == nil {
		p.NSRecords = []NSRecord{}
	}
	if p.AlsoNotifies == nil {
		p.AlsoNotifies = []string{}
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func queryPools(ctx context.Context, tx *sqlstore.Tx, where string, args ...any) ([]Pool, error) {
	rows, err := tx.Query(ctx, "SELECT "+poolCols+" FROM dns_pools"+where+" ORDER BY name", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Pool{}
	for rows.Next() {
		p, err := scanPool(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func getPool(ctx context.Context, tx *sqlstore.Tx, id string) (Pool, error) {
	ps, err := queryPools(ctx, tx, " WHERE id = ?", id)
	if err != nil {
		return Pool{}, err
	}
	if len(ps) == 0 {
		return Pool{}, notFound("Pool", "pool_not_found")
	}
	return ps[0], nil
}

// GetPool returns a pool.
func (s *Store) GetPool(ctx context.Context, id string) (Pool, error) {
	var p Pool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		p, err = getPool(ctx, tx, id)
		return err
	})
	if err != nil {
		return Pool{}, err
	}
	return p, nil
}

// ListPools returns every pool by name.
func (s *Store) ListPools(ctx context.Context) ([]Pool, error) {
	var ps []Pool
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		ps, err = queryPools(ctx, tx, "")
		return err
	})
	return ps, err
}

// normalizePool checks a pool's fields: a name, nameserver hostnames
// (fully qualified) and NOTIFY targets ("ip" or "ip:port", port 53 by
// default).
func normalizePool(p *Pool) error {
	if p.Name == "" {
		return invalid("name", "name is required")
	}
	if err := checkDescription(p.Description); err != nil {
		return err
	}
	ns := make([]NSRecord, 0, len(p.NSRecords))
	for _, n := range p.NSRecords {
		h, err := canonicalName("ns_records", n.Hostname, false)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ns, func(x NSRecord) bool { return x.Hostname == h }) {
			return invalid("ns_records", "nameserver %s is listed twice", h)
		}
		ns = append(ns, NSRecord{Hostname: h, Priority: n.Priority})
	}
	notifies := make([]string, 0, len(p.AlsoNotifies))
	for _, t := range p.AlsoNotifies {
		ap, err := ParseNotifyTarget(t)
		if err != nil {
			return invalid("also_notifies", "target %q is not an IP address with an optional port", t)
		}
		notifies = append(notifies, ap.String())
	}
	p.NSRecords, p.AlsoNotifies = ns, notifies
	return nil
}

// ParseNotifyTarget reads a NOTIFY target, "ip" or "ip:port" (port 53
// by default), as pools store them.
func ParseNotifyTarget(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, 53), nil
}

// CreatePool stores a new pool; ID may be preset. Names are unique (409).
func (s *Store) CreatePool(ctx context.Context, p Pool) (Pool, error) {
	if err := normalizePool(&p); err != nil {
		return Pool{}, err
	}
	if p.ID == "" {
		p.ID = newID()
	}
	now := s.now()
	p.Version, p.CreatedAt, p.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO dns_pools ("+poolCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Name, p.Description, jsonText(p.NSRecords), jsonText(p.AlsoNotifies), p.Version, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_pool", "Duplicate Pool")
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "pool", p.ID, "", watch.Create, p)
	})
	if err != nil {
		return Pool{}, err
	}
	return p, nil
}

// UpdatePool stores p's name, description, nameservers and NOTIFY targets
// if the pool is still at p.Version (409 otherwise). When the nameservers
// change, every live PRIMARY zone of the pool gets the new apex NS
// recordset and a pending serial bump (the SOA's MNAME follows at the bump).
func (s *Store) UpdatePool(ctx context.Context, p Pool) (Pool, error) {
	if err := normalizePool(&p); err != nil {
		return Pool{}, err
	}
	var out Pool
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		cur, err := getPool(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE dns_pools SET name = ?, description = ?, ns_records = ?, also_notifies = ?,
			version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
			p.Name, p.Description, jsonText(p.NSRecords), jsonText(p.AlsoNotifies), micros(s.now()), p.ID, p.Version)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_pool", "Duplicate Pool")
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return staleVersion("Pool", p.ID, p.Version)
		}
		if out, err = getPool(ctx, tx, p.ID); err != nil {
			return err
		}
		if !slices.Equal(cur.hostnames(), out.hostnames()) {
			if err := s.repointZones(ctx, tx, out); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "pool", out.ID, "", watch.Update, out)
	})
	return out, err
}

// repointZones gives the pool's live PRIMARY zones its nameservers,
// locking the zones in id order.
func (s *Store) repointZones(ctx context.Context, tx *sqlstore.Tx, pool Pool) error {
	now := micros(s.now())
	rows, err := tx.Query(ctx, `SELECT id FROM dns_zones WHERE pool_id = ? AND type = 'PRIMARY' AND status <> 'DELETED'
		AND action <> 'DELETE' ORDER BY id`, pool.ID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var zones []Zone
	var sets []RecordSet
	for _, id := range ids {
		z, err := flagZone(ctx, tx, id, now)
		if err != nil {
			return err
		}
		rs, err := replaceApexNS(ctx, tx, z, pool, now)
		if err != nil {
			return err
		}
		zones, sets = append(zones, z), append(sets, rs)
	}
	// The feed last: its row lock must not be held while waiting for zones.
	for i, z := range zones {
		if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "recordset", sets[i].ID, sets[i].ProjectID, watch.Update, sets[i]); err != nil {
			return err
		}
	}
	return nil
}

// replaceApexNS rewrites z's apex NS recordset with the pool's nameservers.
func replaceApexNS(ctx context.Context, tx *sqlstore.Tx, z Zone, pool Pool, now int64) (RecordSet, error) {
	var id string
	if err := tx.Get(ctx, "SELECT id FROM dns_recordsets WHERE zone_id = ? AND name = ? AND type = 'NS'", []any{z.ID, z.Name}, &id); err != nil {
		return RecordSet{}, fmt.Errorf("dns: zone %s apex NS: %w", z.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE dns_recordsets SET status = 'PENDING', action = 'UPDATE', serial = 0, version = version + 1,
		updated_at = ? WHERE id = ?`, now, id); err != nil {
		return RecordSet{}, err
	}
	if err := replaceRecords(ctx, tx, id, z.ID, pool.hostnames()); err != nil {
		return RecordSet{}, err
	}
	return getRecordSet(ctx, tx, z.ID, id)
}

// EnsureDefaultPool gives the default pool these nameservers (priority in
// the order given), as a daemon does at start from its configuration. It
// writes nothing when they are already set.
func (s *Store) EnsureDefaultPool(ctx context.Context, nameservers []string) (Pool, error) {
	for attempt := 0; ; attempt++ {
		p, err := s.GetPool(ctx, DefaultPoolID)
		if err != nil {
			return Pool{}, err
		}
		want := Pool{Name: p.Name}
		for i, h := range nameservers {
			want.NSRecords = append(want.NSRecords, NSRecord{Hostname: h, Priority: i + 1})
		}
		if err := normalizePool(&want); err != nil {
			return Pool{}, err
		}
		if slices.Equal(p.NSRecords, want.NSRecords) {
			return p, nil
		}
		p.NSRecords = want.NSRecords
		p, err = s.UpdatePool(ctx, p)
		if fault.KindOf(err) != fault.Conflict || attempt == 3 {
			return p, err
		}
	}
}
