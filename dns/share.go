package dns

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ZoneShare is a zone shared with another project, as Designate's shared
// zones (2023.1) are: the target project sees the zone (not its
// nameservers, its transfers or its exports) and manages recordsets of its
// own in it, within the zone owner's quotas; the owner sees and manages
// them all. ProjectID is the zone's owner.
type ZoneShare struct {
	ID              string    `json:"id"`
	ZoneID          string    `json:"zone_id"`
	ProjectID       string    `json:"project_id"`
	TargetProjectID string    `json:"target_project_id"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// DeleteOptions are Designate's modifiers of a zone deletion.
type DeleteOptions struct {
	// Shares removes the zone's shares with it (Designate's
	// X-Designate-Delete-Shares); without it a shared zone is refused
	// (400 zone_is_shared).
	Shares bool
}

func sharedZoneNotFound() error { return notFound("SharedZone", "shared_zone_not_found") }

const shareCols = "s.id, s.zone_id, z.project_id, s.target_project_id, s.created_at, s.updated_at"

const shareFrom = " FROM dns_shared_zones s JOIN dns_zones z ON z.id = s.zone_id"

func queryShares(ctx context.Context, tx *sqlstore.Tx, where string, args ...any) ([]ZoneShare, error) {
	rows, err := tx.Query(ctx, "SELECT "+shareCols+shareFrom+" WHERE z.status <> 'DELETED' AND "+where+
		" ORDER BY s.created_at, s.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ZoneShare{}
	for rows.Next() {
		var s ZoneShare
		var created, updated int64
		if err := rows.Scan(&s.ID, &s.ZoneID, &s.ProjectID, &s.TargetProjectID, &created, &updated); err != nil {
			return nil, err
		}
		s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// seesShare reports whether v may see s: the zone's owner, the target
// project, or an admin of every project (Designate's _find_shared_zones).
func (v Viewer) seesShare(s ZoneShare) bool {
	return v.sees(s.ProjectID) || s.TargetProjectID == v.Project
}

// sharedWith reports whether the zone is shared with project.
func sharedWith(ctx context.Context, tx *sqlstore.Tx, zoneID, project string) (bool, error) {
	var n int
	err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_shared_zones WHERE zone_id = ? AND target_project_id = ?", []any{zoneID, project}, &n)
	return n > 0, err
}

// readableZone is visibleZone that also finds a zone shared with the
// viewer's project (Designate's get_zone with include_shared): for reading
// it, and for the recordset writes a share allows.
func readableZone(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (Zone, error) {
	z, err := getZone(ctx, tx, id)
	if err != nil || v.sees(z.ProjectID) {
		return z, err
	}
	shared, err := sharedWith(ctx, tx, z.ID, v.Project)
	if err != nil {
		return Zone{}, err
	}
	if !shared {
		return Zone{}, zoneNotFound()
	}
	return z, nil
}

// markShared sets Shared on zones that have shares.
func markShared(ctx context.Context, tx *sqlstore.Tx, zones []Zone) error {
	if len(zones) == 0 {
		return nil
	}
	args := make([]any, len(zones))
	index := make(map[string][]int, len(zones))
	for i, z := range zones {
		args[i] = z.ID
		index[z.ID] = append(index[z.ID], i)
	}
	rows, err := tx.Query(ctx, "SELECT DISTINCT zone_id FROM dns_shared_zones WHERE zone_id IN (?"+
		strings.Repeat(", ?", len(zones)-1)+")", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		for _, i := range index[id] {
			zones[i].Shared = true
		}
	}
	return rows.Err()
}

// ShareZone shares a zone the viewer owns with the target project, as
// Designate's share_zone does: the target must look like a Keystone
// project id (400 invalid_object naming target_project_id) and not be the
// zone's owner (400 bad_request "Cannot share the zone with the zone
// owner."); a zone shared with the target already is a 409
// duplicate_shared_zone. A zone being deleted is refused (400), as its
// transfer is.
func (s *Store) ShareZone(ctx context.Context, v Viewer, zoneID, target string) (ZoneShare, error) {
	if err := v.check(); err != nil {
		return ZoneShare{}, err
	}
	if err := checkProjectID(target); err != nil {
		return ZoneShare{}, invalid("target_project_id", "a project id is 1 to 64 letters, digits, '-' or '_'")
	}
	now := s.now()
	sh := ZoneShare{ID: newID(), TargetProjectID: target, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil { // ordered with DeleteZone's check for shares
			return err
		}
		z, err := visibleZone(ctx, tx, v, zoneID)
		switch {
		case err != nil:
			return err
		case z.ProjectID == target:
			return badRequest("Cannot share the zone with the zone owner.")
		case z.Action == ActionDelete:
			return badRequest("Can not share a deleting zone")
		}
		sh.ZoneID, sh.ProjectID = z.ID, z.ProjectID
		_, err = tx.Exec(ctx, "INSERT INTO dns_shared_zones (id, zone_id, target_project_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			sh.ID, sh.ZoneID, sh.TargetProjectID, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_shared_zone", "Duplicate SharedZone")
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "shared_zone", sh.ID, sh.ProjectID, watch.Create, sh)
	})
	if err != nil {
		return ZoneShare{}, err
	}
	return sh, nil
}

// GetZoneShare returns a share of a zone that the viewer may see: the
// zone's owner's, the target project's, or any for an admin of every
// project. Others are not found (404 shared_zone_not_found).
func (s *Store) GetZoneShare(ctx context.Context, v Viewer, zoneID, id string) (ZoneShare, error) {
	if err := v.check(); err != nil {
		return ZoneShare{}, err
	}
	var out ZoneShare
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		ss, err := queryShares(ctx, tx, "s.id = ? AND s.zone_id = ?", id, zoneID)
		if err != nil {
			return err
		}
		if len(ss) == 0 || !v.seesShare(ss[0]) {
			return sharedZoneNotFound()
		}
		out = ss[0]
		return nil
	})
	return out, err
}

// ListZoneShares returns the shares of a zone that the viewer may see (as
// GetZoneShare), by creation time; target, when not "", keeps those with
// that target project. A zone the viewer cannot see has none, as in
// Designate (no error).
func (s *Store) ListZoneShares(ctx context.Context, v Viewer, zoneID, target string) ([]ZoneShare, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	var out []ZoneShare
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		where, args := "s.zone_id = ?", []any{zoneID}
		if target != "" {
			where += " AND s.target_project_id = ?"
			args = append(args, target)
		}
		ss, err := queryShares(ctx, tx, where, args...)
		out = []ZoneShare{}
		for _, sh := range ss {
			if v.seesShare(sh) {
				out = append(out, sh)
			}
		}
		return err
	})
	return out, err
}

// UnshareZone removes a share of a zone the viewer owns, as Designate's
// unshare_zone does: not while the target project owns recordsets in the
// zone (400 shared_zone_has_recordsets, Designate's message). A share the
// viewer may not see, or whose zone it does not own, is not found.
func (s *Store) UnshareZone(ctx context.Context, v Viewer, zoneID, id string) error {
	if err := v.check(); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		ss, err := queryShares(ctx, tx, "s.id = ? AND s.zone_id = ?", id, zoneID)
		if err != nil {
			return err
		}
		if len(ss) == 0 || !v.sees(ss[0].ProjectID) {
			return sharedZoneNotFound()
		}
		sh := ss[0]
		// The zone's row, which recordset writes lock first (openZone):
		// no recordset of the target's comes in between.
		if _, err := tx.Exec(ctx, "UPDATE dns_zones SET version = version WHERE id = ?", sh.ZoneID); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_recordsets WHERE zone_id = ? AND project_id = ?",
			[]any{sh.ZoneID, sh.TargetProjectID}, &n); err != nil {
			return err
		}
		if n > 0 {
			return &fault.Error{Kind: fault.BadRequest, Type: "shared_zone_has_recordsets",
				Message: "Please delete all recordsets owned by project " + sh.TargetProjectID + " before unsharing this zone."}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM dns_shared_zones WHERE id = ?", sh.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "shared_zone", sh.ID, sh.ProjectID, watch.Delete, nil)
	})
}

// checkShares refuses to remove a shared zone unless o.Shares, and then
// removes its shares (Designate's delete_zone).
func (s *Store) checkShares(ctx context.Context, tx *sqlstore.Tx, z Zone, o DeleteOptions) error {
	ss, err := queryShares(ctx, tx, "s.zone_id = ?", z.ID)
	if err != nil || len(ss) == 0 {
		return err
	}
	if !o.Shares {
		return &fault.Error{Kind: fault.BadRequest, Type: "zone_is_shared", Message: "This zone is shared with other projects, " +
			"please remove these shares before deletion or use the delete-shares modifier to override this warning."}
	}
	return dropShares(ctx, s, tx, ss)
}

// dropShares removes shares, with their feed entries.
func dropShares(ctx context.Context, s *Store, tx *sqlstore.Tx, ss []ZoneShare) error {
	for _, sh := range ss {
		if _, err := tx.Exec(ctx, "DELETE FROM dns_shared_zones WHERE id = ?", sh.ID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "shared_zone", sh.ID, sh.ProjectID, watch.Delete, nil); err != nil {
			return err
		}
	}
	return nil
}
