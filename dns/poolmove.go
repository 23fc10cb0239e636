package dns

import (
	"context"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// MoveZone moves a zone to another pool, as Designate's central
// pool_move_zone: poolID, or with poolID empty the pool Designate's
// default scheduler picks (a zone keeps no attributes here, so the
// default pool). Designate's refusals, all 400 bad_request: a zone being
// deleted ("Can not move a deleting zone"), the zone's own pool ("Target
// pool must be different for zone pool move", or "No valid pool
// selected" when the scheduler picks it), a pool that does not exist
// ("Target pool does not exist"). A target pool without NS records is
// refused too (no_servers_configured; Designate answers it with a 500).
//
// A PRIMARY zone gets the new pool's nameservers as its apex NS
// recordset and a pending serial bump (the SOA's MNAME follows at the
// bump; Designate keeps the serial, but a secondary only picks the new
// NS records up with a new serial), and is PENDING until the new pool's
// nameservers have that serial. A SECONDARY zone only changes pool. The
// publisher follows the zone's pool: from the next rebuild the new
// pool's targets and also-notifies get its NOTIFYs and may transfer it,
// and the old pool's no longer may (see dns/publish). Like abandon, the
// move tells the old pool's secondaries nothing: they keep their copy
// until its SOA expire runs out.
//
// The caller checks the policy (pool_move_zone: admins); the zone is
// read without tenancy.
func (s *Store) MoveZone(ctx context.Context, id, poolID string) (Zone, error) {
	var out Zone
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		z, err := getZone(ctx, tx, id)
		if err != nil {
			return err
		}
		if z.Action == ActionDelete {
			return badRequest("Can not move a deleting zone")
		}
		target := poolID
		switch {
		case target == "" && z.PoolID == DefaultPoolID:
			return badRequest("No valid pool selected")
		case target == "":
			target = DefaultPoolID
		case target == z.PoolID:
			return badRequest("Target pool must be different for zone pool move")
		}
		pool, err := getPool(ctx, tx, target)
		if fault.KindOf(err) == fault.NotFound {
			return badRequest("Target pool does not exist")
		} else if err != nil {
			return err
		}
		if len(pool.NSRecords) == 0 {
			return &fault.Error{Kind: fault.BadRequest, Type: "no_servers_configured",
				Message: "No nameservers configured: pool " + pool.ID + " has no ns_records to serve the zone"}
		}
		now := micros(s.now())
		if _, err := tx.Exec(ctx, "UPDATE dns_zones SET pool_id = ?, version = version + 1, updated_at = ? WHERE id = ?",
			pool.ID, now, z.ID); err != nil {
			return err
		}
		var ns *RecordSet
		if z.Type == Primary {
			if z, err = flagZone(ctx, tx, z.ID, now); err != nil {
				return err
			}
			rs, err := replaceApexNS(ctx, tx, z, pool, now)
			if err != nil {
				return err
			}
			ns = &rs
		} else if z, err = getZone(ctx, tx, z.ID); err != nil {
			return err
		}
		zs := []Zone{z}
		if err := markShared(ctx, tx, zs); err != nil {
			return err
		}
		out = zs[0]
		if err := s.record(ctx, tx, "zone", out.ID, out.ProjectID, watch.Update, out); err != nil {
			return err
		}
		if ns != nil {
			return s.record(ctx, tx, "recordset", ns.ID, ns.ProjectID, watch.Update, *ns)
		}
		return nil
	})
	return out, err
}
