package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// SecondaryZone is a SECONDARY zone to keep in step with its masters.
type SecondaryZone struct {
	Zone Zone
	// Loaded says a transfer gave the zone its content: Zone.Serial is
	// then the serial of the master's copy it holds.
	Loaded bool
	// AskedAt is when a transfer was last asked for by hand (AskTransfer;
	// zero: never). It only moves forward.
	AskedAt time.Time
}

// SecondaryZones returns the live SECONDARY zones, not being deleted, by
// name.
func (s *Store) SecondaryZones(ctx context.Context) ([]SecondaryZone, error) {
	var out []SecondaryZone
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+zoneColsZ+", z.xfr_asked_at FROM dns_zones z WHERE z.type = 'SECONDARY' "+
			"AND z.status <> 'DELETED' AND z.action <> 'DELETE' ORDER BY z.name")
		if err != nil {
			return err
		}
		out = []SecondaryZone{}
		for rows.Next() {
			var asked int64
			z, err := scanZone(alsoScan{rows, []any{&asked}})
			if err != nil {
				rows.Close()
				return err
			}
			sz := SecondaryZone{Zone: z}
			if asked > 0 {
				sz.AskedAt = fromMicros(asked)
			}
			out = append(out, sz)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		loaded, err := tx.Query(ctx, `SELECT rs.zone_id FROM dns_recordsets rs JOIN dns_zones z ON z.id = rs.zone_id
			WHERE z.type = 'SECONDARY' AND rs.type = 'SOA'`)
		if err != nil {
			return err
		}
		defer loaded.Close()
		for loaded.Next() {
			var id string
			if err := loaded.Scan(&id); err != nil {
				return err
			}
			if i := slices.IndexFunc(out, func(sz SecondaryZone) bool { return sz.Zone.ID == id }); i >= 0 {
				out[i].Loaded = true
			}
		}
		return loaded.Err()
	})
	return out, err
}

// alsoScan scans the columns of r's caller and then extra ones.
type alsoScan struct {
	r     scanner
	extra []any
}

func (a alsoScan) Scan(dest ...any) error { return a.r.Scan(append(dest, a.extra...)...) }

// AskTransfer asks for a SECONDARY zone the viewer owns to be checked
// against its masters now, as Designate's xfr_zone does: Secondaries,
// following the feed, asks the masters for the zone's SOA at once and
// transfers the zone when one has a newer serial (an unreachable master
// is retried at the zone's retry interval, as after any failed check).
// Nothing of the zone changes but the time of the request
// (SecondaryZone.AskedAt), which the feed carries as a "zone" update. A
// zone that is not SECONDARY is refused as Designate refuses it (400
// bad_request "Can't XFR a non Secondary zone."), and so is one being
// deleted, which no transfer may change any more.
func (s *Store) AskTransfer(ctx context.Context, v Viewer, id string) (Zone, error) {
	if err := v.check(); err != nil {
		return Zone{}, err
	}
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, err := visibleZone(ctx, tx, v, id)
		switch {
		case err != nil:
			return err
		case z.Type != Secondary:
			return badRequest("Can't XFR a non Secondary zone.")
		case z.Action == ActionDelete:
			return badRequest("Can't XFR a zone being deleted.")
		}
		now := micros(s.now())
		if _, err := tx.Exec(ctx, `UPDATE dns_zones SET xfr_asked_at = CASE WHEN xfr_asked_at >= ? THEN xfr_asked_at + 1 ELSE ? END
			WHERE id = ?`, now, now, id); err != nil {
			return err
		}
		out = z
		return s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z)
	})
	return out, err
}

// Transferred stores what a transfer from a master gave a SECONDARY zone,
// as Designate's worker does after its AXFR: rrs is the whole zone, its
// SOA among them (records of names outside the zone are dropped). In one
// transaction the zone takes the SOA's serial, email, TTL and timers, its
// recordsets become rrs grouped by name and type (a recordset that stays
// keeps its id), and the zone goes PENDING until the nameservers serve
// the serial (MarkActive). A zone that is gone, being deleted or no
// longer SECONDARY is not found.
func (s *Store) Transferred(ctx context.Context, zoneID string, rrs []mdns.RR) (Zone, error) {
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		cur, err := getZone(ctx, tx, zoneID)
		if err != nil {
			return err
		}
		if cur.Type != Secondary || cur.Action == ActionDelete {
			return zoneNotFound()
		}
		soa, sets, err := transferSets(cur.Name, rrs)
		if err != nil {
			return err
		}
		now := micros(s.now())
		rows, err := tx.Query(ctx, `UPDATE dns_zones SET serial = ?, email = ?, ttl = ?, refresh = ?, retry = ?, expire = ?,
			minimum = ?, increment_serial = FALSE, status = 'PENDING',
			action = CASE WHEN action = 'CREATE' THEN 'CREATE' ELSE 'UPDATE' END, version = version + 1, updated_at = ?
			WHERE id = ? AND type = 'SECONDARY' AND status <> 'DELETED' AND action <> 'DELETE' RETURNING `+zoneCols,
			int64(soa.Serial), mboxEmail(soa.Mbox), int64(soa.Hdr.Ttl), int64(soa.Refresh), int64(soa.Retry), int64(soa.Expire),
			int64(soa.Minttl), now, zoneID)
		if out, err = oneZone(rows, err); err != nil {
			return err
		}
		changes, err := replaceSets(ctx, tx, out, sets, now)
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out); err != nil {
			return err
		}
		for _, c := range changes {
			var v any
			if c.op != watch.Delete {
				v = c.rs
			}
			if err := s.record(ctx, tx, "recordset", c.rs.ID, out.ProjectID, c.op, v); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// transferSets checks a transferred zone and groups it into recordsets:
// the SOA at the apex is required; names outside the zone are dropped;
// a recordset's TTL is its first record's.
func transferSets(zone string, rrs []mdns.RR) (*mdns.SOA, []RecordSet, error) {
	var soa *mdns.SOA
	var sets []RecordSet
	index := map[string]int{}
	for _, rr := range rrs {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		if !inZone(name, zone) || h.Class != mdns.ClassINET {
			continue
		}
		if s, ok := rr.(*mdns.SOA); ok {
			if name == zone && soa == nil {
				soa = s
			}
			continue
		}
		typ := mdns.Type(h.Rrtype).String()
		data := rdata(rr)
		k := name + " " + typ
		if i, ok := index[k]; ok {
			if !slices.Contains(sets[i].Records, data) {
				sets[i].Records = append(sets[i].Records, data)
			}
			continue
		}
		ttl := int(h.Ttl)
		index[k] = len(sets)
		sets = append(sets, RecordSet{Name: name, Type: typ, TTL: &ttl, Records: []string{data}})
	}
	if soa == nil {
		return nil, nil, badRequest("the transfer of %s has no SOA for the zone", zone)
	}
	ttl := int(soa.Hdr.Ttl)
	soaSet := RecordSet{Name: zone, Type: "SOA", TTL: &ttl, Records: []string{rdata(soa)}}
	return soa, append([]RecordSet{soaSet}, sets...), nil
}

type setChange struct {
	rs RecordSet
	op watch.Op
}

// replaceSets makes z's recordsets sets: a recordset of the same name and
// type keeps its id (its records and TTL replaced when they changed),
// others are made or deleted. Every recordset written is carried by z's
// serial and PENDING until MarkActive.
func replaceSets(ctx context.Context, tx *sqlstore.Tx, z Zone, sets []RecordSet, now int64) ([]setChange, error) {
	cur, err := queryRecordSets(ctx, tx, "SELECT "+rsCols+rsFrom+" WHERE rs.zone_id = ?", z.ID)
	if err != nil {
		return nil, err
	}
	byKey := map[string]RecordSet{}
	for _, rs := range cur {
		byKey[rs.Name+" "+rs.Type] = rs
	}
	var changes []setChange
	for _, rs := range sets {
		k := rs.Name + " " + rs.Type
		old, ok := byKey[k]
		delete(byKey, k)
		rs.ZoneID, rs.ZoneName, rs.ProjectID = z.ID, z.Name, z.ProjectID
		if ok && slices.Equal(old.Records, rs.Records) && old.TTL != nil && *old.TTL == *rs.TTL {
			continue
		}
		rs.Status, rs.UpdatedAt = Pending, fromMicros(now)
		if ok {
			rs.ID, rs.Action, rs.Version, rs.CreatedAt = old.ID, ActionUpdate, old.Version+1, old.CreatedAt
			if _, err := tx.Exec(ctx, `UPDATE dns_recordsets SET ttl = ?, status = 'PENDING', action = 'UPDATE', serial = ?,
				version = version + 1, updated_at = ? WHERE id = ?`, nullTTL(rs.TTL), int64(z.Serial), now, rs.ID); err != nil {
				return nil, err
			}
			if err := replaceRecords(ctx, tx, rs.ID, z.ID, rs.Records); err != nil {
				return nil, err
			}
			changes = append(changes, setChange{rs, watch.Update})
			continue
		}
		rs.ID, rs.Action, rs.Version, rs.CreatedAt = newID(), ActionCreate, 1, fromMicros(now)
		if err := insertRecordSet(ctx, tx, rs, z.Serial); err != nil {
			return nil, fmt.Errorf("dns: zone %s transfer: %w", z.Name, err)
		}
		changes = append(changes, setChange{rs, watch.Create})
	}
	gone := make([]RecordSet, 0, len(byKey))
	for _, rs := range byKey {
		gone = append(gone, rs)
	}
	slices.SortFunc(gone, func(a, b RecordSet) int { return strings.Compare(a.ID, b.ID) })
	for _, rs := range gone {
		if _, err := tx.Exec(ctx, "DELETE FROM dns_recordsets WHERE id = ?", rs.ID); err != nil {
			return nil, err
		}
		changes = append(changes, setChange{rs, watch.Delete})
	}
	return changes, nil
}
