package dns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

const rsCols = `rs.id, rs.zone_id, z.name, rs.project_id, rs.name, rs.type, rs.ttl, rs.description, rs.status, rs.action,
	rs.version, rs.created_at, rs.updated_at`

const rsFrom = " FROM dns_recordsets rs JOIN dns_zones z ON z.id = rs.zone_id"

func scanRecordSet(r scanner) (RecordSet, error) {
	var rs RecordSet
	var ttl sql.NullInt64
	var created, updated int64
	err := r.Scan(&rs.ID, &rs.ZoneID, &rs.ZoneName, &rs.ProjectID, &rs.Name, &rs.Type, &ttl, &rs.Description, &rs.Status,
		&rs.Action, &rs.Version, &created, &updated)
	if err != nil {
		return rs, err
	}
	if ttl.Valid {
		t := int(ttl.Int64)
		rs.TTL = &t
	}
	rs.CreatedAt, rs.UpdatedAt = fromMicros(created), fromMicros(updated)
	rs.Records = []string{}
	return rs, nil
}

// queryRecordSets runs a SELECT of rsCols and loads the records.
func queryRecordSets(ctx context.Context, tx *sqlstore.Tx, q string, args ...any) ([]RecordSet, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := []RecordSet{}
	for rows.Next() {
		rs, err := scanRecordSet(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, rs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, loadRecords(ctx, tx, out)
}

// loadRecords fills in the records of sets, a few hundred ids a query.
func loadRecords(ctx context.Context, tx *sqlstore.Tx, sets []RecordSet) error {
	index := make(map[string]int, len(sets))
	for i, rs := range sets {
		index[rs.ID] = i
	}
	for chunk := range slices.Chunk(sets, 500) {
		args := make([]any, len(chunk))
		for i, rs := range chunk {
			args[i] = rs.ID
		}
		rows, err := tx.Query(ctx, "SELECT recordset_id, data FROM dns_records WHERE recordset_id IN (?"+
			strings.Repeat(", ?", len(chunk)-1)+") ORDER BY recordset_id, position", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, data string
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return err
			}
			sets[index[id]].Records = append(sets[index[id]].Records, data)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// getRecordSet reads a recordset of a live zone; zoneID "" means any zone.
func getRecordSet(ctx context.Context, tx *sqlstore.Tx, zoneID, id string) (RecordSet, error) {
	sets, err := queryRecordSets(ctx, tx, "SELECT "+rsCols+rsFrom+" WHERE rs.id = ? AND (rs.zone_id = ? OR ? = '') AND z.status <> 'DELETED'",
		id, zoneID, zoneID)
	if err != nil {
		return RecordSet{}, err
	}
	if len(sets) == 0 {
		return RecordSet{}, recordSetNotFound()
	}
	return sets[0], nil
}

func nullTTL(ttl *int) any {
	if ttl == nil {
		return nil
	}
	return int64(*ttl)
}

// insertRecordSet stores a new recordset and its records; serial is the
// zone serial that carries it (0 until the next bump).
func insertRecordSet(ctx context.Context, tx *sqlstore.Tx, rs RecordSet, serial uint32) error {
	_, err := tx.Exec(ctx, `INSERT INTO dns_recordsets (id, zone_id, project_id, name, type, ttl, description, status, action,
		serial, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rs.ID, rs.ZoneID, rs.ProjectID, rs.Name, rs.Type, nullTTL(rs.TTL), rs.Description, rs.Status, rs.Action,
		int64(serial), rs.Version, micros(rs.CreatedAt), micros(rs.UpdatedAt))
	if errors.Is(err, sqlstore.ErrConflict) {
		return conflict("duplicate_recordset", "Duplicate RecordSet")
	}
	if err != nil {
		return err
	}
	return replaceRecords(ctx, tx, rs.ID, rs.ZoneID, rs.Records)
}

func replaceRecords(ctx context.Context, tx *sqlstore.Tx, rsID, zoneID string, records []string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM dns_records WHERE recordset_id = ?", rsID); err != nil {
		return err
	}
	for i, data := range records {
		_, err := tx.Exec(ctx, "INSERT INTO dns_records (recordset_id, zone_id, position, data) VALUES (?, ?, ?, ?)", rsID, zoneID, i, data)
		if err != nil {
			return fmt.Errorf("dns: recordset %s record %d: %w", rsID, i, err)
		}
	}
	return nil
}

// canonicalRecords parses every record and returns them as stored, a
// record given more than once kept once (where it first appears), as
// Designate's recordset adapter keeps a set of the records given. Records
// that differ only in spelling ("2001:DB8::1", "2001:db8::1") are the
// same record here; Designate compares the strings and would store both.
func canonicalRecords(name, typ string, records []string) ([]string, error) {
	if len(records) == 0 {
		return nil, invalid("records", "a recordset needs at least one record")
	}
	out := make([]string, 0, len(records))
	for _, data := range records {
		_, canon, err := parseRecord(name, typ, data)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	if typ == "CNAME" && len(out) > 1 {
		return nil, invalid("records", "CNAME recordsets may not have more than 1 record")
	}
	return out, nil
}

// normalizeRecordSet checks a new recordset's own fields.
func normalizeRecordSet(rs *RecordSet) error {
	var err error
	if rs.Name, err = canonicalName("name", rs.Name, true); err != nil {
		return err
	}
	rs.Type = strings.ToUpper(rs.Type)
	switch {
	case rs.Type == "":
		return invalid("type", "type is required")
	case rs.Type == "SOA":
		return invalid("type", "SOA recordsets belong to the zone and cannot be created")
	case !recordTypes[rs.Type]:
		return invalid("type", "type %q is not one of %s", rs.Type, strings.Join(RecordTypes(), ", "))
	case rs.Type == "NS" && strings.HasPrefix(rs.Name, "*."):
		// Designate's NS record makes the recordset's name a DomainField,
		// which has no wildcard; a wildcard delegation means nothing in DNS
		// (RFC 4592 4.2).
		return invalid("name", "name %q: an NS recordset cannot have a wildcard name", rs.Name)
	}
	return checkMutable(rs)
}

// checkMutable checks the fields an update may change and canonicalizes
// the records.
func checkMutable(rs *RecordSet) error {
	if rs.TTL != nil {
		if err := checkTTL("ttl", *rs.TTL, 0); err != nil {
			return err
		}
	}
	if err := checkDescription(rs.Description); err != nil {
		return err
	}
	var err error
	rs.Records, err = canonicalRecords(rs.Name, rs.Type, rs.Records)
	return err
}

// openZone starts a write to a zone's content: it flags the zone (which
// locks its row) and checks that v may write to it: v sees the zone's
// project, or the zone is shared with v's project (then byShare is true,
// and v may only write recordsets of its own).
func (s *Store) openZone(ctx context.Context, tx *sqlstore.Tx, v Viewer, zoneID string) (z Zone, byShare bool, err error) {
	z, err = flagZone(ctx, tx, zoneID, micros(s.now()))
	if err == nil && !v.sees(z.ProjectID) {
		if byShare, err = sharedWith(ctx, tx, z.ID, v.Project); err == nil && !byShare {
			err = zoneNotFound()
		}
	}
	switch {
	case err != nil:
		return Zone{}, false, err
	case z.Action == ActionDelete:
		return Zone{}, false, badRequest("Can not update a deleting zone")
	case z.Type != Primary:
		return Zone{}, false, badRequest("Editing the recordsets of a %s zone is not allowed", z.Type)
	}
	return z, byShare, nil
}

// checkPlacement applies Designate's rules on where a new recordset may
// be: in the zone, not in a child zone, no CNAME at the apex, and a CNAME
// alone at its name.
func checkPlacement(ctx context.Context, tx *sqlstore.Tx, z Zone, rs RecordSet) error {
	if !inZone(rs.Name, z.Name) {
		return badLocation("RecordSet %s is not contained within its parent zone %s", rs.Name, z.Name)
	}
	if rs.Name == z.Name && rs.Type == "CNAME" {
		return badLocation("CNAME recordsets may not be created at the zone apex")
	}
	if rs.Name == z.Name && rs.Type == "NS" {
		return invalid("type", "the NS recordset at the zone apex is managed by the pool")
	}
	if rs.Name != z.Name {
		between := []any{rs.Name}
		for _, p := range parents(rs.Name) {
			if p == z.Name {
				break
			}
			between = append(between, p)
		}
		var child string
		err := tx.Get(ctx, "SELECT name FROM dns_zones WHERE status <> 'DELETED' AND name IN (?"+strings.Repeat(", ?", len(between)-1)+
			") ORDER BY name LIMIT 1", between, &child)
		if err == nil {
			return badLocation("RecordSet belongs in a child zone: %s", child)
		} else if !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
	}
	var others, cnames int
	err := tx.Get(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN type = 'CNAME' THEN 1 ELSE 0 END), 0) FROM dns_recordsets
		WHERE zone_id = ? AND name = ? AND type <> ?`, []any{z.ID, rs.Name, rs.Type}, &others, &cnames)
	if err != nil {
		return err
	}
	if (rs.Type == "CNAME" && others > 0) || cnames > 0 {
		return badLocation("CNAME recordsets may not share a name with any other records")
	}
	return nil
}

// checkRecordQuota applies the project's zone_recordsets, zone_records
// and recordset_records quotas to a zone gaining sets recordsets and
// records records (negative when shrinking), one set now holding inSet.
func (s *Store) checkRecordQuota(ctx context.Context, tx *sqlstore.Tx, z Zone, sets, records, inSet int) error {
	q, err := s.quota(ctx, tx, z.ProjectID)
	if err != nil {
		return err
	}
	if q.RecordSetRecords >= 0 && inSet > q.RecordSetRecords {
		return overQuota("recordset_records")
	}
	var nSets, nRecords int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_recordsets WHERE zone_id = ?", []any{z.ID}, &nSets); err != nil {
		return err
	}
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_records WHERE zone_id = ?", []any{z.ID}, &nRecords); err != nil {
		return err
	}
	if sets > 0 && q.ZoneRecordSets >= 0 && nSets+sets > q.ZoneRecordSets {
		return overQuota("zone_recordsets")
	}
	if records > 0 && q.ZoneRecords >= 0 && nRecords+records > q.ZoneRecords {
		return overQuota("zone_records")
	}
	return nil
}

// CreateRecordSet adds a recordset to a PRIMARY zone the viewer owns or
// that is shared with its project, in PENDING/CREATE, and flags the zone
// for a serial bump. The recordset belongs to the zone's owner, or to the
// viewer's project when the zone is shared with it (Designate gives it
// the caller's project); the zone owner's quotas apply. Name and type are
// unique in the zone (409 duplicate_recordset).
func (s *Store) CreateRecordSet(ctx context.Context, v Viewer, zoneID string, rs RecordSet) (RecordSet, error) {
	if err := v.check(); err != nil {
		return RecordSet{}, err
	}
	if err := normalizeRecordSet(&rs); err != nil {
		return RecordSet{}, err
	}
	if rs.ID == "" {
		rs.ID = newID()
	}
	now := s.now()
	rs.Status, rs.Action, rs.Version, rs.CreatedAt, rs.UpdatedAt = Pending, ActionCreate, 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, byShare, err := s.openZone(ctx, tx, v, zoneID)
		if err != nil {
			return err
		}
		rs.ZoneID, rs.ZoneName, rs.ProjectID = z.ID, z.Name, z.ProjectID
		if byShare {
			rs.ProjectID = v.Project
		}
		if err := checkPlacement(ctx, tx, z, rs); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_recordsets WHERE zone_id = ? AND name = ? AND type = ?",
			[]any{z.ID, rs.Name, rs.Type}, &n); err != nil {
			return err
		}
		if n > 0 {
			return conflict("duplicate_recordset", "Duplicate RecordSet")
		}
		if err := s.checkRecordQuota(ctx, tx, z, 1, len(rs.Records), len(rs.Records)); err != nil {
			return err
		}
		if err := insertRecordSet(ctx, tx, rs, 0); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z); err != nil {
			return err
		}
		return s.record(ctx, tx, "recordset", rs.ID, rs.ProjectID, watch.Create, rs)
	})
	if err != nil {
		return RecordSet{}, err
	}
	return rs, nil
}

// GetRecordSet returns a recordset the viewer may see: one its project
// owns, or any recordset of a zone it may see (GetZone: its project's, or
// one shared with its project), as in Designate; zoneID "" finds it in
// any zone.
func (s *Store) GetRecordSet(ctx context.Context, v Viewer, zoneID, id string) (RecordSet, error) {
	if err := v.check(); err != nil {
		return RecordSet{}, err
	}
	var rs RecordSet
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		if rs, err = getRecordSet(ctx, tx, zoneID, id); err != nil || v.sees(rs.ProjectID) {
			return err
		}
		if _, err := readableZone(ctx, tx, v, rs.ZoneID); fault.KindOf(err) == fault.NotFound {
			return recordSetNotFound()
		} else if err != nil {
			return err
		}
		return nil
	})
	return rs, err
}

// writableRecordSet reads a recordset for an update or delete in a zone
// opened with openZone; a project writing by a share may only write its
// own recordsets (another's is forbidden, as Designate's policy has it).
func writableRecordSet(ctx context.Context, tx *sqlstore.Tx, v Viewer, byShare bool, zoneID, id, verb string) (RecordSet, error) {
	cur, err := getRecordSet(ctx, tx, zoneID, id)
	if err != nil {
		return RecordSet{}, err
	}
	if byShare && cur.ProjectID != v.Project {
		return RecordSet{}, forbidden("forbidden", "RecordSet %s belongs to project %s, not to the project the zone is shared with", cur.ID, cur.ProjectID)
	}
	if cur.Managed() {
		return RecordSet{}, badRequest("Managed records may not be %s", verb)
	}
	return cur, nil
}

// UpdateRecordSet stores rs's ttl, records and description, provided the
// recordset is still at rs.Version (409 otherwise); other fields are
// ignored. The SOA and apex NS recordsets are managed and refused (400).
func (s *Store) UpdateRecordSet(ctx context.Context, v Viewer, rs RecordSet) (RecordSet, error) {
	if err := v.check(); err != nil {
		return RecordSet{}, err
	}
	if rs.ZoneID == "" {
		return RecordSet{}, invalid("zone_id", "zone_id is required")
	}
	var out RecordSet
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, byShare, err := s.openZone(ctx, tx, v, rs.ZoneID)
		if err != nil {
			return err
		}
		cur, err := writableRecordSet(ctx, tx, v, byShare, z.ID, rs.ID, "updated")
		if err != nil {
			return err
		}
		if cur.Version != rs.Version {
			return staleVersion("RecordSet", rs.ID, rs.Version)
		}
		out = cur
		out.TTL, out.Records, out.Description = rs.TTL, rs.Records, rs.Description
		if err := checkMutable(&out); err != nil {
			return err
		}
		if err := s.checkRecordQuota(ctx, tx, z, 0, len(out.Records)-len(cur.Records), len(out.Records)); err != nil {
			return err
		}
		out.Status, out.Action, out.Version, out.UpdatedAt = Pending, ActionUpdate, cur.Version+1, s.now()
		res, err := tx.Exec(ctx, `UPDATE dns_recordsets SET ttl = ?, description = ?, status = 'PENDING', action = 'UPDATE', serial = 0,
			version = ?, updated_at = ? WHERE id = ? AND version = ?`,
			nullTTL(out.TTL), out.Description, out.Version, micros(out.UpdatedAt), out.ID, cur.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return staleVersion("RecordSet", rs.ID, rs.Version)
		}
		if err := replaceRecords(ctx, tx, out.ID, z.ID, out.Records); err != nil {
			return err
		}
		if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z); err != nil {
			return err
		}
		return s.record(ctx, tx, "recordset", out.ID, out.ProjectID, watch.Update, out)
	})
	return out, err
}

// DeleteRecordSet removes a recordset and flags its zone; the returned
// recordset is in PENDING/DELETE until the next serial is out.
func (s *Store) DeleteRecordSet(ctx context.Context, v Viewer, zoneID, id string) (RecordSet, error) {
	if err := v.check(); err != nil {
		return RecordSet{}, err
	}
	var out RecordSet
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, byShare, err := s.openZone(ctx, tx, v, zoneID)
		if err != nil {
			return err
		}
		if out, err = writableRecordSet(ctx, tx, v, byShare, z.ID, id, "deleted"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM dns_recordsets WHERE id = ?", id); err != nil {
			return err
		}
		out.Status, out.Action, out.UpdatedAt = Pending, ActionDelete, s.now()
		if err := s.record(ctx, tx, "zone", z.ID, z.ProjectID, watch.Update, z); err != nil {
			return err
		}
		return s.record(ctx, tx, "recordset", out.ID, out.ProjectID, watch.Delete, nil)
	})
	return out, err
}
