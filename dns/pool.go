package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

const poolCols = "id, name, description, ns_records, also_notifies, version, created_at, updated_at, project_id, attributes, nameservers, targets"

// Designate's limits on a pool (objects/pool*.py).
const (
	maxPoolName      = 50
	maxPoolAttribute = 50
	maxNSPriority    = 10000
)

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
	var ns, notifies, attrs, servers, targets string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Name, &p.Description, &ns, &notifies, &p.Version, &created, &updated, &p.ProjectID,
		&attrs, &servers, &targets); err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		text string
		v    any
	}{{"ns_records", ns, &p.NSRecords}, {"also_notifies", notifies, &p.AlsoNotifies}, {"attributes", attrs, &p.Attributes},
		{"nameservers", servers, &p.Nameservers}, {"targets", targets, &p.Targets}} {
		if err := json.Unmarshal([]byte(f.text), f.v); err != nil {
			return p, fmt.Errorf("dns: pool %s %s: %w", p.ID, f.name, err)
		}
	}
	p.fillEmpty()
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

// fillEmpty makes the pool's lists and maps empty rather than nil.
func (p *Pool) fillEmpty() {
	if p.NSRecords == nil {
		p.NSRecords = []NSRecord{}
	}
	if p.AlsoNotifies == nil {
		p.AlsoNotifies = []string{}
	}
	if p.Nameservers == nil {
		p.Nameservers = []string{}
	}
	if p.Targets == nil {
		p.Targets = []PoolTarget{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	for i := range p.Targets {
		if p.Targets[i].Masters == nil {
			p.Targets[i].Masters = []string{}
		}
		if p.Targets[i].Options == nil {
			p.Targets[i].Options = map[string]string{}
		}
	}
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

// normalizePool checks a pool's fields as Designate's pool objects do,
// and what gostack needs to act on them: a name (at most 50 characters),
// attributes (keys and values of at most 50), nameserver hostnames
// (fully qualified, priority 1 to 10000), nameservers and NOTIFY targets
// as host[:port] (port 53 by default), and targets of type "secondary"
// (see PoolTarget).
func normalizePool(p *Pool) error {
	if p.Name == "" {
		return invalid("name", "name is required")
	}
	if utf8.RuneCountInString(p.Name) > maxPoolName {
		return invalid("name", "name is longer than %d characters", maxPoolName)
	}
	if err := checkDescription(p.Description); err != nil {
		return err
	}
	for k, v := range p.Attributes {
		if k == "" || utf8.RuneCountInString(k) > maxPoolAttribute || utf8.RuneCountInString(v) > maxPoolAttribute {
			return invalid("attributes", "attribute %q: keys (not empty) and values are at most %d characters", k, maxPoolAttribute)
		}
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
		if n.Priority < 1 || n.Priority > maxNSPriority {
			return invalid("ns_records", "nameserver %s: priority %d is not between 1 and %d", h, n.Priority, maxNSPriority)
		}
		ns = append(ns, NSRecord{Hostname: h, Priority: n.Priority})
	}
	p.NSRecords = ns
	var err error
	if p.Nameservers, err = hostPorts("nameservers", p.Nameservers); err != nil {
		return err
	}
	if p.AlsoNotifies, err = hostPorts("also_notifies", p.AlsoNotifies); err != nil {
		return err
	}
	for i := range p.Targets {
		if err := normalizeTarget(&p.Targets[i]); err != nil {
			return err
		}
	}
	p.fillEmpty()
	return nil
}

// hostPorts checks a list of servers, each host[:port], and returns them
// as "host:port"; a server listed twice is refused.
func hostPorts(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		hp, err := hostPort(field, s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, hp) {
			return nil, invalid(field, "server %s is listed twice", hp)
		}
		out = append(out, hp)
	}
	return out, nil
}

// hostPort checks a server given as an IP address or a hostname with an
// optional port (53 by default), as Designate's IPOrHost and port fields
// take it, and returns it as "host:port" ("[v6]:port").
func hostPort(field, s string) (string, error) {
	host, port, err := splitHostPort(field, s)
	if err != nil {
		return "", err
	}
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port), nil
}

// normalizeTarget checks a pool target: type "secondary", its NOTIFY
// address (options host, an IP address since transfers are allowed by
// address, and port), masters as host[:port], and a description.
func normalizeTarget(t *PoolTarget) error {
	if t.Type != TargetSecondary {
		return invalid("targets", "target type %q: gostack serves the pool's zones itself and drives no backend; "+
			"the one type is %q, a server that transfers the pool's zones from gostack's DNS server "+
			"(NOTIFY to options host and port, transfers allowed from host, signed with tsigkey_id when set)", t.Type, TargetSecondary)
	}
	if err := checkDescription(t.Description); err != nil {
		return err
	}
	for k := range t.Options {
		if k != "host" && k != "port" {
			return invalid("targets", "target option %q: a secondary takes only host and port", k)
		}
	}
	ip, err := netip.ParseAddr(t.Options["host"])
	if err != nil || ip.Zone() != "" {
		return invalid("targets", "target option host %q: give the secondary's IP address (transfers are allowed by address)", t.Options["host"])
	}
	port := t.Options["port"]
	if port == "" {
		port = "53"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return invalid("targets", "target option port %q is not a number from 1 to 65535", port)
	}
	t.Options = map[string]string{"host": ip.String(), "port": port}
	if t.Masters, err = hostPorts("targets", t.Masters); err != nil {
		return err
	}
	return nil
}

// checkPoolRefs checks, in tx, that the targets' TSIG keys exist.
func checkPoolRefs(ctx context.Context, tx *sqlstore.Tx, p Pool) error {
	for _, t := range p.Targets {
		if t.TSIGKeyID == "" {
			continue
		}
		if _, err := getTSIGKey(ctx, tx, t.TSIGKeyID); fault.KindOf(err) == fault.NotFound {
			return invalid("targets", "target tsigkey_id %q: no such TSIG key", t.TSIGKeyID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// ParseNotifyTarget reads a NOTIFY target, "ip" or "ip:port" (port 53
// by default), as the daemon's configuration gives them.
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

// CreatePool stores a new pool; ID may be preset. Names are unique (409
// duplicate_pool); the targets' TSIG keys must exist.
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
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		if err := checkPoolRefs(ctx, tx, p); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO dns_pools ("+poolCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Name, p.Description, jsonText(p.NSRecords), jsonText(p.AlsoNotifies), p.Version, micros(now), micros(now),
			p.ProjectID, jsonText(p.Attributes), jsonText(p.Nameservers), jsonText(p.Targets))
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

// UpdatePool stores p's name, description, attributes, NS records,
// nameservers, NOTIFY targets and targets if the pool is still at
// p.Version (409 otherwise); ProjectID is kept. When the NS records
// change, every live PRIMARY zone of the pool gets the new apex NS
// recordset and a pending serial bump (the SOA's MNAME follows at the
// bump); removing the last of them is refused, as Designate refuses it
// (400 last_server_delete_not_allowed).
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
		if len(cur.NSRecords) > 0 && len(p.NSRecords) == 0 {
			return &fault.Error{Kind: fault.BadRequest, Type: "last_server_delete_not_allowed", Field: "ns_records",
				Message: "Not allowed to delete last of servers"}
		}
		if err := checkPoolRefs(ctx, tx, p); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE dns_pools SET name = ?, description = ?, ns_records = ?, also_notifies = ?,
			attributes = ?, nameservers = ?, targets = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
			p.Name, p.Description, jsonText(p.NSRecords), jsonText(p.AlsoNotifies), jsonText(p.Attributes),
			jsonText(p.Nameservers), jsonText(p.Targets), micros(s.now()), p.ID, p.Version)
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

// DeletePool removes a pool, as Designate's central delete_pool: refused
// (400 invalid_operation "pool must not contain zones") while a zone of
// the pool is not being deleted. Zones of the pool being or already
// deleted move to the default pool, whose nameservers are then asked
// whether they still serve them. Different from Designate: the default
// pool is never deleted (every new zone needs it), nor a pool whose TSIG
// keys (scope POOL) remain, which would be left naming no pool.
func (s *Store) DeletePool(ctx context.Context, id string) error {
	if id == DefaultPoolID {
		return invalidOperation("the default pool cannot be deleted: new zones are made in it")
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		if _, err := getPool(ctx, tx, id); err != nil {
			return err
		}
		var zones, keys int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_zones WHERE pool_id = ? AND status <> 'DELETED' AND action <> 'DELETE'",
			[]any{id}, &zones); err != nil {
			return err
		}
		if zones > 0 {
			return invalidOperation("pool must not contain zones")
		}
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_tsigkeys WHERE scope = 'POOL' AND resource_id = ?", []any{id}, &keys); err != nil {
			return err
		}
		if keys > 0 {
			return invalidOperation("pool has %d TSIG keys of scope POOL: delete them first", keys)
		}
		if _, err := tx.Exec(ctx, "UPDATE dns_zones SET pool_id = ? WHERE pool_id = ?", DefaultPoolID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM dns_pools WHERE id = ?", id); err != nil {
			return err
		}
		return s.record(ctx, tx, "pool", id, "", watch.Delete, nil)
	})
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
