package dns

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Transfer statuses (Designate's, of which these two are used).
const (
	TransferActive   = "ACTIVE"   // waiting for its accept
	TransferComplete = "COMPLETE" // accepted: the zone moved
)

// TransferRequest offers a zone to another project: to TargetProjectID
// only, or, when it is "", to any project that has the Key. The owner
// (ProjectID, the zone's project when the request was made) gives the Key
// to the receiving project out of band.
type TransferRequest struct {
	ID              string    `json:"id"`
	ZoneID          string    `json:"zone_id"`
	ZoneName        string    `json:"zone_name"`
	ProjectID       string    `json:"project_id"`
	TargetProjectID string    `json:"target_project_id"`
	Key             string    `json:"key"`
	Description     string    `json:"description"`
	Status          string    `json:"status"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// TransferAccept is a project's acceptance of a TransferRequest.
type TransferAccept struct {
	ID        string    `json:"id"`
	RequestID string    `json:"zone_transfer_request_id"`
	ZoneID    string    `json:"zone_id"`
	ProjectID string    `json:"project_id"`
	Key       string    `json:"key"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func transferRequestNotFound() error {
	return notFound("ZoneTransferRequest", "zone_transfer_request_not_found")
}

// transferKey is Designate's _transfer_key_generator: 8 characters of
// A-Z and 0-9, from the system's random source.
func transferKey() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = chars[randIndex(len(chars))]
	}
	return string(b)
}

// randIndex is a uniform index below n (n < 256) from crypto/rand.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("dns: crypto/rand: " + err.Error()) // never fails on supported systems
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

const trCols = `t.id, t.zone_id, z.name, t.project_id, t.target_project_id, t.transfer_key, t.description, t.status,
	t.created_at, t.updated_at`

const trFrom = " FROM dns_transfer_requests t JOIN dns_zones z ON z.id = t.zone_id"

func scanTransferRequest(r scanner) (TransferRequest, error) {
	var t TransferRequest
	var created, updated int64
	err := r.Scan(&t.ID, &t.ZoneID, &t.ZoneName, &t.ProjectID, &t.TargetProjectID, &t.Key, &t.Description, &t.Status, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, err
}

func queryTransferRequests(ctx context.Context, tx *sqlstore.Tx, where string, args ...any) ([]TransferRequest, error) {
	rows, err := tx.Query(ctx, "SELECT "+trCols+trFrom+" WHERE "+where+" ORDER BY t.created_at, t.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TransferRequest{}
	for rows.Next() {
		t, err := scanTransferRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// seesRequest reports whether v may see t at all: its owner, its target,
// anyone for an untargeted request (who must still know its id), or an
// admin of every project. Lists show only the first two (and all to the
// admin).
func (v Viewer) seesRequest(t TransferRequest) bool {
	return v.sees(t.ProjectID) || t.TargetProjectID == "" || t.TargetProjectID == v.Project
}

func getTransferRequest(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (TransferRequest, error) {
	ts, err := queryTransferRequests(ctx, tx, "t.id = ?", id)
	if err != nil {
		return TransferRequest{}, err
	}
	if len(ts) == 0 || !v.seesRequest(ts[0]) {
		return TransferRequest{}, transferRequestNotFound()
	}
	return ts[0], nil
}

// checkTransferFields checks what a request's owner may set.
func checkTransferFields(t TransferRequest) error {
	if t.TargetProjectID != "" {
		if err := checkProjectID(t.TargetProjectID); err != nil {
			return invalid("target_project_id", "a project id is 1 to 64 letters, digits, '-' or '_'")
		}
	}
	if len(t.Description) > 160 {
		return invalid("description", "description is longer than 160 characters")
	}
	return nil
}

// CreateTransferRequest offers a zone the viewer sees to another project
// (t.TargetProjectID, or any project when ""), with t.Description. The
// request gets a new key and belongs to the zone's project. A zone being
// deleted cannot be offered (400); a zone with an ACTIVE request already
// is a 409 duplicate_zone_transfer_request.
func (s *Store) CreateTransferRequest(ctx context.Context, v Viewer, zoneID string, t TransferRequest) (TransferRequest, error) {
	if err := v.check(); err != nil {
		return TransferRequest{}, err
	}
	if err := checkTransferFields(t); err != nil {
		return TransferRequest{}, err
	}
	now := s.now()
	t.ID, t.Key, t.Status, t.CreatedAt, t.UpdatedAt = newID(), transferKey(), TransferActive, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		z, err := visibleZone(ctx, tx, v, zoneID)
		if err != nil {
			return err
		}
		if z.Action == ActionDelete {
			return badRequest("Can not transfer a deleting zone")
		}
		t.ZoneID, t.ZoneName, t.ProjectID = z.ID, z.Name, z.ProjectID
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_transfer_requests WHERE zone_id = ? AND status = 'ACTIVE'", []any{z.ID}, &n); err != nil {
			return err
		}
		if n > 0 {
			return conflict("duplicate_zone_transfer_request", "Duplicate ZoneTransferRequest")
		}
		_, err = tx.Exec(ctx, `INSERT INTO dns_transfer_requests (id, zone_id, project_id, target_project_id, transfer_key, description,
			status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.ZoneID, t.ProjectID, t.TargetProjectID, t.Key, t.Description, t.Status, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_zone_transfer_request", "Duplicate ZoneTransferRequest")
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "transfer_request", t.ID, t.ProjectID, watch.Create, t)
	})
	if err != nil {
		return TransferRequest{}, err
	}
	return t, nil
}

// GetTransferRequest returns a request the viewer may see: its owner's,
// one targeted at the viewer's project, or an untargeted one. Others are
// not found. The caller decides who is shown the key.
func (s *Store) GetTransferRequest(ctx context.Context, v Viewer, id string) (TransferRequest, error) {
	if err := v.check(); err != nil {
		return TransferRequest{}, err
	}
	var t TransferRequest
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		t, err = getTransferRequest(ctx, tx, v, id)
		return err
	})
	return t, err
}

// ListTransferRequests lists the requests of the viewer's project and
// those targeted at it (every request, for an admin of all projects), the
// oldest first; status "" is any.
func (s *Store) ListTransferRequests(ctx context.Context, v Viewer, status string) ([]TransferRequest, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	where, args := "(? = '' OR t.status = ?)", []any{status, status}
	if !v.all() {
		where += " AND (t.project_id = ? OR t.target_project_id = ?)"
		args = append(args, v.Project, v.Project)
	}
	var out []TransferRequest
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = queryTransferRequests(ctx, tx, where, args...)
		return err
	})
	return out, err
}

// ownRequest reads a request for a change by its owner: a request the
// viewer may only see (as its target) is a 403, as Designate's policy
// answers it.
func ownRequest(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (TransferRequest, error) {
	t, err := getTransferRequest(ctx, tx, v, id)
	if err != nil {
		return t, err
	}
	if !v.sees(t.ProjectID) {
		return t, forbidden("forbidden", "only the project that owns a transfer request may change it")
	}
	return t, nil
}

// UpdateTransferRequest stores t's description and target project. A
// request's target may be set once it has none, never changed (400).
func (s *Store) UpdateTransferRequest(ctx context.Context, v Viewer, t TransferRequest) (TransferRequest, error) {
	if err := v.check(); err != nil {
		return TransferRequest{}, err
	}
	if err := checkTransferFields(t); err != nil {
		return TransferRequest{}, err
	}
	var out TransferRequest
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		cur, err := ownRequest(ctx, tx, v, t.ID)
		if err != nil {
			return err
		}
		if cur.TargetProjectID != "" && t.TargetProjectID != cur.TargetProjectID {
			return invalid("target_project_id", "target_project_id cannot be changed once set")
		}
		out = cur
		out.Description, out.TargetProjectID, out.UpdatedAt = t.Description, t.TargetProjectID, s.now()
		_, err = tx.Exec(ctx, "UPDATE dns_transfer_requests SET description = ?, target_project_id = ?, updated_at = ? WHERE id = ?",
			out.Description, out.TargetProjectID, micros(out.UpdatedAt), out.ID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "transfer_request", out.ID, out.ProjectID, watch.Update, out)
	})
	return out, err
}

// DeleteTransferRequest removes a request of the viewer's project.
func (s *Store) DeleteTransferRequest(ctx context.Context, v Viewer, id string) error {
	if err := v.check(); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		t, err := ownRequest(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM dns_transfer_requests WHERE id = ?", t.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "transfer_request", t.ID, t.ProjectID, watch.Delete, nil)
	})
}

// AcceptTransfer accepts request requestID with key for the viewer's
// project, in one transaction: the zone and its recordsets move to the
// project, the request becomes COMPLETE and the accept is stored
// COMPLETE. The zone's content and serial do not change, so it is served
// as before. Errors, with nothing changed: a request the viewer may not
// see (404), one already used (400 invalid_zone_transfer_request "Zone
// Transfer Request has been used"), a wrong key (403 invalid_key), a
// zone being deleted (400), the project's zones quota (413).
func (s *Store) AcceptTransfer(ctx context.Context, v Viewer, requestID, key string) (TransferAccept, error) {
	if err := v.check(); err != nil {
		return TransferAccept{}, err
	}
	now := s.now()
	a := TransferAccept{ID: newID(), RequestID: requestID, ProjectID: v.Project, Key: key, Status: TransferComplete,
		CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		t, err := getTransferRequest(ctx, tx, v, requestID)
		if err != nil {
			return err
		}
		if err := checkAccept(t, key); err != nil {
			return err
		}
		a.ZoneID = t.ZoneID
		z, err := getZone(ctx, tx, t.ZoneID)
		if fault.KindOf(err) == fault.NotFound || (err == nil && z.Action == ActionDelete) {
			return badRequest("Can not transfer a deleting zone")
		} else if err != nil {
			return err
		}
		if err := s.checkZoneQuota(ctx, tx, a.ProjectID); err != nil {
			return err
		}
		return s.moveZone(ctx, tx, z, t, a)
	})
	if err != nil {
		return TransferAccept{}, err
	}
	return a, nil
}

// checkAccept is Designate's order: the request's status, then its key.
func checkAccept(t TransferRequest, key string) error {
	if t.Status != TransferActive {
		msg := "Zone Transfer Request Invalid"
		if t.Status == TransferComplete {
			msg = "Zone Transfer Request has been used"
		}
		return &fault.Error{Kind: fault.BadRequest, Type: "invalid_zone_transfer_request", Message: msg}
	}
	if subtle.ConstantTimeCompare([]byte(t.Key), []byte(key)) != 1 {
		return forbidden("invalid_key", "Key does not match stored key for request")
	}
	return nil
}

// checkZoneQuota refuses one more zone to a project at its zones quota.
func (s *Store) checkZoneQuota(ctx context.Context, tx *sqlstore.Tx, project string) error {
	q, err := s.quota(ctx, tx, project)
	if err != nil {
		return err
	}
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_zones WHERE project_id = ? AND status <> 'DELETED'", []any{project}, &n); err != nil {
		return err
	}
	if q.Zones >= 0 && n+1 > q.Zones {
		return overQuota("zones")
	}
	return nil
}

// moveZone gives z and its recordsets to a's project (a share of z with
// that project goes), completes t and stores a, with their feed entries.
func (s *Store) moveZone(ctx context.Context, tx *sqlstore.Tx, z Zone, t TransferRequest, a TransferAccept) error {
	now := micros(a.CreatedAt)
	rows, err := tx.Query(ctx, `UPDATE dns_zones SET project_id = ?, version = version + 1, updated_at = ? WHERE id = ? RETURNING `+zoneCols,
		a.ProjectID, now, z.ID)
	moved, err := oneZone(rows, err)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE dns_recordsets SET project_id = ? WHERE zone_id = ?", a.ProjectID, z.ID); err != nil {
		return err
	}
	// The zone's other shares stay, as in Designate; one with its new
	// owner goes (a zone is not shared with its owner).
	own, err := queryShares(ctx, tx, "s.zone_id = ? AND s.target_project_id = ?", z.ID, a.ProjectID)
	if err != nil {
		return err
	}
	if err := dropShares(ctx, s, tx, own); err != nil {
		return err
	}
	res, err := tx.Exec(ctx, "UPDATE dns_transfer_requests SET status = 'COMPLETE', updated_at = ? WHERE id = ? AND status = 'ACTIVE'", now, t.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &fault.Error{Kind: fault.BadRequest, Type: "invalid_zone_transfer_request", Message: "Zone Transfer Request has been used"}
	}
	_, err = tx.Exec(ctx, `INSERT INTO dns_transfer_accepts (id, transfer_request_id, zone_id, project_id, transfer_key, status,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.RequestID, a.ZoneID, a.ProjectID, a.Key, a.Status, now, now)
	if err != nil {
		return err
	}
	if err := s.record(ctx, tx, "zone", moved.ID, moved.ProjectID, watch.Update, moved); err != nil {
		return err
	}
	sets, err := queryRecordSets(ctx, tx, "SELECT "+rsCols+rsFrom+" WHERE rs.zone_id = ? ORDER BY rs.id", z.ID)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		if err := s.record(ctx, tx, "recordset", rs.ID, rs.ProjectID, watch.Update, rs); err != nil {
			return err
		}
	}
	t.Status, t.UpdatedAt = TransferComplete, a.CreatedAt
	if err := s.record(ctx, tx, "transfer_request", t.ID, t.ProjectID, watch.Update, t); err != nil {
		return err
	}
	return s.record(ctx, tx, "transfer_accept", a.ID, a.ProjectID, watch.Create, a)
}

const taCols = "id, transfer_request_id, zone_id, project_id, transfer_key, status, created_at, updated_at"

func queryTransferAccepts(ctx context.Context, tx *sqlstore.Tx, where string, args ...any) ([]TransferAccept, error) {
	rows, err := tx.Query(ctx, "SELECT "+taCols+" FROM dns_transfer_accepts WHERE "+where+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TransferAccept{}
	for rows.Next() {
		var a TransferAccept
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.RequestID, &a.ZoneID, &a.ProjectID, &a.Key, &a.Status, &created, &updated); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, a)
	}
	return out, rows.Err()
}

// GetTransferAccept returns an accept of the viewer's project.
func (s *Store) GetTransferAccept(ctx context.Context, v Viewer, id string) (TransferAccept, error) {
	if err := v.check(); err != nil {
		return TransferAccept{}, err
	}
	var as []TransferAccept
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		as, err = queryTransferAccepts(ctx, tx, "id = ?", id)
		return err
	})
	if err != nil {
		return TransferAccept{}, err
	}
	if len(as) == 0 || !v.sees(as[0].ProjectID) {
		return TransferAccept{}, notFound("ZoneTransferAccept", "zone_transfer_accept_not_found")
	}
	return as[0], nil
}

// ListTransferAccepts lists the accepts of the viewer's project (all of
// them for an admin of all projects), the oldest first; status "" is any.
func (s *Store) ListTransferAccepts(ctx context.Context, v Viewer, status string) ([]TransferAccept, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	where, args := "(? = '' OR status = ?)", []any{status, status}
	if !v.all() {
		where += " AND project_id = ?"
		args = append(args, v.Project)
	}
	var out []TransferAccept
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = queryTransferAccepts(ctx, tx, where, args...)
		return err
	})
	return out, err
}
