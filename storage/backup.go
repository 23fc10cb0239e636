package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// BackupStatus is a backup's status, Cinder's BackupStatus.
type BackupStatus string

// Cinder's backup statuses.
const (
	BackupError         BackupStatus = "error"
	BackupErrorDeleting BackupStatus = "error_deleting"
	BackupCreating      BackupStatus = "creating"
	BackupAvailable     BackupStatus = "available"
	BackupDeleting      BackupStatus = "deleting"
	BackupDeleted       BackupStatus = "deleted"
	BackupRestoring     BackupStatus = "restoring"
)

// Backup is a Cinder volume backup: a volume's (or one of its
// snapshots') content copied off its backend, whole or (incremental)
// what changed since its parent, that volumes are restored from.
type Backup struct {
	ID         string `json:"id"`
	ProjectID  string `json:"project_id"`
	UserID     string `json:"user_id"`
	VolumeID   string `json:"volume_id"`
	SnapshotID string `json:"snapshot_id,omitempty"`
	// Name, Description and Container are nil for none.
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Container   *string `json:"container"`
	// Size is the volume's size (GiB) when it was backed up.
	Size int64 `json:"size"`
	// ObjectCount is how many objects (compressed chunks) the backup
	// wrote.
	ObjectCount int64        `json:"object_count"`
	Status      BackupStatus `json:"status"`
	FailReason  *string      `json:"fail_reason"`
	// ParentID is the backup an incremental one builds on ("" for a
	// full backup).
	ParentID string `json:"parent_id,omitempty"`
	// HasDependentBackups: incremental backups build on this one.
	HasDependentBackups bool `json:"has_dependent_backups"`
	// Host is the volume agent doing the backup's work: its volume's
	// pool while it is made, its restore volume's while it is restored.
	Host             string `json:"host"`
	AvailabilityZone string `json:"availability_zone"`
	// RestoreVolumeID is the volume being restored (or last restored).
	RestoreVolumeID string `json:"restore_volume_id,omitempty"`
	// PreviousStatus is what the volume (snapshot) returns to once the
	// backup is made.
	PreviousStatus string            `json:"previous_status,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	Revision       int64             `json:"revision"`
	DataTimestamp  time.Time         `json:"data_timestamp"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	DeletedAt      *time.Time        `json:"deleted_at"`
}

// IsIncremental reports whether the backup builds on a parent.
func (b Backup) IsIncremental() bool { return b.ParentID != "" }

func backupNotFound(id string) error {
	return cinderError(fault.NotFound, "BackupNotFound", "Backup %s could not be found.", id)
}

// invalidBackup is Cinder's InvalidBackup (400).
func invalidBackup(format string, args ...any) error {
	return cinderError(fault.BadRequest, "InvalidBackup", "Invalid backup: "+format, args...)
}

const backupCols = `b.id, b.project_id, b.user_id, b.volume_id, b.snapshot_id, b.name, b.description, b.container, b.size,
	b.object_count, b.status, b.fail_reason, b.parent_id, b.host, b.availability_zone, b.restore_volume_id, b.previous_status,
	b.metadata, b.revision, b.data_timestamp, b.created_at, b.updated_at, b.deleted_at,
	(SELECT COUNT(*) FROM storage_backups d WHERE d.parent_id = b.id AND d.deleted_at IS NULL)`

func queryBackups(ctx context.Context, q querier, query string, args ...any) ([]Backup, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read backups: %w", err)
	}
	defer rows.Close()
	out := []Backup{}
	for rows.Next() {
		var b Backup
		var name, desc, container, reason sql.NullString
		var md string
		var stamp, created, updated, deps int64
		var deleted sql.NullInt64
		if err := rows.Scan(&b.ID, &b.ProjectID, &b.UserID, &b.VolumeID, &b.SnapshotID, &name, &desc, &container, &b.Size,
			&b.ObjectCount, &b.Status, &reason, &b.ParentID, &b.Host, &b.AvailabilityZone, &b.RestoreVolumeID, &b.PreviousStatus,
			&md, &b.Revision, &stamp, &created, &updated, &deleted, &deps); err != nil {
			return nil, fmt.Errorf("storage: read backups: %w", err)
		}
		for _, f := range []struct {
			v   sql.NullString
			dst **string
		}{{name, &b.Name}, {desc, &b.Description}, {container, &b.Container}, {reason, &b.FailReason}} {
			if f.v.Valid {
				s := f.v.String
				*f.dst = &s
			}
		}
		b.Metadata = map[string]string{}
		if err := json.Unmarshal([]byte(md), &b.Metadata); err != nil {
			return nil, fmt.Errorf("storage: backup %s metadata: %w", b.ID, err)
		}
		b.HasDependentBackups = deps > 0
		b.DataTimestamp, b.CreatedAt, b.UpdatedAt = time.UnixMicro(stamp).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		b.DeletedAt = microsTime(deleted)
		out = append(out, b)
	}
	return out, rows.Err()
}

func backupByID(ctx context.Context, q querier, id string) (*Backup, error) {
	bs, err := queryBackups(ctx, q, "SELECT "+backupCols+" FROM storage_backups b WHERE b.id = ? AND b.deleted_at IS NULL", id)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return &bs[0], nil
}

// Backup returns backup id if v sees it, else Cinder's BackupNotFound.
func (s *Store) Backup(ctx context.Context, v Viewer, id string) (Backup, error) {
	if err := checkText("id", id, len(id)); err != nil {
		return Backup{}, backupNotFound(id)
	}
	b, err := backupByID(ctx, s.db, id)
	if err != nil {
		return Backup{}, err
	}
	if b == nil || !v.sees(b.ProjectID) {
		return Backup{}, backupNotFound(id)
	}
	return *b, nil
}

// BackupCreate is what a backup is made from (Cinder's backup create
// body).
type BackupCreate struct {
	VolumeID, UserID string
	// SnapshotID backs up that snapshot of the volume instead ("" for
	// the volume itself).
	SnapshotID string
	// Name, Description and Container are nil for none.
	Name, Description, Container *string
	// Incremental builds on the volume's latest backup; Force lets an
	// in-use volume be backed up.
	Incremental, Force bool
	Metadata           map[string]string
}

// CreateBackup is Cinder's backup create, in one transaction under the
// project's lock: the volume (one v sees) available, or in-use with
// Force (or, with SnapshotID, that snapshot of it available); the
// backups and backup_gigabytes quotas; for Incremental the volume's
// backup of the latest data as parent, which must be available. The
// volume goes to backing-up (the snapshot to backing-up), the backup is
// creating, for the volume's pool's agent.
func (s *Store) CreateBackup(ctx context.Context, v Viewer, c BackupCreate) (Backup, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", c.Name}, {"description", c.Description}, {"container", c.Container}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return Backup{}, err
		}
	}
	for _, f := range []struct{ name, v string }{{"volume_id", c.VolumeID}, {"user_id", c.UserID}, {"snapshot_id", c.SnapshotID}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return Backup{}, err
		}
	}
	if err := checkMetadata(c.Metadata); err != nil {
		return Backup{}, err
	}
	var out Backup
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, v.Project); err != nil {
			return err
		}
		var b Backup
		var vol Volume
		if err := s.changeVolume(ctx, tx, c.VolumeID, func(tx *sqlstore.Tx, vol *Volume) error {
			if !v.sees(vol.ProjectID) {
				return volumeNotFound(c.VolumeID)
			}
			var snap *Snapshot
			if c.SnapshotID != "" {
				n, err := snapshotByID(ctx, tx, c.SnapshotID)
				if err != nil {
					return err
				}
				if n == nil || !v.sees(n.ProjectID) {
					return snapshotNotFound(c.SnapshotID)
				}
				if n.VolumeID != vol.ID {
					return invalidVolume("Volume %s does not match with snapshot.volume_id %s.", vol.ID, n.VolumeID)
				}
				if n.Status != SnapshotAvailable {
					return invalidSnapshot("Snapshot to be backed up must be available, but the current status is \"%s\".", n.Status)
				}
				snap = n
			} else if vol.Status != VolumeAvailable && vol.Status != VolumeInUse {
				return invalidVolume("Volume to be backed up must be available or in-use, but the current status is \"%s\".", vol.Status)
			} else if vol.Status == VolumeInUse && !c.Force {
				return invalidVolume("Backing up an in-use volume must use the force flag.")
			} else if vol.migrating() {
				return errMigrating(vol.ID)
			}
			if err := s.checkBackupQuota(ctx, tx, v.Project, vol.Size); err != nil {
				return err
			}
			now := s.now()
			b = Backup{ID: uuid.NewString(), ProjectID: v.Project, UserID: c.UserID, VolumeID: vol.ID, SnapshotID: c.SnapshotID,
				Name: c.Name, Description: c.Description, Container: c.Container, Size: vol.Size, Status: BackupCreating,
				Host: vol.Host, AvailabilityZone: vol.AvailabilityZone, Metadata: maps.Clone(c.Metadata), Revision: 1,
				DataTimestamp: now, CreatedAt: now, UpdatedAt: now}
			if b.Metadata == nil {
				b.Metadata = map[string]string{}
			}
			if snap != nil {
				b.DataTimestamp = snap.CreatedAt
			}
			if c.Incremental {
				parent, err := latestBackup(ctx, tx, vol.ID, v.Project, snap)
				if err != nil {
					return err
				}
				b.ParentID = parent
			}
			if snap != nil {
				b.PreviousStatus = string(SnapshotAvailable)
				var n Snapshot
				if err := s.changeSnapshot(ctx, tx, snap.ID, func(_ *sqlstore.Tx, n *Snapshot) error {
					n.Status = SnapshotBackingUp
					return nil
				}, &n); err != nil {
					return err
				}
				return errUnchanged // the volume stays as it is
			}
			b.PreviousStatus, vol.Status = string(vol.Status), VolumeBackingUp
			return nil
		}, &vol); err != nil {
			return err
		}
		if err := insertBackup(ctx, tx, b); err != nil {
			return err
		}
		out = b
		return s.record(ctx, tx, "backup", b.ID, b.ProjectID, watch.Create, b)
	})
	if err != nil {
		return Backup{}, err
	}
	return out, nil
}

// latestBackup is Cinder's parent of an incremental backup of volume
// (of project): its backup with the latest data (of a snapshot, the
// latest older than the snapshot), which must be available.
func latestBackup(ctx context.Context, tx *sqlstore.Tx, volume, project string, snap *Snapshot) (string, error) {
	bs, err := queryBackups(ctx, tx, "SELECT "+backupCols+` FROM storage_backups b WHERE b.volume_id = ? AND b.project_id = ?
		AND b.deleted_at IS NULL ORDER BY b.data_timestamp DESC, b.created_at DESC`, volume, project)
	if err != nil {
		return "", err
	}
	if len(bs) == 0 {
		return "", invalidBackup("No backups available to do an incremental backup.")
	}
	latest := bs[0]
	if snap != nil {
		if i := slices.IndexFunc(bs, func(b Backup) bool { return b.DataTimestamp.Before(snap.CreatedAt) }); i >= 0 {
			latest = bs[i]
		}
	}
	if latest.Status != BackupAvailable {
		return "", invalidBackup("The parent backup must be available for incremental backup.")
	}
	return latest.ID, nil
}

func insertBackup(ctx context.Context, tx *sqlstore.Tx, b Backup) error {
	md, err := json.Marshal(b.Metadata)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO storage_backups (id, project_id, user_id, volume_id, snapshot_id, name, description,
		container, size, object_count, status, parent_id, host, availability_zone, previous_status, metadata, revision,
		data_timestamp, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
		b.ID, b.ProjectID, b.UserID, b.VolumeID, b.SnapshotID, b.Name, b.Description, b.Container, b.Size, string(b.Status),
		b.ParentID, b.Host, b.AvailabilityZone, b.PreviousStatus, string(md), b.DataTimestamp.UnixMicro(),
		b.CreatedAt.UnixMicro(), b.UpdatedAt.UnixMicro()); err != nil {
		return fmt.Errorf("storage: create backup: %w", err)
	}
	return nil
}

// checkBackupQuota is Cinder's reserve of a backup of a size GiB volume:
// backups +1 and backup_gigabytes +size, the first over (in name order)
// refused as process_reserve_over_quota does for backups.
func (s *Store) checkBackupQuota(ctx context.Context, tx *sqlstore.Tx, project string, size int64) error {
	limits, err := s.quotasIn(ctx, tx, project)
	if err != nil {
		return err
	}
	used, err := usageIn(ctx, tx, project)
	if err != nil {
		return err
	}
	deltas := map[string]int64{QuotaBackups: 1, QuotaBackupGigabytes: size}
	for _, r := range slices.Sorted(maps.Keys(deltas)) {
		lim := limits[r]
		if lim < 0 || lim >= deltas[r]+used[r] {
			continue
		}
		if r == QuotaBackupGigabytes {
			return cinderError(fault.TooLarge, "VolumeBackupSizeExceedsAvailableQuota",
				"Requested backup exceeds allowed Backup gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
				size, lim, used[r])
		}
		return cinderError(fault.TooLarge, "BackupLimitExceeded", "Maximum number of backups allowed (%d) exceeded", lim)
	}
	return nil
}

// writeBackup changes backup id in tx: change sees the current row and
// edits it; the row is written with a new revision and recorded.
func (s *Store) changeBackup(ctx context.Context, tx *sqlstore.Tx, id string, change func(*Backup) error, out *Backup) error {
	if err := lockRow(ctx, tx, "storage_backups", id); err != nil {
		return err
	}
	old, err := backupByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if old == nil {
		return backupNotFound(id)
	}
	b := *old
	b.Metadata = maps.Clone(old.Metadata)
	if err := change(&b); err == errUnchanged {
		*out = *old
		return nil
	} else if err != nil {
		return err
	}
	b.UpdatedAt = s.now()
	md, err := json.Marshal(b.Metadata)
	if err != nil {
		return err
	}
	res, err := tx.Exec(ctx, `UPDATE storage_backups SET volume_id = ?, name = ?, description = ?, object_count = ?, status = ?,
		fail_reason = ?, host = ?, restore_volume_id = ?, metadata = ?, revision = revision + 1, updated_at = ?, deleted_at = ?
		WHERE id = ? AND revision = ?`, b.VolumeID, b.Name, b.Description, b.ObjectCount, string(b.Status), b.FailReason, b.Host,
		b.RestoreVolumeID, string(md), b.UpdatedAt.UnixMicro(), nullMicros(b.DeletedAt), b.ID, old.Revision)
	if err != nil {
		return fmt.Errorf("storage: update backup %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return cinderError(fault.Conflict, "BackupUpdateConflict", "Conflict updating backup %s: it changed meanwhile.", id)
	}
	b.Revision = old.Revision + 1
	*out = b
	op := watch.Update
	if b.DeletedAt != nil {
		op = watch.Delete
	}
	return s.record(ctx, tx, "backup", b.ID, b.ProjectID, op, b)
}

func (s *Store) writeBackup(ctx context.Context, id string, change func(*sqlstore.Tx, *Backup) error) (Backup, error) {
	var out Backup
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		return s.changeBackup(ctx, tx, id, func(b *Backup) error { return change(tx, b) }, &out)
	})
	return out, err
}

// BackupUpdate is Cinder's backup update (3.9; metadata from 3.43): the
// fields set change.
type BackupUpdate struct {
	Name, Description           *string
	ClearName, ClearDescription bool
	// Metadata, when not nil, replaces the backup's.
	Metadata map[string]string
}

// UpdateBackup changes a backup's name, description and metadata.
func (s *Store) UpdateBackup(ctx context.Context, v Viewer, id string, u BackupUpdate) (Backup, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", u.Name}, {"description", u.Description}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return Backup{}, err
		}
	}
	if err := checkMetadata(u.Metadata); err != nil {
		return Backup{}, err
	}
	return s.writeBackup(ctx, id, func(_ *sqlstore.Tx, b *Backup) error {
		if !v.sees(b.ProjectID) {
			return backupNotFound(id)
		}
		old := *b
		switch {
		case u.ClearName:
			b.Name = nil
		case u.Name != nil:
			b.Name = u.Name
		}
		switch {
		case u.ClearDescription:
			b.Description = nil
		case u.Description != nil:
			b.Description = u.Description
		}
		if u.Metadata != nil {
			b.Metadata = maps.Clone(u.Metadata)
		}
		if samePtr(b.Name, old.Name) && samePtr(b.Description, old.Description) && maps.Equal(b.Metadata, old.Metadata) {
			return errUnchanged // Cinder's save of nothing writes nothing
		}
		return nil
	})
}

func samePtr(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// DeleteBackup is Cinder's backup delete: available or error (any status
// with force, an admin's os-force_delete), and no incremental backup
// building on it; it goes to deleting, for its host's agent.
func (s *Store) DeleteBackup(ctx context.Context, v Viewer, id string, force bool) (Backup, error) {
	return s.writeBackup(ctx, id, func(_ *sqlstore.Tx, b *Backup) error {
		if !v.sees(b.ProjectID) {
			return backupNotFound(id)
		}
		if !force && b.Status != BackupAvailable && b.Status != BackupError {
			return invalidBackup("Backup status must be available or error")
		}
		if b.HasDependentBackups {
			return invalidBackup("Incremental backups exist for this backup.")
		}
		b.Status = BackupDeleting
		return nil
	})
}

// RestoreBackup is Cinder's restore to volume volumeID: the backup
// available, the volume (one v sees) available and at least the
// backup's size; the backup goes to restoring on the volume's pool's
// agent, the volume to restoring-backup, in one transaction. (A restore
// to a new volume makes the volume first, as Cinder's API does, then
// restores to it.)
func (s *Store) RestoreBackup(ctx context.Context, v Viewer, id, volumeID string) (Backup, Volume, error) {
	if err := checkText("volume_id", volumeID, maxText); err != nil {
		return Backup{}, Volume{}, err
	}
	var out Backup
	var vol Volume
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		return s.changeBackup(ctx, tx, id, func(b *Backup) error {
			if !v.sees(b.ProjectID) {
				return backupNotFound(id)
			}
			if b.Status != BackupAvailable {
				return invalidBackup("Backup status must be available")
			}
			return s.changeVolume(ctx, tx, volumeID, func(_ *sqlstore.Tx, vv *Volume) error {
				if !v.sees(vv.ProjectID) {
					return volumeNotFound(volumeID)
				}
				if vv.Status != VolumeAvailable {
					return invalidVolume("Volume to be restored to must be available")
				}
				if vv.migrating() {
					// The copy would miss what the restore writes, and the
					// old copy's removal take it away.
					return errMigrating(vv.ID)
				}
				if b.Size > vv.Size {
					return invalidVolume("volume size %d is too small to restore backup of size %d.", vv.Size, b.Size)
				}
				if vv.Host == "" {
					return invalidVolume("Volume to be restored to must be available")
				}
				vv.Status = VolumeRestoringBackup
				b.Status, b.RestoreVolumeID, b.Host = BackupRestoring, vv.ID, vv.Host
				return nil
			}, &vol)
		}, &out)
	})
	if err != nil {
		return Backup{}, Volume{}, err
	}
	return out, vol, nil
}

// ResetBackupStatus is an admin's os-reset_status of a backup: available
// or error (Cinder's schema allows no other), the backend left alone.
func (s *Store) ResetBackupStatus(ctx context.Context, v Viewer, id string, status BackupStatus) (Backup, error) {
	if status != BackupAvailable && status != BackupError {
		return Backup{}, invalidParameter("Backup status: %s is invalid, valid statuses are: ['available', 'error'].", status)
	}
	return s.writeBackup(ctx, id, func(_ *sqlstore.Tx, b *Backup) error {
		if !v.sees(b.ProjectID) {
			return backupNotFound(id)
		}
		b.Status = status
		return nil
	})
}

// BackupReport is what a volume agent says when the work a backup's
// status asked for has ended.
type BackupReport struct {
	// Status is the status acted on: BackupCreating, BackupRestoring or
	// BackupDeleting (a 409 when the backup has moved on).
	Status BackupStatus `json:"status"`
	// Error, when set, is why the work failed.
	Error string `json:"error,omitempty"`
	// ObjectCount is how many objects a create wrote.
	ObjectCount int64 `json:"object_count,omitempty"`
	// VolumeID is an imported backup's volume, as the backup store
	// recorded it.
	VolumeID string `json:"volume_id,omitempty"`
}

// ReportBackup applies the report of host's agent on backup id:
// creating → available (its object count) or error (its fail reason),
// the volume (or snapshot) back to the status it had (an imported
// backup takes the volume the report names); restoring →
// available, the restored volume available, or (failed) the volume
// error_restoring and the backup available again, as Cinder's backup
// manager ends a restore (a volume made from the backup stays creating
// for its agent's report, or fails: error), with src_backup_id in the
// metadata of a volume restored from another's backup; deleting → deleted (its row kept) or
// error_deleting.
func (s *Store) ReportBackup(ctx context.Context, host, id string, r BackupReport) (Backup, error) {
	if err := checkHost(host); err != nil {
		return Backup{}, err
	}
	switch r.Status {
	case BackupCreating, BackupRestoring, BackupDeleting:
	default:
		return Backup{}, fault.Invalid("status", "Invalid input received: a report is about creating, restoring or deleting, not %q.", r.Status)
	}
	if err := checkText("error", r.Error, len(r.Error)); err != nil {
		return Backup{}, err
	}
	if rs := []rune(r.Error); len(rs) > maxText {
		r.Error = string(rs[:maxText])
	}
	if r.ObjectCount < 0 {
		return Backup{}, fault.Invalid("object_count", "Invalid input received: object_count must be >= 0.")
	}
	return s.writeBackup(ctx, id, func(tx *sqlstore.Tx, b *Backup) error {
		if !hostMatches(b.Host, host) {
			return backupNotFound(id)
		}
		if b.Status != r.Status {
			return cinderError(fault.Conflict, "UnexpectedBackupStatus",
				"Conflict updating backup %s. Expected: {'status': '%s'}. Actual: {'status': '%s'}", id, r.Status, b.Status)
		}
		var reason *string
		if r.Error != "" {
			reason = &r.Error
		}
		switch r.Status {
		case BackupCreating:
			if b.VolumeID == ImportVolumeID {
				// An import: its volume is the store's record of it.
				if reason == nil {
					if u, err := uuid.Parse(r.VolumeID); err != nil || u.String() != r.VolumeID {
						return fault.Invalid("volume_id", "Invalid input received: an imported backup's volume_id must be a UUID, not %q.", r.VolumeID)
					}
					b.VolumeID = r.VolumeID
				}
			} else if err := s.endBackupSource(ctx, tx, b); err != nil {
				return err
			}
			b.Status, b.FailReason, b.ObjectCount = BackupAvailable, nil, r.ObjectCount
			if reason != nil {
				b.Status, b.FailReason, b.ObjectCount = BackupError, reason, 0
				return s.recordMessage(ctx, tx, b.ProjectID, MessageBackup, b.ID, actionBackupCreate, detailBackupCreateDriverErr)
			}
		case BackupRestoring:
			var vol Volume
			err := s.changeVolume(ctx, tx, b.RestoreVolumeID, func(_ *sqlstore.Tx, v *Volume) error {
				switch {
				case v.Status == VolumeCreating && reason != nil:
					// A volume made from the backup (3.47) fails with it.
					v.Status, v.Message = VolumeError, r.Error
				case v.Status == VolumeCreating:
					// Its agent reports it made next, which makes it
					// available.
				case v.Status != VolumeRestoringBackup:
					return errUnchanged
				case reason != nil:
					v.Status, v.Message = VolumeErrorRestoring, r.Error
				default:
					v.Status, v.Message = VolumeAvailable, ""
				}
				if reason == nil && (b.VolumeID != v.ID || v.Metadata["src_backup_id"] != "") {
					// Cinder's backup manager marks a volume restored from
					// another's backup (or one marked so before).
					if v.Metadata == nil {
						v.Metadata = map[string]string{}
					}
					v.Metadata["src_backup_id"] = b.ID
				}
				return nil
			}, &vol)
			if err != nil && fault.KindOf(err) != fault.NotFound {
				return err
			}
			b.Status, b.FailReason = BackupAvailable, reason
			if reason != nil {
				return s.recordMessage(ctx, tx, b.ProjectID, MessageBackup, b.ID, actionBackupRestore, detailBackupRestoreError)
			}
		default:
			if reason != nil {
				b.Status, b.FailReason = BackupErrorDeleting, reason
				return s.recordMessage(ctx, tx, b.ProjectID, MessageBackup, b.ID, actionBackupDelete, detailBackupDeleteDriverErr)
			}
			now := s.now()
			b.Status, b.DeletedAt = BackupDeleted, &now
		}
		return nil
	})
}

// endBackupSource returns the volume (or snapshot) of b, made or failed,
// to the status it had, if it is still backing-up.
func (s *Store) endBackupSource(ctx context.Context, tx *sqlstore.Tx, b *Backup) error {
	var err error
	if b.SnapshotID != "" {
		var n Snapshot
		err = s.changeSnapshot(ctx, tx, b.SnapshotID, func(_ *sqlstore.Tx, n *Snapshot) error {
			if n.Status != SnapshotBackingUp {
				return errUnchanged
			}
			n.Status = SnapshotAvailable
			return nil
		}, &n)
	} else {
		var vol Volume
		err = s.changeVolume(ctx, tx, b.VolumeID, func(_ *sqlstore.Tx, v *Volume) error {
			if v.Status != VolumeBackingUp {
				return errUnchanged
			}
			v.Status = VolumeStatus(b.PreviousStatus)
			if v.Status == "" {
				v.Status = VolumeAvailable
			}
			return nil
		}, &vol)
	}
	if err != nil && fault.KindOf(err) != fault.NotFound {
		return err
	}
	return nil
}

// BackupFilter narrows and orders Backups, with Cinder's semantics.
type BackupFilter struct {
	// AllProjects is an admin's all_tenants (ignored for others);
	// ProjectID then keeps one project's.
	AllProjects bool
	ProjectID   string
	Name        string
	Status      BackupStatus
	VolumeID    string
	// ParentID keeps the incremental backups of a backup.
	ParentID           string
	SortKeys, SortDirs []string
	Marker             string
	Limit              int
}

var backupSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "b.id"}, "name": {Expr: "b.name", Nullable: true}, "display_name": {Expr: "b.name", Nullable: true},
	"status": {Expr: "b.status"}, "volume_id": {Expr: "b.volume_id"}, "size": {Expr: "b.size"},
	"created_at": {Expr: "b.created_at"}, "updated_at": {Expr: "b.updated_at"}, "project_id": {Expr: "b.project_id"},
	"data_timestamp": {Expr: "b.data_timestamp"},
}

// BackupSortKeys are the keys a backup list sorts on.
func BackupSortKeys() []string { return slices.Sorted(maps.Keys(backupSortKeys)) }

// Backups lists the backups v may see that f selects, in f's order, and
// whether more follow the page.
func (s *Store) Backups(ctx context.Context, v Viewer, f BackupFilter) ([]Backup, bool, error) {
	order, err := sortOrder(backupSortKeys, "b.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	for _, x := range []string{f.ProjectID, f.Name, string(f.Status), f.VolumeID, f.ParentID, f.Marker} {
		if err := checkText("filter", x, len(x)); err != nil {
			return nil, false, err
		}
	}
	conds, args := []string{"b.deleted_at IS NULL"}, []any{}
	switch {
	case v.Admin && f.AllProjects && f.ProjectID != "":
		conds, args = append(conds, "b.project_id = ?"), append(args, f.ProjectID)
	case v.Admin && f.AllProjects:
	default:
		conds, args = append(conds, "b.project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct{ v, cond string }{{f.Name, "b.name = ?"}, {string(f.Status), "b.status = ?"},
		{f.VolumeID, "b.volume_id = ?"}, {f.ParentID, "b.parent_id = ?"}} {
		if c.v != "" {
			conds, args = append(conds, c.cond), append(args, c.v)
		}
	}
	l := listing{Order: order, Table: "storage_backups b", Alias: "b", Cols: backupCols, Conds: conds, Args: args,
		Marker: f.Marker, NotFound: backupNotFound, Limit: f.Limit}
	if !v.Admin {
		l.MarkerScope, l.MarkerArgs = "b.project_id = ?", []any{v.Project}
	}
	return page(ctx, s.db, l, queryBackups)
}
