package compute

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// ImageWriter is the image service as a snapshot uses it: the image
// made for it, its data, and its removal when the snapshot fails.
type ImageWriter interface {
	// CreateSnapshot makes a queued image named name, owned by project
	// and private, with the disk format and properties given; minDisk
	// and minRAM as Glance's min_disk and min_ram.
	CreateSnapshot(ctx context.Context, project, name, diskFormat string, minDisk, minRAM int64, props map[string]string) (ImageInfo, error)
	// Upload stores image id's data (size -1: unknown), which the image
	// service inspects as it does any upload.
	Upload(ctx context.Context, id string, r io.Reader, size int64) error
	// Delete removes image id; one already gone is not an error.
	Delete(ctx context.Context, id string) error
}

// EventSnapshot is the compute manager's event of a snapshot.
const EventSnapshot = "compute_snapshot_instance"

// StartSnapshot starts createImage on instance id into image imageID
// (made by the caller): Nova's state rules for a snapshot, task_state
// image_snapshot_pending, the action recorded with its event on the
// host, and the image kept for the host's agent (HostState.Snapshots).
func (s *Store) StartSnapshot(ctx context.Context, v Viewer, id, imageID string) (Instance, error) {
	a := Actions["snapshot"]
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if !v.sees(i.ProjectID) {
			return instanceNotFound(id)
		}
		if err := a.Check(id, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
			return err
		}
		if i.Host == "" {
			return novaError(fault.Conflict, "InstanceInvalidState", "Cannot 'snapshot' instance %s while it is in host None", id)
		}
		i.TaskState = a.Sets
		if _, err := tx.Exec(ctx, `INSERT INTO compute_snapshots (instance_uuid, image_id, host, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_uuid) DO UPDATE SET image_id = excluded.image_id, host = excluded.host, created_at = excluded.created_at`,
			id, imageID, i.Host, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("compute: snapshot of %s: %w", id, err)
		}
		return s.recordStart(ctx, tx, *i, a)
	})
}

// SnapshotImage is the image the snapshot under way of instance id on
// host goes to; NotFound when there is none (the instance is not
// there, or is not being snapshotted).
func (s *Store) SnapshotImage(ctx context.Context, host, id string) (string, error) {
	var image string
	err := s.db.Get(ctx, `SELECT s.image_id FROM compute_snapshots s JOIN compute_instances i ON i.uuid = s.instance_uuid
		WHERE s.instance_uuid = ? AND s.host = ? AND i.host = ? AND i.task_state = ? AND i.deleted_at IS NULL`,
		[]any{id, host, host, string(ImageSnapshotPending)}, &image)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return "", novaError(fault.NotFound, "InstanceNotFound", "Instance %s is not being snapshotted on host %s.", id, host)
	}
	return image, err
}

// snapshotsOf reads the snapshots under way on host, by instance.
func snapshotsOf(ctx context.Context, tx *sqlstore.Tx, host string) (map[string]string, error) {
	rows, err := tx.Query(ctx, "SELECT instance_uuid, image_id FROM compute_snapshots WHERE host = ?", host)
	if err != nil {
		return nil, fmt.Errorf("compute: snapshots of %s: %w", host, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var i, img string
		if err := rows.Scan(&i, &img); err != nil {
			return nil, err
		}
		out[i] = img
	}
	return out, rows.Err()
}

// endSnapshot removes instance id's snapshot row as its task ends, and
// returns the image it was for ("" for none).
func endSnapshot(ctx context.Context, tx *sqlstore.Tx, id string) (string, error) {
	var image string
	err := tx.Get(ctx, "SELECT image_id FROM compute_snapshots WHERE instance_uuid = ?", []any{id}, &image)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM compute_snapshots WHERE instance_uuid = ?", id); err != nil {
		return "", fmt.Errorf("compute: end the snapshot of %s: %w", id, err)
	}
	return image, nil
}

// SnapshotOf is the image of instance id's snapshot under way, whatever
// its task now ("" for none): what a report ending the snapshot, or
// the instance, leaves behind.
func (s *Store) SnapshotOf(ctx context.Context, id string) (string, error) {
	var image string
	err := s.db.Get(ctx, "SELECT image_id FROM compute_snapshots WHERE instance_uuid = ?", []any{id}, &image)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return "", nil
	}
	return image, err
}
