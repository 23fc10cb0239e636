package storage

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// SnapshotStatus is a snapshot's status, Cinder's SnapshotStatus
// (cinder/objects/fields.py).
type SnapshotStatus string

// Cinder's snapshot statuses.
const (
	SnapshotError         SnapshotStatus = "error"
	SnapshotAvailable     SnapshotStatus = "available"
	SnapshotCreating      SnapshotStatus = "creating"
	SnapshotDeleting      SnapshotStatus = "deleting"
	SnapshotDeleted       SnapshotStatus = "deleted"
	SnapshotUpdating      SnapshotStatus = "updating"
	SnapshotErrorDeleting SnapshotStatus = "error_deleting"
	SnapshotUnmanaging    SnapshotStatus = "unmanaging"
	SnapshotBackingUp     SnapshotStatus = "backing-up"
	SnapshotRestoring     SnapshotStatus = "restoring"
)

// SnapshotStatuses are Cinder's SnapshotStatus.ALL, in Cinder's order.
func SnapshotStatuses() []SnapshotStatus {
	return []SnapshotStatus{SnapshotError, SnapshotAvailable, SnapshotCreating, SnapshotDeleting, SnapshotDeleted,
		SnapshotUpdating, SnapshotErrorDeleting, SnapshotUnmanaging, SnapshotBackingUp, SnapshotRestoring}
}

// Snapshot is a Cinder volume snapshot: a point-in-time copy of a
// volume, kept on the volume's backend, that new volumes are made from.
type Snapshot struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	UserID    string `json:"user_id"`
	VolumeID  string `json:"volume_id"`
	// Name and Description are nil for none (the API's null).
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// VolumeSize is the volume's size (GiB) when the snapshot was made:
	// the snapshot's size.
	VolumeSize int64          `json:"volume_size"`
	Status     SnapshotStatus `json:"status"`
	// Progress is Cinder's progress: "0%" until the snapshot is made,
	// then "100%".
	Progress     string `json:"progress"`
	VolumeTypeID string `json:"volume_type_id"`
	// Host is the volume's pool (host@backend#pool) when the snapshot
	// was made: the agent that makes and removes it.
	Host     string            `json:"host"`
	Metadata map[string]string `json:"metadata"`
	// Message says why the snapshot went to an error status (the agent's
	// reason).
	Message   string     `json:"message,omitempty"`
	Revision  int64      `json:"revision"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at"`
}

func snapshotNotFound(id string) error {
	return cinderError(fault.NotFound, "SnapshotNotFound", "Snapshot %s could not be found.", id)
}

// invalidSnapshot is Cinder's InvalidSnapshot (400).
func invalidSnapshot(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidSnapshot", "Invalid snapshot: "+format, args...)
}

const snapshotCols = `s.id, s.project_id, s.user_id, s.volume_id, s.name, s.description, s.volume_size, s.status, s.progress,
	s.volume_type_id, s.host, s.message, s.revision, s.created_at, s.updated_at, s.deleted_at`

func scanSnapshot(sc interface{ Scan(...any) error }) (Snapshot, error) {
	var n Snapshot
	var name, desc sql.NullString
	var created, updated int64
	var deleted sql.NullInt64
	if err := sc.Scan(&n.ID, &n.ProjectID, &n.UserID, &n.VolumeID, &name, &desc, &n.VolumeSize, &n.Status, &n.Progress,
		&n.VolumeTypeID, &n.Host, &n.Message, &n.Revision, &created, &updated, &deleted); err != nil {
		return Snapshot{}, err
	}
	if name.Valid {
		n.Name = &name.String
	}
	if desc.Valid {
		n.Description = &desc.String
	}
	n.CreatedAt, n.UpdatedAt, n.DeletedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC(), microsTime(deleted)
	n.Metadata = map[string]string{}
	return n, nil
}

// querySnapshots reads the snapshots of a query selecting snapshotCols
// (from storage_snapshots s), with their metadata.
func querySnapshots(ctx context.Context, q querier, query string, args ...any) ([]Snapshot, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read snapshots: %w", err)
	}
	defer rows.Close()
	out := []Snapshot{}
	at := map[string]int{}
	for rows.Next() {
		n, err := scanSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: read snapshots: %w", err)
		}
		at[n.ID] = len(out)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: read snapshots: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, len(out))
	for i, n := range out {
		ids[i] = n.ID
	}
	mrows, err := q.Query(ctx, "SELECT snapshot_id, meta_key, meta_value FROM storage_snapshot_metadata WHERE snapshot_id IN ("+
		placeholders(len(ids))+")", ids...)
	if err != nil {
		return nil, fmt.Errorf("storage: read snapshot metadata: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var id, k, v string
		if err := mrows.Scan(&id, &k, &v); err != nil {
			return nil, fmt.Errorf("storage: read snapshot metadata: %w", err)
		}
		out[at[id]].Metadata[k] = v
	}
	return out, mrows.Err()
}

// snapshotByID reads snapshot id if it is not deleted (nil if none).
func snapshotByID(ctx context.Context, q querier, id string) (*Snapshot, error) {
	ns, err := querySnapshots(ctx, q, "SELECT "+snapshotCols+" FROM storage_snapshots s WHERE s.id = ? AND s.deleted_at IS NULL", id)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	return &ns[0], nil
}

// volumeSnapshots reads the snapshots of volume id that are not deleted,
// oldest first.
func volumeSnapshots(ctx context.Context, q querier, id string) ([]Snapshot, error) {
	return querySnapshots(ctx, q, "SELECT "+snapshotCols+" FROM storage_snapshots s WHERE s.volume_id = ? AND s.deleted_at IS NULL"+
		" ORDER BY s.created_at, s.id", id)
}

// Snapshot returns snapshot id if v may see it and it is not deleted,
// else Cinder's SnapshotNotFound.
func (s *Store) Snapshot(ctx context.Context, v Viewer, id string) (Snapshot, error) {
	n, err := snapshotByID(ctx, s.db, id)
	if err != nil {
		return Snapshot{}, err
	}
	if n == nil || !v.sees(n.ProjectID) {
		return Snapshot{}, snapshotNotFound(id)
	}
	return *n, nil
}

// SnapshotCreate is what a snapshot is made from (Cinder's snapshot
// create body).
type SnapshotCreate struct {
	// ID is the new snapshot's id, a UUID ("" for a random one).
	ID       string
	VolumeID string
	UserID   string
	// Name and Description are nil for none.
	Name        *string
	Description *string
	Metadata    map[string]string
	// Force, or AllowInUse (Cinder's 3.66 and later), lets an in-use
	// volume be snapshotted.
	Force, AllowInUse bool
}

// CreateSnapshot is Cinder's snapshot create: the volume, one v sees,
// must be placed on a backend, not in maintenance or error, and
// available (or in-use with Force or AllowInUse); the project's
// snapshots quota (and snapshots_<type>) takes one more and its
// gigabytes quotas the volume's size (Cinder's no_snapshot_gb_quota is
// false), checked under the project's lock in the transaction that
// makes the snapshot. It is made in status creating on the volume's
// pool, for that pool's agent.
func (s *Store) CreateSnapshot(ctx context.Context, v Viewer, c SnapshotCreate) (Snapshot, error) {
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if u, err := uuid.Parse(c.ID); err != nil {
		return Snapshot{}, fault.Invalid("id", "Invalid input received: snapshot id %q is not a UUID.", c.ID)
	} else {
		c.ID = u.String()
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", c.Name}, {"description", c.Description}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return Snapshot{}, err
		}
	}
	for _, f := range []struct{ name, v string }{{"volume_id", c.VolumeID}, {"user_id", c.UserID}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return Snapshot{}, err
		}
	}
	if err := checkMetadata(c.Metadata); err != nil {
		return Snapshot{}, err
	}
	var out Snapshot
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, v.Project); err != nil {
			return err
		}
		if err := lockRow(ctx, tx, "storage_volumes", c.VolumeID); err != nil {
			return err
		}
		vol, err := volumeByID(ctx, tx, c.VolumeID)
		if err != nil {
			return err
		}
		if vol == nil || !v.sees(vol.ProjectID) {
			return volumeNotFound(c.VolumeID)
		}
		switch {
		case vol.Host == "":
			return invalidVolume("The snapshot cannot be created because volume has not been scheduled to any host.")
		case vol.Status == VolumeMaintenance:
			return invalidVolume("The snapshot cannot be created when the volume is in maintenance mode.")
		case vol.migrating():
			return invalidVolume("Snapshot cannot be created while volume is migrating.")
		case vol.Status == VolumeError:
			return invalidVolume("The snapshot cannot be created when the volume is in error status.")
		}
		valid := []VolumeStatus{VolumeAvailable}
		if c.Force || c.AllowInUse {
			valid = append(valid, VolumeInUse)
		}
		if !slices.Contains(valid, vol.Status) {
			names := make([]string, len(valid))
			for i, st := range valid {
				names[i] = string(st)
			}
			return invalidVolume("Volume %s status must be %s, but current status is: %s.", vol.ID, strings.Join(names, ", "), vol.Status)
		}
		vt, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
		if err != nil {
			return err
		}
		if err := s.checkSnapshotQuota(ctx, tx, v.Project, vt, vol.Size); err != nil {
			return err
		}
		var n int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_snapshots WHERE id = ?", []any{c.ID}, &n); err != nil {
			return fmt.Errorf("storage: create snapshot: %w", err)
		}
		if n > 0 {
			return cinderError(fault.Conflict, "SnapshotExists", "Snapshot %s already exists.", c.ID)
		}
		now := s.now()
		snap := Snapshot{ID: c.ID, ProjectID: v.Project, UserID: c.UserID, VolumeID: vol.ID, Name: c.Name,
			Description: c.Description, VolumeSize: vol.Size, Status: SnapshotCreating, Progress: "0%",
			VolumeTypeID: vol.VolumeTypeID, Host: vol.Host, Metadata: maps.Clone(c.Metadata), Revision: 1,
			CreatedAt: now, UpdatedAt: now}
		if snap.Metadata == nil {
			snap.Metadata = map[string]string{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO storage_snapshots (id, project_id, user_id, volume_id, name, description,
			volume_size, status, progress, volume_type_id, host, message, revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 1, ?, ?)`,
			snap.ID, snap.ProjectID, snap.UserID, snap.VolumeID, snap.Name, snap.Description, snap.VolumeSize,
			string(snap.Status), snap.Progress, snap.VolumeTypeID, snap.Host, now.UnixMicro(), now.UnixMicro()); err != nil {
			return fmt.Errorf("storage: create snapshot: %w", err)
		}
		if err := writeSnapshotMetadata(ctx, tx, snap.ID, snap.Metadata); err != nil {
			return err
		}
		out = snap
		return s.record(ctx, tx, "snapshot", snap.ID, snap.ProjectID, watch.Create, snap)
	})
	if err != nil {
		return Snapshot{}, err
	}
	return out, nil
}

// checkSnapshotQuota is Cinder's reserve of a snapshot of a size GiB
// volume of type t: snapshots +1 and gigabytes +size, with the type's
// snapshots_<name> and gigabytes_<name>; the first resource over, in
// name order, says what is refused as Cinder's
// process_reserve_over_quota does.
func (s *Store) checkSnapshotQuota(ctx context.Context, tx *sqlstore.Tx, project string, t *VolumeType, size int64) error {
	limits, err := s.quotasIn(ctx, tx, project)
	if err != nil {
		return err
	}
	used, err := usageIn(ctx, tx, project)
	if err != nil {
		return err
	}
	deltas := map[string]int64{QuotaSnapshots: 1, QuotaGigabytes: size}
	if t != nil {
		for r, d := range maps.Clone(deltas) {
			deltas[r+"_"+t.Name] = d
		}
	}
	for _, r := range slices.Sorted(maps.Keys(deltas)) {
		lim, ok := limits[r]
		if !ok || lim < 0 || lim >= deltas[r]+used[r] {
			continue
		}
		if strings.Contains(r, QuotaGigabytes) {
			return quotaExceeded(r, size, lim, used[r])
		}
		return cinderError(fault.TooLarge, "SnapshotLimitExceeded", "Maximum number of snapshots allowed (%d) exceeded", lim)
	}
	return nil
}

// writeSnapshotMetadata replaces snapshot id's metadata rows with md.
func writeSnapshotMetadata(ctx context.Context, tx *sqlstore.Tx, id string, md map[string]string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM storage_snapshot_metadata WHERE snapshot_id = ?", id); err != nil {
		return fmt.Errorf("storage: snapshot %s metadata: %w", id, err)
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := tx.Exec(ctx, "INSERT INTO storage_snapshot_metadata (snapshot_id, meta_key, meta_value) VALUES (?, ?, ?)",
			id, k, md[k]); err != nil {
			return fmt.Errorf("storage: snapshot %s metadata: %w", id, err)
		}
	}
	return nil
}

// writeSnapshot changes snapshot id in one transaction, as writeVolume
// does volumes: change sees the current row and edits it; the row is
// written with a new revision and recorded on the feed.
func (s *Store) writeSnapshot(ctx context.Context, id string, change func(*sqlstore.Tx, *Snapshot) error) (Snapshot, error) {
	var out Snapshot
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error { return s.changeSnapshot(ctx, tx, id, change, &out) })
	return out, err
}

func (s *Store) changeSnapshot(ctx context.Context, tx *sqlstore.Tx, id string, change func(*sqlstore.Tx, *Snapshot) error, out *Snapshot) error {
	if tx.Dialect() == sqlstore.Postgres {
		if _, err := tx.Exec(ctx, "SELECT id FROM storage_snapshots WHERE id = ? FOR UPDATE", id); err != nil {
			return fmt.Errorf("storage: lock snapshot %s: %w", id, err)
		}
	}
	old, err := snapshotByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if old == nil {
		return snapshotNotFound(id)
	}
	n := *old
	n.Metadata = maps.Clone(old.Metadata)
	if err := change(tx, &n); err == errUnchanged {
		*out = *old
		return nil
	} else if err != nil {
		return err
	}
	return s.saveSnapshot(ctx, tx, old, &n, out)
}

func (s *Store) saveSnapshot(ctx context.Context, tx *sqlstore.Tx, old, n *Snapshot, out *Snapshot) error {
	n.UpdatedAt = s.now()
	res, err := tx.Exec(ctx, `UPDATE storage_snapshots SET name = ?, description = ?, status = ?, progress = ?, message = ?,
		revision = revision + 1, updated_at = ?, deleted_at = ? WHERE id = ? AND revision = ?`,
		n.Name, n.Description, string(n.Status), n.Progress, n.Message, n.UpdatedAt.UnixMicro(), nullMicros(n.DeletedAt),
		n.ID, old.Revision)
	if err != nil {
		return fmt.Errorf("storage: update snapshot %s: %w", n.ID, err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return cinderError(fault.Conflict, "SnapshotUpdateConflict", "Conflict updating snapshot %s: it changed meanwhile.", n.ID)
	}
	if !maps.Equal(old.Metadata, n.Metadata) {
		if err := writeSnapshotMetadata(ctx, tx, n.ID, n.Metadata); err != nil {
			return err
		}
	}
	n.Revision = old.Revision + 1
	*out = *n
	op := watch.Update
	if n.DeletedAt != nil {
		op = watch.Delete
	}
	return s.record(ctx, tx, "snapshot", n.ID, n.ProjectID, op, *n)
}

// SnapshotUpdate is Cinder's snapshot update: the fields set change
// (nil leaves one as it is; the API's null clears with Clear*).
type SnapshotUpdate struct {
	Name, Description           *string
	ClearName, ClearDescription bool
}

// UpdateSnapshot changes a snapshot's name and description.
func (s *Store) UpdateSnapshot(ctx context.Context, v Viewer, id string, u SnapshotUpdate) (Snapshot, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", u.Name}, {"description", u.Description}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return Snapshot{}, err
		}
	}
	return s.writeSnapshot(ctx, id, func(_ *sqlstore.Tx, n *Snapshot) error {
		if !v.sees(n.ProjectID) {
			return snapshotNotFound(id)
		}
		switch {
		case u.ClearName:
			n.Name = nil
		case u.Name != nil:
			n.Name = u.Name
		}
		switch {
		case u.ClearDescription:
			n.Description = nil
		case u.Description != nil:
			n.Description = u.Description
		}
		return nil
	})
}

// UpdateSnapshotMetadata sets md's keys on snapshot id (replace: md is
// the whole metadata) and returns the result.
func (s *Store) UpdateSnapshotMetadata(ctx context.Context, v Viewer, id string, md map[string]string, replace bool) (map[string]string, error) {
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	n, err := s.writeSnapshot(ctx, id, func(_ *sqlstore.Tx, n *Snapshot) error {
		if !v.sees(n.ProjectID) {
			return snapshotNotFound(id)
		}
		if replace {
			n.Metadata = map[string]string{}
		}
		maps.Copy(n.Metadata, md)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n.Metadata, nil
}

// DeleteSnapshotMetadata removes key from snapshot id's metadata;
// Cinder's SnapshotMetadataNotFound when it has none.
func (s *Store) DeleteSnapshotMetadata(ctx context.Context, v Viewer, id, key string) error {
	_, err := s.writeSnapshot(ctx, id, func(_ *sqlstore.Tx, n *Snapshot) error {
		if !v.sees(n.ProjectID) {
			return snapshotNotFound(id)
		}
		if _, ok := n.Metadata[key]; !ok {
			return cinderError(fault.NotFound, "SnapshotMetadataNotFound", "Snapshot %s has no metadata with key %s.", id, key)
		}
		delete(n.Metadata, key)
		return nil
	})
	return err
}

// DeleteSnapshot is Cinder's snapshot delete: available or error (any
// status with force, an admin's os-force_delete) to deleting, for the
// agent of its pool; else Cinder's InvalidSnapshot. A snapshot being
// made into a new volume (one of its volumes still creating) is
// refused too: the agent copies from it.
func (s *Store) DeleteSnapshot(ctx context.Context, v Viewer, id string, force bool) (Snapshot, error) {
	return s.writeSnapshot(ctx, id, func(tx *sqlstore.Tx, n *Snapshot) error {
		if !v.sees(n.ProjectID) {
			return snapshotNotFound(id)
		}
		if !force && n.Status != SnapshotAvailable && n.Status != SnapshotError {
			return invalidSnapshot("Snapshot status must be available or error and must not be part of a group.")
		}
		if err := snapshotCopied(ctx, tx, id); err != nil {
			return err
		}
		n.Status = SnapshotDeleting
		return nil
	})
}

// snapshotCopied refuses (Cinder's InvalidSnapshot) while a new volume
// is being made from snapshot id. The volume's create locked id's row,
// so on PostgreSQL this waits for it.
func snapshotCopied(ctx context.Context, tx *sqlstore.Tx, id string) error {
	var copying int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volumes WHERE snapshot_id = ? AND status = ? AND deleted_at IS NULL",
		[]any{id, string(VolumeCreating)}, &copying); err != nil {
		return fmt.Errorf("storage: snapshot %s: %w", id, err)
	}
	if copying > 0 {
		return invalidSnapshot("Snapshot %s is being copied into a new volume.", id)
	}
	return nil
}

// ResetSnapshotStatus is an admin's os-reset_status of a snapshot: its
// status set as given (one of Cinder's, not deleted), the backend left
// alone.
func (s *Store) ResetSnapshotStatus(ctx context.Context, v Viewer, id string, status SnapshotStatus) (Snapshot, error) {
	if !slices.Contains(SnapshotStatuses(), status) || status == SnapshotDeleted {
		return Snapshot{}, invalidParameter("Snapshot status: %s is invalid.", status)
	}
	return s.writeSnapshot(ctx, id, func(_ *sqlstore.Tx, n *Snapshot) error {
		if !v.sees(n.ProjectID) {
			return snapshotNotFound(id)
		}
		n.Status = status
		return nil
	})
}

// SnapshotReport is what a volume agent says when the work a
// snapshot's status asked for has ended.
type SnapshotReport struct {
	// Status is the status acted on: SnapshotCreating or
	// SnapshotDeleting. The report is refused (409) when the snapshot
	// has moved on since.
	Status SnapshotStatus `json:"status"`
	// Error, when set, is why the work failed: the snapshot goes to
	// error or error_deleting with it as its Message.
	Error string `json:"error,omitempty"`
	// Busy, with an Error about a delete, says the backend refused it
	// because the snapshot is in use (volumes cloned from it): the
	// snapshot goes back to available with the Error as its Message, as
	// Cinder's volume manager does on the driver's SnapshotIsBusy.
	Busy bool `json:"busy,omitempty"`
}

// ReportSnapshot applies the report of host's agent on snapshot id:
// creating → available (progress 100%) or error; deleting → deleted
// (its row kept, deleted_at set), error_deleting, or available again
// when busy (Cinder's SnapshotIsBusy). A failure leaves the project a
// user message, as Cinder's volume manager does. Another host's
// snapshot is not found; a status the snapshot is no longer in is a 409.
func (s *Store) ReportSnapshot(ctx context.Context, host, id string, r SnapshotReport) (Snapshot, error) {
	if err := checkHost(host); err != nil {
		return Snapshot{}, err
	}
	if r.Status != SnapshotCreating && r.Status != SnapshotDeleting {
		return Snapshot{}, fault.Invalid("status", "Invalid input received: a report is about creating or deleting, not %q.", r.Status)
	}
	if err := checkText("error", r.Error, len(r.Error)); err != nil {
		return Snapshot{}, err
	}
	if r.Busy && (r.Error == "" || r.Status != SnapshotDeleting) {
		return Snapshot{}, fault.Invalid("busy", "Invalid input received: busy is a failed delete's.")
	}
	if rs := []rune(r.Error); len(rs) > maxText {
		r.Error = string(rs[:maxText])
	}
	return s.writeSnapshot(ctx, id, func(tx *sqlstore.Tx, n *Snapshot) error {
		if !hostMatches(n.Host, host) {
			return snapshotNotFound(id)
		}
		if n.Status != r.Status {
			return cinderError(fault.Conflict, "UnexpectedSnapshotStatus",
				"Conflict updating snapshot %s. Expected: {'status': '%s'}. Actual: {'status': '%s'}", id, r.Status, n.Status)
		}
		switch {
		case r.Status == SnapshotCreating && r.Error == "":
			n.Status, n.Progress, n.Message = SnapshotAvailable, "100%", ""
		case r.Status == SnapshotCreating:
			n.Status, n.Message = SnapshotError, r.Error
			return s.recordMessage(ctx, tx, n.ProjectID, MessageSnapshot, n.ID, actionSnapshotCreate, detailSnapshotCreateError)
		case r.Error == "":
			now := s.now()
			n.Status, n.DeletedAt = SnapshotDeleted, &now
		case r.Busy:
			n.Status, n.Message = SnapshotAvailable, r.Error
			return s.recordMessage(ctx, tx, n.ProjectID, MessageSnapshot, n.ID, actionSnapshotDelete, detailSnapshotIsBusy)
		default:
			n.Status, n.Message = SnapshotErrorDeleting, r.Error
			return s.recordMessage(ctx, tx, n.ProjectID, MessageSnapshot, n.ID, actionSnapshotDelete, detailSnapshotDeleteError)
		}
		return nil
	})
}

// SnapshotFilter narrows and orders Snapshots, with Cinder's semantics.
type SnapshotFilter struct {
	// AllProjects is an admin's all_tenants (ignored for others);
	// ProjectID then keeps one project's.
	AllProjects bool
	ProjectID   string
	// Name keeps the snapshots of that name exactly, NameLike those
	// whose name contains it, ignoring case.
	Name, NameLike string
	Status         SnapshotStatus
	VolumeID       string
	// Metadata keeps the snapshots having every pair.
	Metadata map[string]string
	// SortKeys and SortDirs as VolumeFilter's (keys from
	// SnapshotSortKeys); Marker and Limit page.
	SortKeys, SortDirs []string
	Marker             string
	Limit              int
}

var snapshotSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "s.id"}, "name": {Expr: "s.name", Nullable: true}, "display_name": {Expr: "s.name", Nullable: true},
	"description": {Expr: "s.description", Nullable: true}, "display_description": {Expr: "s.description", Nullable: true},
	"status": {Expr: "s.status"}, "volume_id": {Expr: "s.volume_id"}, "volume_size": {Expr: "s.volume_size"},
	"size": {Expr: "s.volume_size"}, "created_at": {Expr: "s.created_at"}, "updated_at": {Expr: "s.updated_at"},
	"project_id": {Expr: "s.project_id"}, "user_id": {Expr: "s.user_id"},
}

// SnapshotSortKeys are the keys a snapshot list sorts on.
func SnapshotSortKeys() []string { return slices.Sorted(maps.Keys(snapshotSortKeys)) }

// Snapshots lists the snapshots v may see that f selects, in f's order,
// and whether more follow the page.
func (s *Store) Snapshots(ctx context.Context, v Viewer, f SnapshotFilter) ([]Snapshot, bool, error) {
	order, err := sortOrder(snapshotSortKeys, "s.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	for _, t := range []string{f.ProjectID, f.Name, f.NameLike, string(f.Status), f.VolumeID, f.Marker} {
		if err := checkText("filter", t, len(t)); err != nil {
			return nil, false, err
		}
	}
	for k, val := range f.Metadata {
		if err := checkText("filter", k+val, len(k)+len(val)); err != nil {
			return nil, false, err
		}
	}
	conds, args := []string{"s.deleted_at IS NULL"}, []any{}
	switch {
	case v.Admin && f.AllProjects && f.ProjectID != "":
		conds, args = append(conds, "s.project_id = ?"), append(args, f.ProjectID)
	case v.Admin && f.AllProjects:
	default:
		conds, args = append(conds, "s.project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct {
		set  bool
		cond string
		arg  any
	}{
		{f.Name != "", "s.name = ?", f.Name},
		{f.NameLike != "", `lower(s.name) LIKE ? ESCAPE '\'`, likePattern(f.NameLike)},
		{f.Status != "", "s.status = ?", string(f.Status)},
		{f.VolumeID != "", "s.volume_id = ?", f.VolumeID},
	} {
		if c.set {
			conds, args = append(conds, c.cond), append(args, c.arg)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		conds = append(conds, `EXISTS (SELECT 1 FROM storage_snapshot_metadata m WHERE m.snapshot_id = s.id
			AND m.meta_key = ? AND m.meta_value = ?)`)
		args = append(args, k, f.Metadata[k])
	}
	l := listing{Order: order, Table: "storage_snapshots s", Alias: "s", Cols: snapshotCols, Conds: conds, Args: args,
		Marker: f.Marker, NotFound: snapshotNotFound, Limit: f.Limit}
	if !v.Admin {
		l.MarkerScope, l.MarkerArgs = "s.project_id = ?", []any{v.Project}
	}
	return page(ctx, s.db, l, querySnapshots)
}
