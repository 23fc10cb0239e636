package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyrepr"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Cinder's column and schema limits on what a volume carries.
const (
	maxText     = 255 // String(255) columns: names, descriptions, metadata
	maxDBInt    = 0x7fffffff
	metadataMax = 255
)

// checkText refuses a value no text column can hold (invalid UTF-8, a
// NUL, which PostgreSQL refuses) or longer than max characters.
func checkText(field, s string, max int) error {
	switch {
	case !utf8.ValidString(s) || containsNUL(s):
		return fault.Invalid(field, "Invalid input received: %s must be valid UTF-8 without NUL characters.", field)
	case utf8.RuneCountInString(s) > max:
		return fault.Invalid(field, "Invalid input received: %s has more than %d characters.", field, max)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func checkOptText(field string, s *string, max int) error {
	if s == nil {
		return nil
	}
	return checkText(field, *s, max)
}

// checkMetadata is Cinder's check_metadata_properties, with its messages.
func checkMetadata(md map[string]string) error {
	for k, v := range md {
		if err := checkText("metadata", k, len(k)); err != nil {
			return err
		}
		if err := checkText("metadata", v, len(v)); err != nil {
			return err
		}
		if k == "" {
			return cinderError(fault.BadRequest, "InvalidVolumeMetadata",
				"Invalid metadata: Invalid input received: Metadata key: %s has 0 characters, less than 1.", k)
		}
		if utf8.RuneCountInString(k) > metadataMax {
			return cinderError(fault.BadRequest, "InvalidVolumeMetadataSize",
				"Invalid metadata size: Metadata property key %s greater than 255 characters.", k)
		}
		if utf8.RuneCountInString(v) > metadataMax {
			return cinderError(fault.BadRequest, "InvalidVolumeMetadataSize",
				"Invalid metadata size: Metadata property key %s value greater than 255 characters.", k)
		}
	}
	return nil
}

// writeVolume changes volume id in one transaction: change sees the
// current row (deleted ones excluded) and edits it; the row is written
// with a new revision, compared against the one read (a writer that
// lost the race gets a 409), and recorded on the feed. A change
// returning errUnchanged writes nothing and answers the row as it is.
func (s *Store) writeVolume(ctx context.Context, id string, change func(*sqlstore.Tx, *Volume) error) (Volume, error) {
	var out Volume
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error { return s.changeVolume(ctx, tx, id, change, &out) })
	return out, err
}

// changeVolume is writeVolume's work in tx, the result in out. The
// volume's row is locked first (PostgreSQL; SQLite's writers are
// serial), so that concurrent writers are judged one after the other
// on what the one before wrote, as Cinder's conditional updates are.
func (s *Store) changeVolume(ctx context.Context, tx *sqlstore.Tx, id string, change func(*sqlstore.Tx, *Volume) error, out *Volume) error {
	if tx.Dialect() == sqlstore.Postgres {
		if _, err := tx.Exec(ctx, "SELECT id FROM storage_volumes WHERE id = ? FOR UPDATE", id); err != nil {
			return fmt.Errorf("storage: lock volume %s: %w", id, err)
		}
	}
	old, err := volumeByID(ctx, tx, id)
	if err != nil {
		return err
	}
	if old == nil {
		return volumeNotFound(id)
	}
	v := *old
	v.Metadata = maps.Clone(old.Metadata)
	v.ImageMetadata = maps.Clone(old.ImageMetadata)
	v.Attachments = slices.Clone(old.Attachments)
	if err := change(tx, &v); err == errUnchanged {
		*out = *old
		return nil
	} else if err != nil {
		return err
	}
	return s.saveVolume(ctx, tx, old, &v, out)
}

// saveVolume writes v over old (read in tx) and records it.
func (s *Store) saveVolume(ctx context.Context, tx *sqlstore.Tx, old, v *Volume, out *Volume) error {
	v.UpdatedAt = s.now()
	res, err := tx.Exec(ctx, `UPDATE storage_volumes SET name = ?, description = ?, size = ?, new_size = ?, status = ?,
		attach_status = ?, availability_zone = ?, host = ?, bootable = ?, provider_location = ?, provider_auth = ?,
		message = ?, attached_mode = ?, revision = revision + 1, updated_at = ?, launched_at = ?, terminated_at = ?,
		deleted_at = ?, upload = ?, volume_type_id = ?, multiattach = ?, retype = ?, retype_type_id = ?, retype_host = ?,
		migration_status = ?, image_metadata = ?
		WHERE id = ? AND revision = ?`,
		v.Name, v.Description, v.Size, v.NewSize, string(v.Status), string(v.AttachStatus), v.AvailabilityZone, v.Host,
		v.Bootable, v.ProviderLocation, v.ProviderAuth, v.Message, v.AttachedMode, v.UpdatedAt.UnixMicro(), nullMicros(v.LaunchedAt),
		nullMicros(v.TerminatedAt), nullMicros(v.DeletedAt), uploadColumn(v.Upload), v.VolumeTypeID, v.Multiattach,
		retypeColumn(v.Retype), v.Retype.typeColumn(), v.Retype.hostColumn(), v.MigrationStatus, imageMetadataColumn(v.ImageMetadata),
		v.ID, old.Revision)
	if err != nil {
		return fmt.Errorf("storage: update volume %s: %w", v.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return cinderError(fault.Conflict, "VolumeUpdateConflict", "Conflict updating volume %s: it changed meanwhile.", v.ID)
	}
	if !maps.Equal(old.Metadata, v.Metadata) {
		if err := writeMetadata(ctx, tx, v.ID, v.Metadata); err != nil {
			return err
		}
	}
	v.Revision = old.Revision + 1
	*out = *v
	op := watch.Update
	if v.DeletedAt != nil {
		op = watch.Delete
	}
	return s.record(ctx, tx, "volume", v.ID, v.ProjectID, op, v.feedCopy())
}

// lockRow locks row id of table for the transaction (PostgreSQL;
// SQLite's writers are serial).
func lockRow(ctx context.Context, tx *sqlstore.Tx, table, id string) error {
	if tx.Dialect() != sqlstore.Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, "SELECT id FROM "+table+" WHERE id = ? FOR UPDATE", id); err != nil {
		return fmt.Errorf("storage: lock %s %s: %w", table, id, err)
	}
	return nil
}

// imageMetadataColumn is md as its column keeps it ("" for none).
func imageMetadataColumn(md map[string]string) string {
	if len(md) == 0 {
		return ""
	}
	b, _ := json.Marshal(md) // strings only
	return string(b)
}

// uploadColumn is u as its column keeps it ("" for none).
func uploadColumn(u *VolumeUpload) string {
	if u == nil {
		return ""
	}
	b, _ := json.Marshal(u)
	return string(b)
}

// VolumeCreate is what a volume is created from (Cinder's volume create
// request). The project is the viewer's.
type VolumeCreate struct {
	// ID is the new volume's id, a UUID ("" for a random one).
	ID     string
	UserID string
	// Name and Description are nil for none.
	Name        *string
	Description *string
	// Size is in GiB; 0 takes the source volume's size.
	Size int64
	// VolumeType is the type's name or id, as the viewer sees it ("" for
	// the source volume's type, else the Store's default type).
	VolumeType string
	// AvailabilityZone is the zone to create the volume in ("" for the
	// Store's default, or the source volume's).
	AvailabilityZone string
	Metadata         map[string]string
	// SourceVolID makes the volume a clone of another volume, which must
	// be available or in-use; SnapshotID one made from an available
	// snapshot, on the snapshot's pool (at most one of the three);
	// ImageID one made from an image (bootable), which the caller has
	// checked; BackupID one restored from an available backup (Cinder's
	// 3.47), of the backup's size unless Size says more.
	SourceVolID string
	SnapshotID  string
	ImageID     string
	BackupID    string
	// ImageMetadata is what the image of ImageID says (Cinder's
	// get_volume_image_metadata of it), which the caller read; its
	// image_id must be ImageID. A volume from a snapshot or a volume
	// takes its source's instead.
	ImageMetadata map[string]string
}

// checkSize is Cinder's check of a requested size, and its fill-in from
// the source volume.
func checkSize(size int64, src *Volume) (int64, error) {
	if size == 0 && src != nil {
		size = src.Size
	}
	if size <= 0 || size > maxDBInt {
		return 0, invalidInput("Volume size '%d' must be an integer and greater than 0", size)
	}
	if src != nil && size < src.Size {
		return 0, invalidInput("Volume size '%d'GB cannot be smaller than original volume size  %dGB. They must be >= original volume size.",
			size, src.Size)
	}
	return size, nil
}

// checkCreate checks what does not need the database.
func checkCreate(c *VolumeCreate) error {
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if u, err := uuid.Parse(c.ID); err != nil {
		return fault.Invalid("id", "Invalid input received: volume id %q is not a UUID.", c.ID)
	} else {
		c.ID = u.String()
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", c.Name}, {"description", c.Description}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"user_id", c.UserID}, {"availability_zone", c.AvailabilityZone},
		{"source_volid", c.SourceVolID}, {"snapshot_id", c.SnapshotID}, {"image_id", c.ImageID},
		{"backup_id", c.BackupID}, {"volume_type", c.VolumeType}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return err
		}
	}
	if c.Size < 0 || c.Size > maxDBInt {
		return invalidInput("Invalid volume size provided for create request: %d (size argument must be an integer (or string representation of an integer) and greater than zero).", c.Size)
	}
	if len(c.ImageMetadata) > 0 && (c.ImageID == "" || c.ImageMetadata["image_id"] != c.ImageID) {
		return invalidInput("the image metadata of a volume must be its image's (image_id %q, not %q)", c.ImageID, c.ImageMetadata["image_id"])
	}
	for k, v := range c.ImageMetadata {
		if err := checkText("volume_image_metadata", k, maxText); err != nil {
			return err
		}
		if err := checkText("volume_image_metadata", v, len(v)); err != nil {
			return err
		}
	}
	return checkMetadata(c.Metadata)
}

// snapshotSource reads snapshot id as the source of a new volume: one v
// sees, available; with its volume as the new one's source (type, zone
// and pool, Cinder's snapshot_same_host), at the snapshot's size and on
// the snapshot's pool.
func (s *Store) snapshotSource(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (*Volume, *Snapshot, error) {
	// The snapshot's row is locked until the new volume commits, so a
	// delete of the snapshot waits for it and sees the copy under way.
	if err := lockRow(ctx, tx, "storage_snapshots", id); err != nil {
		return nil, nil, err
	}
	snap, err := snapshotByID(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	if snap == nil || !v.sees(snap.ProjectID) {
		return nil, nil, snapshotNotFound(id)
	}
	if snap.Status != SnapshotAvailable {
		return nil, nil, invalidSnapshot("Originating snapshot status must be one of 'available' values")
	}
	vol, err := volumeByID(ctx, tx, snap.VolumeID)
	if err != nil {
		return nil, nil, err
	}
	if vol == nil {
		return nil, nil, invalidSnapshot("the volume of snapshot %s is gone", id)
	}
	src := *vol
	src.Size, src.Host, src.VolumeTypeID = snap.VolumeSize, snap.Host, snap.VolumeTypeID
	return &src, snap, nil
}

// backupSource reads backup id as the source of a new volume: one v
// sees, available. Its row is locked until the volume commits, so a
// delete or another restore of it waits and sees the restore.
func backupSource(ctx context.Context, tx *sqlstore.Tx, v Viewer, id string) (*Backup, error) {
	if err := lockRow(ctx, tx, "storage_backups", id); err != nil {
		return nil, err
	}
	b, err := backupByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if b == nil || !v.sees(b.ProjectID) {
		return nil, backupNotFound(id)
	}
	if b.Status != BackupAvailable {
		return nil, invalidBackup("Originating backup status must be one of 'available' values")
	}
	return b, nil
}

// CreateVolume stores a new volume of v's project in status creating,
// as Cinder's create does: size at least 1 GiB (or the source volume's
// size) and within the type's provisioning:min_vol_size and
// max_vol_size, the type one v sees (the default type otherwise), the
// source volume seen by v, available or in-use, no larger than the new
// one and of a type the new one's is compatible with. A type whose
// multiattach extra spec is "<is> True" makes a multiattach volume.
// The zone must be one of the backends' (and of the type's
// RESKEY:availability_zones). The project's quotas are checked in the
// transaction that makes the volume, under the project's lock, so
// parallel creates never exceed them.
//
// In the same transaction the Scheduler picks a pool (a clone stays on
// its source's) and the volume's room is claimed on it (see PoolState):
// the volume gets the pool's host and zone, for the pool's agent to
// make it. When no pool can take it the volume is still made, in
// status error with no host and the scheduler's reason as its Message,
// as Cinder's is after its asynchronous scheduling fails; it counts
// against the quotas until deleted.
func (s *Store) CreateVolume(ctx context.Context, v Viewer, c VolumeCreate) (Volume, error) {
	c.Metadata = maps.Clone(c.Metadata)
	if err := checkCreate(&c); err != nil {
		return Volume{}, err
	}
	n := 0
	for _, id := range []string{c.SnapshotID, c.SourceVolID, c.ImageID, c.BackupID} {
		if id != "" {
			n++
		}
	}
	if n > 1 {
		return Volume{}, invalidInput("May specify only one of backup, imageRef, snapshot, source volume")
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	var out Volume
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, v.Project); err != nil {
			return err
		}
		var src *Volume
		var snap *Snapshot
		if c.SnapshotID != "" {
			var err error
			if src, snap, err = s.snapshotSource(ctx, tx, v, c.SnapshotID); err != nil {
				return err
			}
		}
		if c.SourceVolID != "" {
			// Locked as a snapshot source is: a delete of the source waits
			// for the clone and sees it.
			if err := lockRow(ctx, tx, "storage_volumes", c.SourceVolID); err != nil {
				return err
			}
			var err error
			if src, err = volumeByID(ctx, tx, c.SourceVolID); err != nil {
				return err
			}
			if src == nil || !v.sees(src.ProjectID) {
				return volumeNotFound(c.SourceVolID)
			}
			if src.Status != VolumeAvailable && src.Status != VolumeInUse {
				return invalidVolume("Originating source volume status must be one of 'available, in-use' values")
			}
			if src.migrating() {
				return errMigrating(src.ID)
			}
		}
		var backup *Backup
		if c.BackupID != "" {
			var err error
			if backup, err = backupSource(ctx, tx, v, c.BackupID); err != nil {
				return err
			}
			if c.Size == 0 {
				c.Size = backup.Size
			}
		}
		vt, err := s.createType(ctx, tx, v, c.VolumeType, src, snap != nil)
		if err != nil {
			return err
		}
		size, err := checkSize(c.Size, src)
		if err != nil && snap != nil && c.Size > 0 && c.Size < snap.VolumeSize {
			err = invalidInput("Volume size '%d'GB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.",
				c.Size, snap.VolumeSize)
		}
		if err == nil && backup != nil && size < backup.Size {
			err = invalidInput("Volume size %dGB cannot be smaller than the backup size %dGB. It must be >= backup size.", size, backup.Size)
		}
		if err != nil {
			return err
		}
		if err := typeSizeLimits(vt, size); err != nil {
			return err
		}
		zones, az, err := s.requestZones(ctx, tx, c.AvailabilityZone, vt, src)
		if err != nil {
			return err
		}
		if err := s.checkVolumeQuota(ctx, tx, v.Project, vt, 1, size, size); err != nil {
			return err
		}
		now := s.now()
		vol := Volume{ID: c.ID, ProjectID: v.Project, UserID: c.UserID, Name: c.Name, Description: c.Description,
			Size: size, Status: VolumeCreating, AttachStatus: AttachDetached, AvailabilityZone: az,
			VolumeTypeID: vt.ID, Multiattach: multiattach(vt),
			Bootable: c.ImageID != "", Metadata: c.Metadata, SnapshotID: c.SnapshotID, SourceVolID: c.SourceVolID,
			ImageID: c.ImageID, ImageMetadata: maps.Clone(c.ImageMetadata), Revision: 1, CreatedAt: now, UpdatedAt: now}
		if src != nil {
			vol.Bootable, vol.ImageMetadata = src.Bootable, maps.Clone(src.ImageMetadata)
		}
		req := &ScheduleRequest{Operation: OpCreateVolume, VolumeID: vol.ID, Size: size, AvailabilityZones: zones, VolumeType: vt}
		p, err := s.place(ctx, tx, req, src)
		var nvh *NoValidBackend
		switch {
		case errors.As(err, &nvh):
			vol.Status, vol.Message = VolumeError, nvh.Error()
			if err := s.recordMessage(ctx, tx, vol.ProjectID, MessageVolume, vol.ID, actionScheduleAllocateVolume, detailNoBackendAvailable); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			vol.Host, vol.AvailabilityZone = p.Host, p.AvailabilityZone
		}
		if err := insertVolume(ctx, tx, vol); err != nil {
			return err
		}
		if backup != nil && vol.Host != "" {
			// Cinder's create of a raw volume, then the restore to it
			// scheduled on the volume's host: the pool's agent makes the
			// volume and writes the backup into it before it is available.
			var restoring Backup
			err := s.changeBackup(ctx, tx, backup.ID, func(b *Backup) error {
				b.Status, b.RestoreVolumeID, b.Host = BackupRestoring, vol.ID, vol.Host
				return nil
			}, &restoring)
			if err != nil {
				return err
			}
		}
		out = vol
		return s.record(ctx, tx, "volume", vol.ID, vol.ProjectID, watch.Create, vol.feedCopy())
	})
	if err != nil {
		return Volume{}, err
	}
	return out, nil
}

// createType is the type of a new volume: the one named (a type v sees),
// else the source volume's, else the default type. A type named for a
// clone must be compatible with the source's (Cinder's
// _retype_is_possible). The type's row is share locked on PostgreSQL,
// so it is not deleted or changed before the volume commits.
func (s *Store) createType(ctx context.Context, tx *sqlstore.Tx, v Viewer, ident string, src *Volume, fromSnapshot bool) (*VolumeType, error) {
	switch {
	case ident != "":
		vt, err := typeByNameOrID(ctx, tx, v, ident, true)
		if err != nil {
			return nil, err
		}
		if src != nil && vt.ID != src.VolumeTypeID {
			st, err := typeByID(ctx, tx, adminViewer, src.VolumeTypeID, false)
			if err != nil {
				return nil, err
			}
			if !retypePossible(st, vt) && fromSnapshot {
				return nil, invalidInput("Invalid volume_type provided: %s (requested type is not compatible; recommend omitting the type argument).", vt.ID)
			}
			if !retypePossible(st, vt) {
				return nil, invalidInput("Invalid volume_type provided: %s (requested type is not compatible; either match source volume, or omit type argument).", vt.ID)
			}
		}
		return vt, nil
	case src != nil && src.VolumeTypeID != "":
		vt, err := typeByID(ctx, tx, v, src.VolumeTypeID, true)
		if err == nil && vt == nil {
			err = typeNotFound(src.VolumeTypeID)
		}
		return vt, err
	}
	return s.defaultTypeFor(ctx, tx, v.Project, true)
}

// retypePossible is Cinder's _retype_is_possible between the types of
// a source and a new volume: encryption never differs here, so the
// types must name the same backend (both none included).
func retypePossible(from, to *VolumeType) bool {
	var a, b string
	if from != nil {
		a = from.ExtraSpecs[SpecBackendName]
	}
	if to != nil {
		b = to.ExtraSpecs[SpecBackendName]
	}
	return a == b
}

// requestZones is Cinder's _extract_availability_zones: the zones a new
// volume may go to and the zone it asks for. Valid zones are those of
// the backends; a type's RESKEY:availability_zones narrows them. A
// volume asks for the zone given, else its source's, else (unless its
// type names zones) the default zone. With no backend at all there is
// nothing to check against, and the scheduler finds no pool.
func (s *Store) requestZones(ctx context.Context, tx *sqlstore.Tx, az string, vt *VolumeType, src *Volume) ([]string, string, error) {
	all, err := backendZones(ctx, tx)
	if err != nil {
		return nil, "", err
	}
	typeZones := volumeTypeZones(vt)
	safe := all
	if typeZones != nil {
		safe = nil
		for _, z := range typeZones {
			if slices.Contains(all, z) && !slices.Contains(safe, z) {
				safe = append(safe, z)
			}
		}
		if len(safe) == 0 {
			if len(all) > 0 {
				return nil, "", cinderError(fault.BadRequest, "InvalidTypeAvailabilityZones",
					"Volume type is only supported in these availability zones: %s", pyList(typeZones))
			}
			safe = typeZones
		}
	}
	if az == "" && src != nil {
		az = src.AvailabilityZone
	}
	if az == "" && typeZones == nil {
		az = s.defaultZone()
	}
	if az == "" {
		return safe, "", nil
	}
	if len(all) > 0 && !slices.Contains(safe, az) {
		return nil, "", cinderError(fault.BadRequest, "InvalidAvailabilityZone", "Availability zone '%s' is invalid.", az)
	}
	return []string{az}, az, nil
}

// backendZones are the zones of every backend, sorted.
func backendZones(ctx context.Context, tx *sqlstore.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, "SELECT DISTINCT availability_zone FROM storage_backends ORDER BY availability_zone")
	if err != nil {
		return nil, fmt.Errorf("storage: backend zones: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return nil, fmt.Errorf("storage: backend zones: %w", err)
		}
		out = append(out, z)
	}
	return out, rows.Err()
}

// volumeTypeZones is Cinder's extract_availability_zones_from_volume_type:
// the type's RESKEY:availability_zones, split on commas (nil when the
// type has no such spec).
func volumeTypeZones(vt *VolumeType) []string {
	if vt == nil {
		return nil
	}
	v, ok := vt.ExtraSpecs[SpecAvailabilityZones]
	if !ok {
		return nil
	}
	out := []string{}
	for _, z := range strings.Split(v, ",") {
		if z != "" {
			out = append(out, strings.TrimSpace(z))
		}
	}
	return out
}

// pyList is Python's repr of a list of strings.
func pyList(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = pyrepr.String(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// place picks the pool of a new volume and claims room on it, in tx: the
// scheduler ranks the pools that are up and enabled (a clone's, only its
// source's pool), and the best one that still passes when claimed takes
// it. A *NoValidBackend says none could.
func (s *Store) place(ctx context.Context, tx *sqlstore.Tx, req *ScheduleRequest, src *Volume) (*PoolState, error) {
	pools, err := s.pools(ctx, tx)
	if err != nil {
		return nil, err
	}
	reason := "No weighed backends available"
	if src != nil {
		pools = slices.DeleteFunc(pools, func(p *PoolState) bool { return src.Host == "" || !hostMatches(p.Host, src.Host) })
		reason = fmt.Sprintf("Cannot place volume %s on %s.", req.VolumeID, src.Host)
	}
	sched := s.scheduler()
	ranked, err := sched.Rank(req, pools)
	var nvh *NoValidBackend
	if errors.As(err, &nvh) {
		nvh.Reason = reason
		return nil, nvh
	}
	if err != nil {
		return nil, err
	}
	lost := FilterResult{Name: "claim", Start: len(ranked), Reasons: map[string]string{}}
	for _, w := range ranked {
		p, why, err := s.claim(ctx, tx, sched, req, w.Pool.Host)
		if err != nil || p != nil {
			return p, err
		}
		lost.Reasons[w.Pool.Host] = why
	}
	return nil, &NoValidBackend{Reason: reason, Filters: []FilterResult{lost}}
}

func insertVolume(ctx context.Context, tx *sqlstore.Tx, v Volume) error {
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volumes WHERE id = ?", []any{v.ID}, &n); err != nil {
		return fmt.Errorf("storage: create volume: %w", err)
	}
	if n > 0 {
		return cinderError(fault.Conflict, "VolumeExists", "Volume %s already exists.", v.ID)
	}
	imageMD := imageMetadataColumn(v.ImageMetadata)
	if _, err := tx.Exec(ctx, `INSERT INTO storage_volumes (id, project_id, user_id, name, description, size, new_size, status,
		attach_status, volume_type_id, availability_zone, host, bootable, multiattach, encrypted, snapshot_id, source_volid,
		image_id, provider_location, provider_auth, message, revision, created_at, updated_at, image_metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.ProjectID, v.UserID, v.Name, v.Description, v.Size, v.NewSize, string(v.Status), string(v.AttachStatus),
		v.VolumeTypeID, v.AvailabilityZone, v.Host, v.Bootable, v.Multiattach, v.Encrypted, v.SnapshotID, v.SourceVolID,
		v.ImageID, v.ProviderLocation, v.ProviderAuth, v.Message, v.Revision, v.CreatedAt.UnixMicro(),
		v.UpdatedAt.UnixMicro(), imageMD); err != nil {
		return fmt.Errorf("storage: create volume: %w", err)
	}
	return writeMetadata(ctx, tx, v.ID, v.Metadata)
}

// VolumeUpdate is what a user changes of a volume (PUT /volumes/{id}):
// nil fields stay. Name and Description may be set to nil (none);
// Metadata, when not nil, replaces the volume's metadata.
type VolumeUpdate struct {
	Name        **string
	Description **string
	Metadata    map[string]string
}

// UpdateVolume changes a volume's name, description or metadata, as
// Cinder's update: refused during maintenance.
func (s *Store) UpdateVolume(ctx context.Context, v Viewer, id string, u VolumeUpdate) (Volume, error) {
	for _, f := range []struct {
		name string
		v    **string
	}{{"name", u.Name}, {"description", u.Description}} {
		if f.v != nil {
			if err := checkOptText(f.name, *f.v, maxText); err != nil {
				return Volume{}, err
			}
		}
	}
	if err := checkMetadata(u.Metadata); err != nil {
		return Volume{}, err
	}
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance {
			return invalidVolume("The volume cannot be updated during maintenance.")
		}
		if u.Name != nil {
			vol.Name = *u.Name
		}
		if u.Description != nil {
			vol.Description = *u.Description
		}
		if u.Metadata != nil {
			vol.Metadata = maps.Clone(u.Metadata)
		}
		return nil
	})
}

// SetBootable is Cinder's os-set_bootable: an update of the bootable
// flag, refused during maintenance.
func (s *Store) SetBootable(ctx context.Context, v Viewer, id string, bootable bool) (Volume, error) {
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance {
			return invalidVolume("The volume cannot be updated during maintenance.")
		}
		vol.Bootable = bootable
		return nil
	})
}

// UpdateVolumeMetadata sets the keys of md on volume id (Cinder's
// volume metadata create and update); with replace, keys not in md go
// (the metadata PUT). It returns the metadata after. Refused while the
// volume is in maintenance or uploading, with Cinder's message.
func (s *Store) UpdateVolumeMetadata(ctx context.Context, v Viewer, id string, md map[string]string, replace bool) (map[string]string, error) {
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	vol, err := s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance || vol.Status == VolumeUploading {
			return invalidVolume("Updating volume metadata is not allowed for volumes in %s status.", vol.Status)
		}
		if replace {
			vol.Metadata = map[string]string{}
		}
		maps.Copy(vol.Metadata, md)
		return nil
	})
	return vol.Metadata, err
}

// DeleteVolumeMetadata deletes key from volume id's metadata ("Metadata
// item was not found", 404, when it has no such key).
func (s *Store) DeleteVolumeMetadata(ctx context.Context, v Viewer, id, key string) error {
	_, err := s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance || vol.Status == VolumeUploading {
			return invalidVolume("Deleting volume metadata is not allowed for volumes in %s status.", vol.Status)
		}
		if _, ok := vol.Metadata[key]; !ok {
			return cinderError(fault.NotFound, "VolumeMetadataNotFound", "Metadata item was not found")
		}
		delete(vol.Metadata, key)
		return nil
	})
	return err
}
