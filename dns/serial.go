package dns

import (
	"context"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Serials, as in Designate since its batching change: a write never bumps
// a serial itself. It flags the zone (SerialPending, status PENDING) in its
// own transaction; BumpSerials, run every few seconds by any number of
// controllers, gives each flagged zone its next serial in one batch. A
// zone row is only ever moved to a new serial from the serial it was read
// at, so two controllers cannot bump one zone twice or lose a flag set
// while they ran.

// BumpBatch is the most zones one BumpSerials call bumps, oldest change
// first; a caller that got BumpBatch zones should call again at once.
const BumpBatch = 100

// flagZone marks a live zone as changed: a serial bump pending, status
// PENDING, action UPDATE unless it is still being created or deleted. It
// is the first statement of a write to a zone's content, so that writes to
// one zone serialize on its row.
func flagZone(ctx context.Context, tx *sqlstore.Tx, id string, now int64) (Zone, error) {
	rows, err := tx.Query(ctx, `UPDATE dns_zones SET increment_serial = TRUE, status = 'PENDING',
		action = CASE WHEN action IN ('CREATE', 'DELETE') THEN action ELSE 'UPDATE' END, version = version + 1, updated_at = ?
		WHERE id = ? AND status <> 'DELETED' RETURNING `+zoneCols, now, id)
	return oneZone(rows, err)
}

// nextSerial is max(old+1, now) in RFC 1982 serial arithmetic.
func nextSerial(old, now uint32) uint32 {
	next := old + 1
	if d := now - next; d != 0 && d < 1<<31 {
		return now
	}
	return next
}

type flagged struct {
	id     string
	serial int64
}

// BumpSerials gives every flagged PRIMARY zone (at most BumpBatch, oldest
// first) its next serial, max(old+1, now in Unix seconds), rewrites its SOA
// recordset and tags the recordsets changed since the last bump with the
// new serial, in one transaction. It returns the bumped zones; the caller
// sends NOTIFY for them and then polls for the new serial (MarkActive).
// Safe to run concurrently from several controllers. The feed gets one
// "zone" update per bumped zone; the SOA recordset's change rides on it.
func (s *Store) BumpSerials(ctx context.Context) ([]Zone, error) {
	var out []Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		out = nil
		cands, err := flaggedZones(ctx, tx)
		if err != nil || len(cands) == 0 {
			return err
		}
		pools, err := queryPools(ctx, tx, "")
		if err != nil {
			return err
		}
		now := s.now()
		for _, c := range cands {
			next := int64(nextSerial(uint32(c.serial), uint32(now.Unix())))
			rows, err := tx.Query(ctx, `UPDATE dns_zones SET serial = ?, increment_serial = FALSE, version = version + 1,
				updated_at = ? WHERE id = ? AND serial = ? AND increment_serial RETURNING `+zoneCols, next, micros(now), c.id, c.serial)
			z, err := oneZone(rows, err)
			if fault.KindOf(err) == fault.NotFound {
				continue // another controller bumped it first
			} else if err != nil {
				return err
			}
			i := slices.IndexFunc(pools, func(p Pool) bool { return p.ID == z.PoolID })
			if i < 0 {
				return notFound("Pool", "pool_not_found")
			}
			if err := carrySerial(ctx, tx, z, pools[i], micros(now)); err != nil {
				return err
			}
			out = append(out, z)
		}
		for _, z := range out {
			if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// flaggedZones picks the oldest BumpBatch flagged zones, returned in id
// order: the order in which every transaction locks zones.
func flaggedZones(ctx context.Context, tx *sqlstore.Tx) ([]flagged, error) {
	rows, err := tx.Query(ctx, `SELECT id, serial FROM dns_zones WHERE increment_serial AND type = 'PRIMARY'
		AND status <> 'DELETED' ORDER BY updated_at, id LIMIT ?`, BumpBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []flagged
	for rows.Next() {
		var f flagged
		if err := rows.Scan(&f.id, &f.serial); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b flagged) int { return strings.Compare(a.id, b.id) })
	return out, rows.Err()
}

// carrySerial writes z's new SOA and tags the recordsets changed since the
// last bump with z's serial.
func carrySerial(ctx context.Context, tx *sqlstore.Tx, z Zone, pool Pool, now int64) error {
	var soaID string
	err := tx.Get(ctx, "SELECT id FROM dns_recordsets WHERE zone_id = ? AND type = 'SOA'", []any{z.ID}, &soaID)
	if err != nil {
		return err
	}
	if err := replaceRecords(ctx, tx, soaID, z.ID, []string{soaData(z, pool)}); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE dns_recordsets SET status = 'PENDING', action = 'UPDATE', version = version + 1,
		updated_at = ? WHERE id = ?`, now, soaID)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE dns_recordsets SET serial = ? WHERE zone_id = ? AND (serial = 0 OR id = ?)", int64(z.Serial), z.ID, soaID)
	return err
}

// MarkActive records that every nameserver answers for the zone with
// serial: the recordsets carried by serial or an older one become ACTIVE,
// and so does the zone, if serial is still its serial and no change waits
// for a bump. Otherwise the zone stays as it is and the error is a 409
// (a newer change is on its way). Calling it again is harmless.
func (s *Store) MarkActive(ctx context.Context, zoneID string, serial uint32) (Zone, error) {
	var out Zone
	var stale bool
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		stale = false
		rows, err := tx.Query(ctx, `UPDATE dns_zones SET status = 'ACTIVE', action = 'NONE', version = version + 1, updated_at = ?
			WHERE id = ? AND serial = ? AND NOT increment_serial AND status <> 'DELETED' AND action <> 'DELETE'
			AND (status <> 'ACTIVE' OR action <> 'NONE') RETURNING `+zoneCols, micros(s.now()), zoneID, int64(serial))
		changed := true
		if out, err = oneZone(rows, err); fault.KindOf(err) == fault.NotFound {
			if out, err = getZone(ctx, tx, zoneID); err != nil {
				return err
			}
			changed = false
			stale = out.Serial != serial || out.SerialPending || out.Status != Active || out.Action == ActionDelete
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE dns_recordsets SET status = 'ACTIVE', action = 'NONE'
			WHERE zone_id = ? AND status = 'PENDING' AND serial <> 0 AND serial <= ?`, zoneID, int64(serial))
		if err != nil || !changed {
			return err
		}
		return s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out)
	})
	if err == nil && stale {
		return Zone{}, conflict("conflict", "Zone %s is not at serial %d with nothing pending (serial %d)", zoneID, serial, out.Serial)
	}
	return out, err
}

// MarkError records that propagating serial failed: a PENDING zone still
// at serial goes to ERROR (a later change makes it PENDING again). A zone
// that moved on is a 409.
func (s *Store) MarkError(ctx context.Context, zoneID string, serial uint32) (Zone, error) {
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE dns_zones SET status = 'ERROR', version = version + 1, updated_at = ?
			WHERE id = ? AND serial = ? AND status = 'PENDING' AND NOT increment_serial RETURNING `+zoneCols,
			micros(s.now()), zoneID, int64(serial))
		if out, err = oneZone(rows, err); fault.KindOf(err) == fault.NotFound {
			if _, err := getZone(ctx, tx, zoneID); err != nil {
				return err
			}
			return conflict("conflict", "Zone %s is not PENDING at serial %d", zoneID, serial)
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out)
	})
	return out, err
}
