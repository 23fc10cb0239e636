package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// BackupService is the backup service backups are made with, as a
// backup's record names it: the agents' chunked file store.
const BackupService = "gostack.storage.chunked"

// ImportVolumeID is the volume of a backup being imported, until its
// agent found it in the backup store (Cinder's IMPORT_VOLUME_ID).
const ImportVolumeID = "00000000-0000-0000-0000-000000000000"

// BackupRecord is Cinder's backup record (export_record and
// import_record): the backup service and the backup's fields as
// base64-encoded JSON.
type BackupRecord struct {
	Service string `json:"backup_service"`
	URL     string `json:"backup_url"`
}

// record is a backup's fields in a record, named as Cinder's Backup
// object names them.
type record struct {
	ID              string            `json:"id"`
	UserID          string            `json:"user_id,omitempty"`
	ProjectID       string            `json:"project_id,omitempty"`
	VolumeID        string            `json:"volume_id,omitempty"`
	SnapshotID      *string           `json:"snapshot_id"`
	DisplayName     *string           `json:"display_name"`
	Description     *string           `json:"display_description"`
	Container       *string           `json:"container"`
	ParentID        *string           `json:"parent_id"`
	Status          string            `json:"status,omitempty"`
	FailReason      *string           `json:"fail_reason"`
	Size            *int64            `json:"size"`
	ObjectCount     int64             `json:"object_count"`
	Service         string            `json:"service"`
	ServiceMetadata *string           `json:"service_metadata"`
	Host            string            `json:"host,omitempty"`
	AZ              string            `json:"availability_zone,omitempty"`
	DataTimestamp   string            `json:"data_timestamp,omitempty"`
	CreatedAt       string            `json:"created_at,omitempty"`
	Metadata        map[string]string `json:"metadata"`
	DriverInfo      map[string]any    `json:"driver_info"`
}

// ExportBackupRecord is Cinder's export_record of backup id, one v sees
// and available: the record import_record takes back, in this cloud or
// another whose agents share the backup store.
func (s *Store) ExportBackupRecord(ctx context.Context, v Viewer, id string) (BackupRecord, error) {
	b, err := s.Backup(ctx, v, id)
	if err != nil {
		return BackupRecord{}, err
	}
	if b.Status != BackupAvailable {
		return BackupRecord{}, invalidBackup("Backup status must be available and not %s.", b.Status)
	}
	size := b.Size
	r := record{ID: b.ID, UserID: b.UserID, ProjectID: b.ProjectID, VolumeID: b.VolumeID, DisplayName: b.Name,
		Description: b.Description, Container: b.Container, Status: string(b.Status), Size: &size, ObjectCount: b.ObjectCount,
		Service: BackupService, Host: b.Host, AZ: b.AvailabilityZone, DataTimestamp: b.DataTimestamp.UTC().Format(time.RFC3339Nano),
		CreatedAt: b.CreatedAt.UTC().Format(time.RFC3339Nano), Metadata: b.Metadata, DriverInfo: map[string]any{}}
	if b.SnapshotID != "" {
		r.SnapshotID = &b.SnapshotID
	}
	if b.ParentID != "" {
		r.ParentID = &b.ParentID
	}
	js, err := json.Marshal(r)
	if err != nil {
		return BackupRecord{}, err
	}
	return BackupRecord{Service: BackupService, URL: base64.StdEncoding.EncodeToString(js)}, nil
}

// ImportBackupRecord is Cinder's import_record, for an admin: the
// record's backup made again in v's project, in status creating with
// the record's fields and no volume (ImportVolumeID), counted against
// the project's backup quotas, on a backend that is up; its agent finds
// it in the backup store and reports it available (its volume and
// object count from the store), or fails it. A record of another
// backup service is Cinder's ServiceNotFound; a backup with the
// record's id that is not deleted is refused, a deleted one is made
// again.
func (s *Store) ImportBackupRecord(ctx context.Context, v Viewer, userID string, rec BackupRecord) (Backup, error) {
	// Python's base64 error is a ValueError: Cinder's decode_record
	// answers it as it answers JSON that does not parse.
	raw, err := DecodeBase64(rec.URL)
	if err != nil {
		return Backup{}, invalidInput("Can't parse backup record.")
	}
	var r record
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&r); err != nil || d.More() {
		return Backup{}, invalidInput("Can't parse backup record.")
	}
	var fields map[string]json.RawMessage
	json.Unmarshal(raw, &fields)
	if _, ok := fields["id"]; !ok {
		return Backup{}, invalidInput("Provided backup record is missing an id")
	}
	if _, ok := fields["size"]; !ok || r.Size == nil {
		return Backup{}, invalidInput("Provided backup record is missing size attribute")
	}
	if u, err := uuid.Parse(r.ID); err != nil || u.String() != r.ID {
		return Backup{}, invalidInput("Provided backup record's id %q is not a UUID", r.ID)
	}
	if *r.Size <= 0 || *r.Size > maxDBInt {
		return Backup{}, invalidInput("Provided backup record's size %d is not a size", *r.Size)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"display_name", r.DisplayName}, {"display_description", r.Description}, {"container", r.Container}} {
		if err := checkOptText(f.name, f.v, maxText); err != nil {
			return Backup{}, err
		}
	}
	if err := checkMetadata(r.Metadata); err != nil {
		return Backup{}, err
	}
	if rec.Service != BackupService {
		return Backup{}, cinderError(fault.Unavailable, "ServiceNotFound", "Service %s could not be found.", rec.Service)
	}
	var out Backup
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockProject(ctx, tx, v.Project); err != nil {
			return err
		}
		olds, err := queryBackups(ctx, tx, "SELECT "+backupCols+" FROM storage_backups b WHERE b.id = ?", r.ID)
		if err != nil {
			return err
		}
		var old *Backup
		if len(olds) > 0 {
			old = &olds[0]
		}
		if old != nil && old.DeletedAt == nil {
			return invalidBackup("Backup already exists in database.")
		}
		if err := s.checkBackupQuota(ctx, tx, v.Project, *r.Size); err != nil {
			return err
		}
		pool, err := s.backupHost(ctx, tx)
		if err != nil {
			return err
		}
		if old != nil {
			if _, err := tx.Exec(ctx, "DELETE FROM storage_backups WHERE id = ?", r.ID); err != nil {
				return fmt.Errorf("storage: import backup %s: %w", r.ID, err)
			}
		}
		now := s.now()
		b := Backup{ID: r.ID, ProjectID: v.Project, UserID: userID, VolumeID: ImportVolumeID, Name: r.DisplayName,
			Description: r.Description, Container: r.Container, Size: *r.Size, Status: BackupCreating, Host: pool.Host,
			AvailabilityZone: pool.AvailabilityZone, Metadata: maps.Clone(r.Metadata), Revision: 1, DataTimestamp: now,
			CreatedAt: now, UpdatedAt: now}
		if r.ParentID != nil {
			b.ParentID = *r.ParentID
		}
		if r.SnapshotID != nil {
			b.SnapshotID = *r.SnapshotID
		}
		if t, err := time.Parse(time.RFC3339Nano, r.DataTimestamp); err == nil {
			b.DataTimestamp = t
		}
		if b.Metadata == nil {
			b.Metadata = map[string]string{}
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

// backupHost is the pool whose agent checks an imported backup: the
// first that is up and enabled (Cinder sends it to a backup service
// host). None is Cinder's ServiceNotFound.
func (s *Store) backupHost(ctx context.Context, tx *sqlstore.Tx) (Backend, error) {
	bs, err := queryBackends(ctx, tx, "SELECT "+backendCols+" FROM storage_backends b ORDER BY b.host")
	if err != nil {
		return Backend{}, err
	}
	now := s.now()
	for _, row := range bs {
		if b := s.view(row, now); b.Up && !b.Disabled {
			return b, nil
		}
	}
	return Backend{}, cinderError(fault.Unavailable, "ServiceNotFound", "Service %s could not be found.", BackupService)
}

// DecodeBase64 decodes s as Python's base64.b64decode does by default:
// characters outside the alphabet are skipped, the padding must be
// right.
func DecodeBase64(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			clean = append(clean, c)
		}
	}
	return base64.StdEncoding.DecodeString(string(clean))
}
