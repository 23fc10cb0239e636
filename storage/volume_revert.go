package storage

import (
	"context"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// VolumeReverting is the status of a volume its agent reverts to its
// latest snapshot (Cinder's "reverting", which is not one of its
// VolumeStatus.ALL: no reset goes to it).
const VolumeReverting VolumeStatus = "reverting"

// RevertVolume is Cinder's revert to snapshot (the volume API's revert
// action, 3.40): volume id's data becomes its latest snapshot's again,
// the work of the volume's agent. In Cinder's order:
//
//   - the volume, as v sees it (VolumeNotFound, 404);
//   - its latest snapshot, which must be snapshotID, and of the
//     volume's size (400, Cinder's messages: "Volume <id> doesn't have
//     any snapshots.", "Specified snapshot <id> is None or not the
//     latest one of volume <id>.", "... The volume size must be equal
//     to the snapshot size.");
//   - allow, when set (the API's volume:revert_to_snapshot);
//   - the volume available, then the snapshot available (409,
//     InvalidVolume and InvalidSnapshot: "Can't revert volume <id> to
//     its latest snapshot <id>. Volume's status must be 'available'.").
//
// The volume goes to reverting and the snapshot to restoring in one
// transaction, so a refusal changes nothing (Cinder's own API leaves
// the volume reverting when the snapshot's check fails). The agent's
// report (VolumeReport with Status reverting) makes the volume
// available again, or error with the agent's reason, and the snapshot
// available either way, as Cinder's volume manager does.
func (s *Store) RevertVolume(ctx context.Context, v Viewer, id, snapshotID string, allow func(Volume) error) (Volume, error) {
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		snaps, err := volumeSnapshots(ctx, tx, id)
		if err != nil {
			return err
		}
		// Cinder's snapshot_get_latest_for_volume is project_only: a
		// user's latest snapshot is the latest of the user's project's
		// (a volume transferred without its snapshots keeps them in the
		// old project).
		snaps = slices.DeleteFunc(snaps, func(n Snapshot) bool { return !v.sees(n.ProjectID) })
		if len(snaps) == 0 {
			return cinderError(fault.BadRequest, "HTTPBadRequest", "Volume %s doesn't have any snapshots.", id)
		}
		latest := snaps[len(snaps)-1]
		if snapshotID != latest.ID {
			shown := snapshotID
			if shown == "" {
				shown = "None"
			}
			return cinderError(fault.BadRequest, "HTTPBadRequest", "Specified snapshot %s is None or not the latest one of volume %s.", shown, id)
		}
		if vol.Size != latest.VolumeSize {
			return cinderError(fault.BadRequest, "HTTPBadRequest",
				"Can't revert volume %s to its latest snapshot %s. The volume size must be equal to the snapshot size.", id, latest.ID)
		}
		if allow != nil {
			if err := allow(*vol); err != nil {
				return err
			}
		}
		if vol.Status != VolumeAvailable {
			return cinderError(fault.Conflict, "InvalidVolume",
				"Invalid volume: Can't revert volume %s to its latest snapshot %s. Volume's status must be 'available'.", id, latest.ID)
		}
		if latest.Status != SnapshotAvailable {
			return cinderError(fault.Conflict, "InvalidSnapshot",
				"Invalid snapshot: Can't revert volume %s to its latest snapshot %s. Snapshot's status must be 'available'.", id, latest.ID)
		}
		var out Snapshot
		if err := s.changeSnapshot(ctx, tx, latest.ID, func(_ *sqlstore.Tx, n *Snapshot) error {
			// Judged again on the locked row: a delete or reset of the
			// snapshot may have landed since it was read.
			if n.Status != SnapshotAvailable {
				return cinderError(fault.Conflict, "InvalidSnapshot",
					"Invalid snapshot: Can't revert volume %s to its latest snapshot %s. Snapshot's status must be 'available'.", id, n.ID)
			}
			n.Status = SnapshotRestoring
			return nil
		}, &out); err != nil {
			return err
		}
		vol.Status, vol.Message = VolumeReverting, ""
		return nil
	})
}

// reverted ends vol's revert (its agent's report: failed with why, or
// done): the volume available or in error, its restoring snapshot
// available again.
func (s *Store) reverted(ctx context.Context, tx *sqlstore.Tx, vol *Volume, why string) error {
	if err := s.releaseRestoring(ctx, tx, vol.ID); err != nil {
		return err
	}
	vol.Status, vol.Message = VolumeAvailable, ""
	if why != "" {
		vol.Status, vol.Message = VolumeError, why
	}
	return nil
}

// releaseRestoring makes volume id's restoring snapshots available
// again, each judged on its locked row (one deleted or reset meanwhile
// is left as it is).
func (s *Store) releaseRestoring(ctx context.Context, tx *sqlstore.Tx, id string) error {
	snaps, err := volumeSnapshots(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, n := range snaps {
		if n.Status != SnapshotRestoring {
			continue
		}
		var out Snapshot
		if err := s.changeSnapshot(ctx, tx, n.ID, func(_ *sqlstore.Tx, n *Snapshot) error {
			if n.Status != SnapshotRestoring {
				return errUnchanged
			}
			n.Status = SnapshotAvailable
			return nil
		}, &out); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	return nil
}
