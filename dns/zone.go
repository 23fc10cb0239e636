package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Designate's defaults for new zones.
const (
	DefaultTTL     = 3600
	DefaultRefresh = 3600
	DefaultRetry   = 600
	DefaultExpire  = 86400
	DefaultMinimum = 3600
)

var zoneColumns = []string{"id", "project_id", "pool_id", "name", "email", "ttl", "serial", "refresh", "retry", "expire",
	"minimum", "type", "masters", "description", "status", "action", "increment_serial", "version", "created_at", "updated_at"}

var (
	zoneCols  = strings.Join(zoneColumns, ", ")
	zoneColsZ = "z." + strings.Join(zoneColumns, ", z.")
)

func scanZone(r scanner) (Zone, error) {
	var z Zone
	var serial, created, updated int64
	var masters string
	err := r.Scan(&z.ID, &z.ProjectID, &z.PoolID, &z.Name, &z.Email, &z.TTL, &serial, &z.Refresh, &z.Retry, &z.Expire,
		&z.Minimum, &z.Type, &masters, &z.Description, &z.Status, &z.Action, &z.SerialPending, &z.Version, &created, &updated)
	if err != nil {
		return z, err
	}
	z.Serial = uint32(serial)
	if err := json.Unmarshal([]byte(masters), &z.Masters); err != nil {
		return z, fmt.Errorf("dns: zone %s masters: %w", z.ID, err)
	}
	if z.Masters == nil {
		z.Masters = []string{}
	}
	z.CreatedAt, z.UpdatedAt = fromMicros(created), fromMicros(updated)
	return z, nil
}

// getZone reads a live (not DELETED) zone in tx, whoever owns it.
func getZone(ctx context.Context, tx *sqlstore.Tx, id string) (Zone, error) {
	rows, err := tx.Query(ctx, "SELECT "+zoneCols+" FROM dns_zones WHERE id = ? AND status <> 'DELETED'", id)
	if err != nil {
		return Zone{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Zone{}, err
		}
		return Zone{}, zoneNotFound()
	}
	return scanZone(rows)
}

// visibleZone is getZone for a viewer: others' zones are not found.
func visibleZone(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (Zone, error) {
	z, err := getZone(ctx, tx, id)
	if err == nil && !v.sees(z.ProjectID) {
		return Zone{}, zoneNotFound()
	}
	return z, err
}

// normalizeZone checks a new zone and fills in Designate's defaults for
// the SOA timers left at 0. The TTL is taken as given: 0 is a TTL, as in
// Designate (its schema's minimum is 0); callers wanting the default set
// DefaultTTL.
func normalizeZone(z *Zone) error {
	var err error
	if z.ProjectID == "" {
		return invalid("project_id", "project_id is required")
	}
	if z.Name, err = ZoneName(z.Name); err != nil {
		return err
	}
	switch z.Type {
	case "":
		z.Type = Primary
	case Primary, Secondary:
	default:
		return invalid("type", "type must be PRIMARY or SECONDARY, not %q", z.Type)
	}
	if z.Type == Secondary {
		if z.Email == "" {
			z.Email = "hostmaster@" + strings.TrimSuffix(z.Name, ".")
		}
		if z.Masters, err = canonicalMasters(z.Masters); err != nil {
			return err
		}
	} else if len(z.Masters) > 0 {
		return invalid("masters", "only SECONDARY zones have masters")
	}
	z.Masters = append([]string{}, z.Masters...)
	if z.PoolID == "" {
		z.PoolID = DefaultPoolID
	}
	for _, d := range []struct {
		v   *int
		def int
	}{{&z.Refresh, DefaultRefresh}, {&z.Retry, DefaultRetry}, {&z.Expire, DefaultExpire}, {&z.Minimum, DefaultMinimum}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return checkZoneFields(*z)
}

// checkZoneFields checks the fields a zone update may change.
func checkZoneFields(z Zone) error {
	if err := checkEmail(z.Email); err != nil {
		return err
	}
	if err := checkTTL("ttl", z.TTL, 0); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"refresh", z.Refresh}, {"retry", z.Retry}, {"expire", z.Expire}, {"minimum", z.Minimum}} {
		if err := checkTTL(f.name, f.v, 0); err != nil {
			return err
		}
	}
	return checkDescription(z.Description)
}

// CreateZone stores a new zone in PENDING/CREATE with a serial of now, and
// for a PRIMARY zone its SOA and apex NS recordsets. z.ProjectID is the
// owner; ID may be preset; the TTL is z.TTL, 0 included (DefaultTTL is
// Designate's default_ttl). The name must have more than one label, for
// everyone (ZoneName: 400 invalid_zone_name) and, once the operator
// stored TLDs, lie below one and not be one (CheckTLD), for everyone too;
// it is not checked against the blacklists (ReservedNames.Check,
// Blacklisted), which are the API's to apply. The
// name must be free among live zones of every
// project (409 duplicate_zone); a zone below or above another project's
// zone is refused (403 illegal_child, illegal_parent); the project's
// "zones" quota applies (413).
func (s *Store) CreateZone(ctx context.Context, z Zone) (Zone, error) {
	if err := normalizeZone(&z); err != nil {
		return Zone{}, err
	}
	if z.ID == "" {
		z.ID = newID()
	}
	now := s.now()
	z.Serial = uint32(now.Unix())
	z.Status, z.Action, z.Version, z.SerialPending = Pending, ActionCreate, 1, false
	z.CreatedAt, z.UpdatedAt = now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error { return s.insertNewZone(ctx, tx, z) })
	if err != nil {
		return Zone{}, err
	}
	crashpoint.Hit("dns.zone.created")
	return z, nil
}

// insertNewZone stores a normalized new zone in tx after the checks
// across zones, with its managed recordsets and feed entries.
func (s *Store) insertNewZone(ctx context.Context, tx *sqlstore.Tx, z Zone) error {
	if err := lockZones(ctx, tx); err != nil {
		return err
	}
	pool, err := getPool(ctx, tx, z.PoolID)
	if fault.KindOf(err) == fault.NotFound {
		return invalid("pool_id", "pool %s does not exist", z.PoolID)
	} else if err != nil {
		return err
	}
	if err := s.checkNewZone(ctx, tx, z); err != nil {
		return err
	}
	if err := insertZone(ctx, tx, z); err != nil {
		return err
	}
	var managed []RecordSet
	if z.Type == Primary {
		if managed, err = insertManaged(ctx, tx, z, pool); err != nil {
			return err
		}
	}
	if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Create, z); err != nil {
		return err
	}
	for _, rs := range managed {
		if err := s.record(ctx, tx, "recordset", rs.ID, rs.ProjectID, watch.Create, rs); err != nil {
			return err
		}
	}
	return nil
}

// checkNewZone applies the rules across zones: the operator's TLDs, a
// free name, no zone of another project above or below, and the zones
// quota.
func (s *Store) checkNewZone(ctx context.Context, tx *sqlstore.Tx, z Zone) error {
	if err := checkZoneTLD(ctx, tx, z.Name); err != nil {
		return err
	}
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_zones WHERE name = ? AND status <> 'DELETED'", []any{z.Name}, &n); err != nil {
		return err
	}
	if n > 0 {
		return conflict("duplicate_zone", "Duplicate Zone")
	}
	owners, err := zoneOwners(ctx, tx, z.Name)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if o.project == z.ProjectID {
			continue
		}
		if o.below {
			return forbidden("illegal_parent", "Unable to create zone because another tenant owns a subzone of the zone")
		}
		return forbidden("illegal_child", "Unable to create subzone in another tenants zone")
	}
	return s.checkZoneQuota(ctx, tx, z.ProjectID)
}

type zoneOwner struct {
	name, project string
	below         bool // the zone is below name (else above it)
}

// zoneOwners lists the live zones above and below name.
func zoneOwners(ctx context.Context, tx *sqlstore.Tx, name string) ([]zoneOwner, error) {
	q := "SELECT name, project_id FROM dns_zones WHERE status <> 'DELETED' AND (name LIKE ? ESCAPE '\\'"
	args := []any{"%." + escapeLike(name)}
	if ps := parents(name); len(ps) > 0 {
		q += " OR name IN (?" + strings.Repeat(", ?", len(ps)-1) + ")"
		for _, p := range ps {
			args = append(args, p)
		}
	}
	rows, err := tx.Query(ctx, q+") ORDER BY name", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zoneOwner
	for rows.Next() {
		var o zoneOwner
		if err := rows.Scan(&o.name, &o.project); err != nil {
			return nil, err
		}
		o.below = strings.HasSuffix(o.name, "."+name)
		out = append(out, o)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func insertZone(ctx context.Context, tx *sqlstore.Tx, z Zone) error {
	_, err := tx.Exec(ctx, "INSERT INTO dns_zones ("+zoneCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		z.ID, z.ProjectID, z.PoolID, z.Name, z.Email, z.TTL, int64(z.Serial), z.Refresh, z.Retry, z.Expire, z.Minimum,
		z.Type, jsonText(z.Masters), z.Description, z.Status, z.Action, z.SerialPending, z.Version,
		micros(z.CreatedAt), micros(z.UpdatedAt))
	if errors.Is(err, sqlstore.ErrConflict) {
		return conflict("duplicate_zone", "Duplicate Zone")
	}
	return err
}

// insertManaged creates a new zone's SOA and apex NS recordsets, carried
// by the zone's first serial.
func insertManaged(ctx context.Context, tx *sqlstore.Tx, z Zone, pool Pool) ([]RecordSet, error) {
	if len(pool.NSRecords) == 0 {
		return nil, &fault.Error{Kind: fault.Unavailable, Type: "no_valid_pool",
			Message: fmt.Sprintf("Pool %s has no nameservers: configure its ns_records first", pool.ID)}
	}
	var out []RecordSet
	for _, rs := range []RecordSet{
		{Type: "SOA", Records: []string{soaData(z, pool)}},
		{Type: "NS", Records: pool.hostnames()},
	} {
		rs.ID, rs.ZoneID, rs.ZoneName, rs.ProjectID, rs.Name = newID(), z.ID, z.Name, z.ProjectID, z.Name
		rs.Status, rs.Action, rs.Version, rs.CreatedAt, rs.UpdatedAt = Pending, ActionCreate, 1, z.CreatedAt, z.CreatedAt
		if err := insertRecordSet(ctx, tx, rs, z.Serial); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

// soaData is the SOA rdata for z's current fields.
func soaData(z Zone, pool Pool) string {
	return fmt.Sprintf("%s %s %d %d %d %d %d", pool.mname(), rname(z.Email), z.Serial, z.Refresh, z.Retry, z.Expire, z.Minimum)
}

// GetZone returns a live zone the viewer may see: its project's, one
// shared with its project (ZoneShare), or any for an admin of every
// project.
func (s *Store) GetZone(ctx context.Context, v Viewer, id string) (Zone, error) {
	if err := v.check(); err != nil {
		return Zone{}, err
	}
	var z Zone
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		if z, err = readableZone(ctx, tx, v, id); err != nil {
			return err
		}
		zs := []Zone{z}
		err = markShared(ctx, tx, zs)
		z = zs[0]
		return err
	})
	if err != nil {
		return Zone{}, err
	}
	return z, nil
}

// UpdateZone stores z's email, ttl, description, refresh, retry, expire
// and minimum (and masters for a SECONDARY zone), provided the zone is
// still at z.Version (compare-and-swap: a lost race is a 409). Other fields
// are ignored. A PRIMARY zone goes PENDING with a serial bump pending.
func (s *Store) UpdateZone(ctx context.Context, v Viewer, z Zone) (Zone, error) {
	if err := v.check(); err != nil {
		return Zone{}, err
	}
	if err := checkZoneFields(z); err != nil {
		return Zone{}, err
	}
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		cur, err := visibleZone(ctx, tx, v, z.ID)
		if err != nil {
			return err
		}
		if cur.Action == ActionDelete {
			return badRequest("Can not update a deleting zone")
		}
		masters := cur.Masters
		if cur.Type == Secondary {
			if masters, err = canonicalMasters(z.Masters); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `UPDATE dns_zones SET email = ?, ttl = ?, description = ?, refresh = ?, retry = ?, expire = ?,
			minimum = ?, masters = ?, increment_serial = (type = 'PRIMARY'), status = 'PENDING',
			action = CASE WHEN action = 'CREATE' THEN 'CREATE' ELSE 'UPDATE' END, version = version + 1, updated_at = ?
			WHERE id = ? AND version = ? RETURNING `+zoneCols,
			z.Email, z.TTL, z.Description, z.Refresh, z.Retry, z.Expire, z.Minimum, jsonText(masters), micros(s.now()), z.ID, z.Version)
		if out, err = oneZone(rows, err); err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return staleVersion("Zone", z.ID, z.Version)
			}
			return err
		}
		zs := []Zone{out}
		if err := markShared(ctx, tx, zs); err != nil {
			return err
		}
		out = zs[0]
		return s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out)
	})
	return out, err
}

// oneZone scans the single row of a query or UPDATE ... RETURNING; no row
// is a zone_not_found.
func oneZone(rows interface {
	scanner
	Next() bool
	Err() error
	Close() error
}, err error) (Zone, error) {
	if err != nil {
		return Zone{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Zone{}, err
		}
		return Zone{}, zoneNotFound()
	}
	z, err := scanZone(rows)
	if err != nil {
		return Zone{}, err
	}
	if rows.Next() {
		return Zone{}, fmt.Errorf("dns: zone %s: more than one row", z.ID)
	}
	return z, rows.Err()
}

// DeleteZone starts deleting a zone: PENDING/DELETE, out of ServedZones at
// once. The worker calls FinishDelete once the nameservers dropped it. A
// zone with live subzones cannot be deleted (400 zone_has_sub_zone), nor
// a shared zone (400 zone_is_shared: see DeleteZoneWith). Deleting a zone
// already being deleted returns it unchanged.
func (s *Store) DeleteZone(ctx context.Context, v Viewer, id string) (Zone, error) {
	return s.DeleteZoneWith(ctx, v, id, DeleteOptions{})
}

// DeleteZoneWith is DeleteZone with Designate's modifiers: o.Shares
// removes the zone's shares with it, in the same transaction.
func (s *Store) DeleteZoneWith(ctx context.Context, v Viewer, id string, o DeleteOptions) (Zone, error) {
	if err := v.check(); err != nil {
		return Zone{}, err
	}
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		cur, err := visibleZone(ctx, tx, v, id)
		if err != nil || cur.Action == ActionDelete {
			out = cur
			return err
		}
		if err := s.checkShares(ctx, tx, cur, o); err != nil {
			return err
		}
		if err := checkNoSubzones(ctx, tx, cur); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE dns_zones SET status = 'PENDING', action = 'DELETE', increment_serial = FALSE,
			version = version + 1, updated_at = ? WHERE id = ? RETURNING `+zoneCols, micros(s.now()), id)
		if out, err = oneZone(rows, err); err != nil {
			return err
		}
		return s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out)
	})
	if err == nil {
		crashpoint.Hit("dns.zone.delete-marked")
	}
	return out, err
}

// checkNoSubzones refuses to remove a zone below which live zones lie,
// as Designate refuses it (400 zone_has_sub_zone).
func checkNoSubzones(ctx context.Context, tx *sqlstore.Tx, z Zone) error {
	var n int
	err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_zones WHERE name LIKE ? ESCAPE '\\' AND status <> 'DELETED'",
		[]any{"%." + escapeLike(z.Name)}, &n)
	if err != nil {
		return err
	}
	if n > 0 {
		return &fault.Error{Kind: fault.BadRequest, Type: "zone_has_sub_zone", Message: "Please delete any subzones before deleting this zone"}
	}
	return nil
}

// FinishDelete ends a deletion started by DeleteZone: the zone becomes
// DELETED (its name free again) and its recordsets (and shares) are
// removed. The feed gets one "zone" delete, which stands for them too. A zone not
// being deleted is a 409.
func (s *Store) FinishDelete(ctx context.Context, id string) (Zone, error) {
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if out, err = s.removeZone(ctx, tx, id, " AND action = 'DELETE'"); fault.KindOf(err) == fault.NotFound {
			if _, err := getZone(ctx, tx, id); err != nil {
				return err
			}
			return conflict("conflict", "Zone %s is not being deleted", id)
		}
		return err
	})
	return out, err
}

// AbandonZone removes a zone from the database at once, live or being
// deleted, as Designate's abandon does (its central deletes the zone in
// storage and tells no worker): the zone becomes DELETED, its name free
// again, its recordsets removed, with one "zone" delete in the feed.
// Nothing waits for the nameservers: gostack's DNS server, which serves
// what this store holds, stops answering for the zone at the publisher's
// next rebuild, while secondaries that transferred it (a pool's targets
// and also-notifies) are told nothing and keep their copy until its SOA
// expire runs out, as Designate leaves the zone on its backends. A zone
// with live subzones is refused, as DeleteZone refuses it (400
// zone_has_sub_zone), and so is a shared zone unless o.Shares (400
// zone_is_shared).
func (s *Store) AbandonZone(ctx context.Context, v Viewer, id string, o DeleteOptions) (Zone, error) {
	if err := v.check(); err != nil {
		return Zone{}, err
	}
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		cur, err := visibleZone(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if err := s.checkShares(ctx, tx, cur, o); err != nil {
			return err
		}
		if err := checkNoSubzones(ctx, tx, cur); err != nil {
			return err
		}
		out, err = s.removeZone(ctx, tx, id, "")
		return err
	})
	return out, err
}

// removeZone makes a live zone that also meets cond (an SQL condition
// starting with " AND", or "") DELETED and removes its recordsets and
// shares, with one "zone" delete in the feed for all of them; no such zone
// is a zone_not_found.
func (s *Store) removeZone(ctx context.Context, tx *sqlstore.Tx, id, cond string) (Zone, error) {
	now := micros(s.now())
	rows, err := tx.Query(ctx, `UPDATE dns_zones SET status = 'DELETED', action = 'NONE', increment_serial = FALSE,
		version = version + 1, updated_at = ?, deleted_at = ? WHERE id = ? AND status <> 'DELETED'`+cond+`
		RETURNING `+zoneCols, now, now, id)
	out, err := oneZone(rows, err)
	if err != nil {
		return Zone{}, err
	}
	for _, table := range []string{"dns_recordsets", "dns_shared_zones"} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE zone_id = ?", id); err != nil {
			return Zone{}, err
		}
	}
	return out, s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Delete, nil)
}

// Purge removes DELETED zones deleted before before, and returns how many.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Exec(ctx, "DELETE FROM dns_zones WHERE status = 'DELETED' AND deleted_at < ?", micros(before))
	if err != nil {
		return 0, fmt.Errorf("dns: purge: %w", err)
	}
	return res.RowsAffected()
}
