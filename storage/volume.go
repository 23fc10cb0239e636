package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
)

// VolumeStatus is a volume's status, Cinder's VolumeStatus
// (cinder/objects/fields.py), plus VolumeDeleted for a deleted row.
type VolumeStatus string

// Cinder's volume statuses.
const (
	VolumeCreating         VolumeStatus = "creating"
	VolumeAvailable        VolumeStatus = "available"
	VolumeDeleting         VolumeStatus = "deleting"
	VolumeError            VolumeStatus = "error"
	VolumeErrorDeleting    VolumeStatus = "error_deleting"
	VolumeErrorManaging    VolumeStatus = "error_managing"
	VolumeManaging         VolumeStatus = "managing"
	VolumeAttaching        VolumeStatus = "attaching"
	VolumeInUse            VolumeStatus = "in-use"
	VolumeDetaching        VolumeStatus = "detaching"
	VolumeMaintenance      VolumeStatus = "maintenance"
	VolumeRestoringBackup  VolumeStatus = "restoring-backup"
	VolumeErrorRestoring   VolumeStatus = "error_restoring"
	VolumeReserved         VolumeStatus = "reserved"
	VolumeAwaitingTransfer VolumeStatus = "awaiting-transfer"
	VolumeBackingUp        VolumeStatus = "backing-up"
	VolumeErrorBackingUp   VolumeStatus = "error_backing-up"
	VolumeErrorExtending   VolumeStatus = "error_extending"
	VolumeDownloading      VolumeStatus = "downloading"
	VolumeUploading        VolumeStatus = "uploading"
	VolumeRetyping         VolumeStatus = "retyping"
	VolumeExtending        VolumeStatus = "extending"

	// VolumeErrorManagingDeleting is what Cinder's delete sets on a
	// volume in error_managing.
	VolumeErrorManagingDeleting VolumeStatus = "error_managing_deleting"
	// VolumeDeleted is a deleted row's status (Cinder's destroy sets it).
	VolumeDeleted VolumeStatus = "deleted"
)

// VolumeStatuses are Cinder's VolumeStatus.ALL, in Cinder's order: the
// statuses an admin may reset a volume to (less those ResetStatus
// refuses).
func VolumeStatuses() []VolumeStatus {
	return []VolumeStatus{VolumeCreating, VolumeAvailable, VolumeDeleting, VolumeError, VolumeErrorDeleting,
		VolumeErrorManaging, VolumeManaging, VolumeAttaching, VolumeInUse, VolumeDetaching, VolumeMaintenance,
		VolumeRestoringBackup, VolumeErrorRestoring, VolumeReserved, VolumeAwaitingTransfer, VolumeBackingUp,
		VolumeErrorBackingUp, VolumeErrorExtending, VolumeDownloading, VolumeUploading, VolumeRetyping, VolumeExtending}
}

// AttachStatus is a volume's attach_status, Cinder's VolumeAttachStatus.
type AttachStatus string

// Cinder's attach statuses.
const (
	AttachAttached       AttachStatus = "attached"
	AttachAttaching      AttachStatus = "attaching"
	AttachDetached       AttachStatus = "detached"
	AttachReserved       AttachStatus = "reserved"
	AttachErrorAttaching AttachStatus = "error_attaching"
	AttachErrorDetaching AttachStatus = "error_detaching"
	AttachDeleted        AttachStatus = "deleted"
)

// Volume is a Cinder volume: what was asked for (size, type, zone,
// source) and where it stands (status, host, the export the backend
// made).
type Volume struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	UserID    string `json:"user_id"`
	// Name and Description are nil for none (the API's null).
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// Size is in GiB.
	Size int64 `json:"size"`
	// NewSize is the size an extend under way goes to (0 otherwise).
	NewSize      int64        `json:"new_size,omitempty"`
	Status       VolumeStatus `json:"status"`
	AttachStatus AttachStatus `json:"attach_status"`
	VolumeTypeID string       `json:"volume_type_id"`
	// AvailabilityZone is the zone asked for, then the zone of the
	// backend the volume was placed on.
	AvailabilityZone string `json:"availability_zone"`
	// Host is Cinder's host@backend#pool of the backend holding the
	// volume ("" until placed; a volume never placed is deleted at once).
	Host        string            `json:"host"`
	Bootable    bool              `json:"bootable"`
	Multiattach bool              `json:"multiattach"`
	Encrypted   bool              `json:"encrypted"`
	Metadata    map[string]string `json:"metadata"`
	// SnapshotID, SourceVolID and ImageID say what the volume is made
	// from ("" for none).
	SnapshotID  string `json:"snapshot_id"`
	SourceVolID string `json:"source_volid"`
	ImageID     string `json:"image_id"`
	// ImageMetadata is Cinder's volume_image_metadata: what the image
	// the volume was made from said (image_id, image_name, checksum,
	// container_format, disk_format, min_disk, min_ram, size and its
	// properties), copied to the volume's clones and snapshots' volumes;
	// nil for none.
	ImageMetadata map[string]string `json:"volume_image_metadata,omitempty"`
	// Upload is the upload to an image under way (status uploading), nil
	// for none.
	Upload *VolumeUpload `json:"upload,omitempty"`
	// Retype is the retype under way (status retyping, or a migration's
	// old copy still to remove), or an admin's migration (Migrate set:
	// the volume keeps its status, or is in maintenance), nil for none.
	Retype *VolumeRetype `json:"retype,omitempty"`
	// MigrationStatus is Cinder's migration_status of a volume a retype
	// or an admin's migration moves (MigrationStarting for the latter
	// until the destination's copy is made, MigrationMigrating while
	// the data is copied, then
	// MigrationSuccess or MigrationError until its next migration; ""
	// is None: never migrated, or reset).
	MigrationStatus string `json:"migration_status,omitempty"`
	// ProviderLocation and ProviderAuth are the export the backend's
	// agent made (Cinder's provider_location and provider_auth, which
	// hold the target and its CHAP credentials). ProviderAuth is a
	// secret: the feed's copy of a volume never carries it.
	ProviderLocation string `json:"provider_location,omitempty"`
	ProviderAuth     string `json:"provider_auth,omitempty"`
	// Message says why the volume went to an error status (the
	// scheduler's or the agent's reason), for Cinder's user messages.
	Message string `json:"message,omitempty"`
	// AttachedMode is Cinder's attached_mode admin metadata: the mode
	// ("rw" or "ro") of the last os-attach, until a detach ("" none).
	AttachedMode string `json:"attached_mode,omitempty"`
	// Attachments are the volume's attachments that are not deleted
	// (Cinder's volume_attachment), oldest first, whatever their
	// status.
	Attachments []Attachment `json:"attachments"`
	// Revision grows with every change; the agent reports against the
	// status it saw.
	Revision     int64      `json:"revision"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LaunchedAt   *time.Time `json:"launched_at"`
	TerminatedAt *time.Time `json:"terminated_at"`
	DeletedAt    *time.Time `json:"deleted_at"`
}

// feedCopy is v as the feed shows it: without the export's secret
// (in its attachments' connection info too).
func (v Volume) feedCopy() Volume {
	v.ProviderAuth = ""
	if v.Retype != nil {
		r := *v.Retype
		r.DestAuth, r.SourceAuth = "", ""
		v.Retype = &r
	}
	as := make([]Attachment, len(v.Attachments))
	for i, a := range v.Attachments {
		as[i] = a.feedCopy()
	}
	v.Attachments = as
	return v
}

const volumeCols = `v.id, v.project_id, v.user_id, v.name, v.description, v.size, v.new_size, v.status, v.attach_status,
	v.volume_type_id, v.availability_zone, v.host, v.bootable, v.multiattach, v.encrypted, v.snapshot_id, v.source_volid,
	v.image_id, v.provider_location, v.provider_auth, v.message, v.attached_mode, v.revision, v.created_at, v.updated_at,
	v.launched_at, v.terminated_at, v.deleted_at, v.image_metadata, v.upload, v.retype, v.migration_status`

// querier is what *sqlstore.DB and *sqlstore.Tx have in common.
type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func scanVolume(sc interface{ Scan(...any) error }) (Volume, error) {
	var v Volume
	var name, desc sql.NullString
	var created, updated int64
	var launched, terminated, deleted sql.NullInt64
	var imageMD, upload, retype string
	if err := sc.Scan(&v.ID, &v.ProjectID, &v.UserID, &name, &desc, &v.Size, &v.NewSize, &v.Status, &v.AttachStatus,
		&v.VolumeTypeID, &v.AvailabilityZone, &v.Host, &v.Bootable, &v.Multiattach, &v.Encrypted, &v.SnapshotID,
		&v.SourceVolID, &v.ImageID, &v.ProviderLocation, &v.ProviderAuth, &v.Message, &v.AttachedMode, &v.Revision, &created, &updated,
		&launched, &terminated, &deleted, &imageMD, &upload, &retype, &v.MigrationStatus); err != nil {
		return Volume{}, err
	}
	if retype != "" {
		if err := json.Unmarshal([]byte(retype), &v.Retype); err != nil {
			return Volume{}, fmt.Errorf("volume %s: retype: %w", v.ID, err)
		}
	}
	if upload != "" {
		if err := json.Unmarshal([]byte(upload), &v.Upload); err != nil {
			return Volume{}, fmt.Errorf("volume %s: upload: %w", v.ID, err)
		}
	}
	if imageMD != "" {
		if err := json.Unmarshal([]byte(imageMD), &v.ImageMetadata); err != nil {
			return Volume{}, fmt.Errorf("volume %s: image metadata: %w", v.ID, err)
		}
	}
	if name.Valid {
		v.Name = &name.String
	}
	if desc.Valid {
		v.Description = &desc.String
	}
	v.CreatedAt, v.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	v.LaunchedAt, v.TerminatedAt, v.DeletedAt = microsTime(launched), microsTime(terminated), microsTime(deleted)
	v.Metadata = map[string]string{}
	v.Attachments = []Attachment{}
	return v, nil
}

func microsTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMicro(n.Int64).UTC()
	return &t
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// queryVolumes reads the volumes of a query selecting volumeCols (from
// storage_volumes v), with their metadata and attachments.
func queryVolumes(ctx context.Context, q querier, query string, args ...any) ([]Volume, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read volumes: %w", err)
	}
	defer rows.Close()
	out := []Volume{}
	for rows.Next() {
		v, err := scanVolume(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: read volumes: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: read volumes: %w", err)
	}
	rows.Close()
	if err := fillMetadata(ctx, q, out); err != nil {
		return nil, err
	}
	return out, fillAttachments(ctx, q, out)
}

// fillMetadata reads the metadata of vs in one query.
func fillMetadata(ctx context.Context, q querier, vs []Volume) error {
	if len(vs) == 0 {
		return nil
	}
	at := make(map[string]int, len(vs))
	ids := make([]any, len(vs))
	for i, v := range vs {
		at[v.ID], ids[i] = i, v.ID
	}
	rows, err := q.Query(ctx, "SELECT volume_id, meta_key, meta_value FROM storage_volume_metadata WHERE volume_id IN ("+
		placeholders(len(ids))+")", ids...)
	if err != nil {
		return fmt.Errorf("storage: read volume metadata: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, val string
		if err := rows.Scan(&id, &k, &val); err != nil {
			return fmt.Errorf("storage: read volume metadata: %w", err)
		}
		vs[at[id]].Metadata[k] = val
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storage: read volume metadata: %w", err)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// volumeByID reads volume id if it is not deleted (nil if there is none).
func volumeByID(ctx context.Context, q querier, id string) (*Volume, error) {
	vs, err := queryVolumes(ctx, q, "SELECT "+volumeCols+" FROM storage_volumes v WHERE v.id = ? AND v.deleted_at IS NULL", id)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return &vs[0], nil
}

// Volume returns volume id if v may see it and it is not deleted, else
// Cinder's VolumeNotFound.
func (s *Store) Volume(ctx context.Context, v Viewer, id string) (Volume, error) {
	vol, err := volumeByID(ctx, s.db, id)
	if err != nil {
		return Volume{}, err
	}
	if vol == nil || !v.sees(vol.ProjectID) {
		return Volume{}, volumeNotFound(id)
	}
	return *vol, nil
}

// writeMetadata replaces volume id's metadata rows with md.
func writeMetadata(ctx context.Context, tx *sqlstore.Tx, id string, md map[string]string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM storage_volume_metadata WHERE volume_id = ?", id); err != nil {
		return fmt.Errorf("storage: volume %s metadata: %w", id, err)
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if _, err := tx.Exec(ctx, "INSERT INTO storage_volume_metadata (volume_id, meta_key, meta_value) VALUES (?, ?, ?)",
			id, k, md[k]); err != nil {
			return fmt.Errorf("storage: volume %s metadata: %w", id, err)
		}
	}
	return nil
}
