package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// deletableStatuses are the statuses Cinder's delete starts from
// without force.
var deletableStatuses = []VolumeStatus{VolumeAvailable, VolumeError, VolumeErrorRestoring, VolumeErrorExtending, VolumeErrorManaging}

// DeleteOptions are Cinder's delete parameters.
type DeleteOptions struct {
	// Force deletes whatever the status (Cinder's os-force_delete, an
	// admin's); an attached volume is still refused.
	Force bool
	// Cascade deletes the volume's snapshots with it (they must be
	// available or error unless Force, and of the caller's project
	// unless an admin's); without it a volume with snapshots is refused.
	Cascade bool
}

// DeleteVolume is Cinder's delete. A volume never placed on a backend
// (no host: its scheduling failed) is deleted at once, whatever its
// status, unless it has attachments. Otherwise it must be available,
// error, error_restoring, error_extending or error_managing (any status
// with Force), not attached, not retyping (nor a migration's old copy
// still to remove) and without attachments (not deleted,
// whatever their status: Cinder checks the attach status only, and its
// force delete of a reserved volume leaves its attachments behind); it
// goes to deleting (error_managing_deleting from
// error_managing) for its backend's agent, whose report ends the
// delete. A volume with snapshots is refused unless Cascade, which
// puts its snapshots in deleting too (the agent removes them before the
// volume); one that a new volume is being copied from is refused.
// Refusals are Cinder's InvalidVolume with its message.
func (s *Store) DeleteVolume(ctx context.Context, v Viewer, id string, o DeleteOptions) (Volume, error) {
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		now := s.now()
		snaps, err := volumeSnapshots(ctx, tx, id)
		if err != nil {
			return err
		}
		if vol.Host == "" && len(vol.Attachments) == 0 && len(snaps) == 0 {
			vol.Status, vol.AttachStatus, vol.NewSize = VolumeDeleted, AttachDetached, 0
			vol.TerminatedAt, vol.DeletedAt = &now, &now
			return nil
		}
		if vol.AttachStatus == AttachAttached || len(vol.Attachments) > 0 || vol.Retype != nil || !o.Force && !slices.Contains(deletableStatuses, vol.Status) ||
			len(snaps) > 0 && !cascadable(snaps, v, o) {
			status := ""
			if !o.Force {
				names := make([]string, len(deletableStatuses))
				for i, st := range deletableStatuses {
					names[i] = string(st)
				}
				status = "status must be " + strings.Join(names, " or ") + " and"
			}
			return invalidVolume("Volume %s must not be migrating, attached, belong to a group, have snapshots, "+
				"awaiting a transfer, or be disassociated from snapshots after volume transfer.", status)
		}
		if err := volumeCopied(ctx, tx, id); err != nil {
			return err
		}
		for _, n := range snaps {
			var out Snapshot
			if err := s.changeSnapshot(ctx, tx, n.ID, func(tx *sqlstore.Tx, n *Snapshot) error {
				if err := snapshotCopied(ctx, tx, n.ID); err != nil {
					return err
				}
				n.Status = SnapshotDeleting
				return nil
			}, &out); err != nil {
				return err
			}
		}
		if vol.Status == VolumeErrorManaging {
			vol.Status = VolumeErrorManagingDeleting
		} else {
			vol.Status = VolumeDeleting
		}
		vol.TerminatedAt = &now
		return nil
	})
}

// volumeCopied refuses (Cinder's InvalidVolume) while a new volume is
// being copied from volume id (a clone still creating). The clone's
// create locked id's row, so on PostgreSQL this waits for it.
func volumeCopied(ctx context.Context, tx *sqlstore.Tx, id string) error {
	var copying int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volumes WHERE source_volid = ? AND status = ? AND deleted_at IS NULL",
		[]any{id, string(VolumeCreating)}, &copying); err != nil {
		return fmt.Errorf("storage: volume %s: %w", id, err)
	}
	if copying > 0 {
		return invalidVolume("Volume %s is being copied into a new volume.", id)
	}
	return nil
}

// cascadable is Cinder's condition on the snapshots of a volume deleted
// with cascade (its volume_has_undeletable_snapshots_filter): with
// Cascade, each available or error (any status with Force), and the
// caller's project's unless an admin's.
func cascadable(snaps []Snapshot, v Viewer, o DeleteOptions) bool {
	if !o.Cascade {
		return false
	}
	for _, n := range snaps {
		if !o.Force && n.Status != SnapshotAvailable && n.Status != SnapshotError {
			return false
		}
		if !v.Admin && n.ProjectID != v.Project {
			return false
		}
	}
	return true
}

// ExtendVolume is Cinder's os-extend of a volume that is not in use:
// newSize must be larger than the size and within the type's
// provisioning:max_vol_size, and the volume available; the growth must
// fit the project's per_volume_gigabytes, gigabytes and the type's
// gigabytes_<name> quotas (an extend under way counts its new size),
// and the volume's pool must have room for it (every filter of the
// Scheduler passing the pool for the growth, claimed as a create's
// room is), else a *NoValidBackend (409; Cinder's extend would answer
// 202 and leave the volume available with a user message); it
// goes to extending with NewSize set, for its backend's agent, whose
// report ends the extend (available at the new size, or
// error_extending).
func (s *Store) ExtendVolume(ctx context.Context, v Viewer, id string, newSize int64) (Volume, error) {
	return s.extend(ctx, v, id, newSize, VolumeAvailable)
}

// ExtendAttachedVolume is Cinder's extend_attached_volume (os-extend of
// an in-use volume, from 3.42): ExtendVolume's rules, but the volume
// must be in-use. The agent's report ends it in the status its
// attachments give (in-use while one is attached).
func (s *Store) ExtendAttachedVolume(ctx context.Context, v Viewer, id string, newSize int64) (Volume, error) {
	return s.extend(ctx, v, id, newSize, VolumeInUse)
}

// extend is ExtendVolume of a volume in status from.
func (s *Store) extend(ctx context.Context, v Viewer, id string, newSize int64, from VolumeStatus) (Volume, error) {
	if newSize > maxDBInt {
		return Volume{}, invalidInput("New size for extend must be at most %d.", int64(maxDBInt))
	}
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if newSize-vol.Size <= 0 {
			return invalidInput("New size for extend must be greater than current size. (current: %d, extended: %d).", vol.Size, newSize)
		}
		vt, err := typeByID(ctx, tx, adminViewer, vol.VolumeTypeID, false)
		if err != nil {
			return err
		}
		if err := typeSizeLimits(vt, newSize); err != nil {
			return err
		}
		if vol.Status != from {
			return invalidVolume("Volume %s status must be '{'status': '%s'}' to extend, currently %s.", vol.ID, from, vol.Status)
		}
		if vol.migrating() {
			return errMigrating(id)
		}
		if err := lockProject(ctx, tx, vol.ProjectID); err != nil {
			return err
		}
		if err := s.checkVolumeQuota(ctx, tx, vol.ProjectID, vt, 0, newSize-vol.Size, newSize); err != nil {
			return err
		}
		if vol.Host == "" {
			return invalidVolume("volume is not assigned to a host")
		}
		req := &ScheduleRequest{Operation: OpExtendVolume, VolumeID: vol.ID, Size: newSize - vol.Size, VolumeType: vt}
		p, why, err := s.claim(ctx, tx, s.scheduler(), req, vol.Host)
		if err != nil {
			return err
		}
		if p == nil {
			return &NoValidBackend{Reason: fmt.Sprintf("Cannot place volume %s on %s.", vol.ID, vol.Host),
				Filters: []FilterResult{{Name: "claim", Start: 1, Reasons: map[string]string{vol.Host: why}}}}
		}
		vol.Status, vol.NewSize = VolumeExtending, newSize
		return nil
	})
}

// StatusReset is an admin's os-reset_status: the fields set change.
type StatusReset struct {
	Status       VolumeStatus
	AttachStatus AttachStatus
	// ClearMigrationStatus is a migration_status of none: the volume's
	// MigrationStatus cleared.
	ClearMigrationStatus bool
}

// ResetStatus is Cinder's os-reset_status: the volume takes the status
// and attach status given, whatever it was doing (an extend under way
// is abandoned, and a retype: its destination's copy is removed; a
// removal still to do, of a migration's old copy or of a failed one's
// destination copy, is dropped and the copy left where it is, logged
// with its pool and name, as Cinder's migrate_volume_completion logs a
// failed delete of the old copy and moves on: a pool that is gone
// never holds the volume for ever). Who
// may is the API's policy (admins by default); here
// v must see the volume. Cinder's refusals: a status it does not know,
// deleting, error_deleting and detaching (Cinder's code means to refuse
// all three; a missing comma lets the last two through there), and
// in-use for a volume without attachments (not detached). A revert
// under way is abandoned too, its snapshot available again. An attach
// status of detached then detaches each attachment as Cinder does, the
// volume's status following what is left (available at the end).
func (s *Store) ResetStatus(ctx context.Context, v Viewer, id string, r StatusReset) (Volume, error) {
	if err := r.check(); err != nil {
		return Volume{}, err
	}
	var orphan []any // a copy no removal is left for
	out, err := s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		orphan = nil
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if r.Status == VolumeInUse && !slices.ContainsFunc(vol.Attachments, func(a Attachment) bool { return a.AttachStatus != AttachDetached }) {
			return cinderError(fault.BadRequest, "", "Cannot reset-state to in-use because volume does not have any attachments.")
		}
		if r.Status != "" && vol.Retype != nil && (r.Status != VolumeRetyping || vol.Retype.Migrate) {
			// (An admin's migration never holds retyping: a reset to it
			// abandons the migration too, or nothing would give the
			// volume its status back.)
			// A retype under way is abandoned: in place, nothing is
			// left to undo; a migration's destination copy is removed
			// by its agent. A removal still to do is dropped.
			switch rt := vol.Retype; rt.Phase {
			case RetypeInPlace:
				vol.Retype = nil
			case RetypeCreate, RetypeCopy:
				abort := *rt
				abort.Phase = RetypeAbort
				vol.Retype, vol.MigrationStatus = &abort, MigrationError
			case RetypeCleanup:
				orphan = orphanCopy(id, rt.Phase, rt.SourceHost, rt.SourceLocation)
				vol.Retype = nil
			case RetypeAbort:
				orphan = orphanCopy(id, rt.Phase, rt.DestHost, rt.DestLocation)
				vol.Retype = nil
			}
		}
		if r.Status != "" && r.Status != VolumeReverting && vol.Status == VolumeReverting {
			// A revert abandoned: its snapshot is available again (the
			// agent's report, refused now, would have made it so).
			if err := s.releaseRestoring(ctx, tx, id); err != nil {
				return err
			}
		}
		if r.Status != "" {
			vol.Status = r.Status
			if r.Status != VolumeExtending {
				vol.NewSize = 0
			}
			if r.Status != VolumeUploading {
				vol.Upload = nil // an upload abandoned: its image stays queued
			}
		}
		if r.AttachStatus != "" {
			vol.AttachStatus = r.AttachStatus
		}
		if r.ClearMigrationStatus {
			vol.MigrationStatus = ""
		}
		if r.AttachStatus == AttachDetached {
			for _, a := range slices.Clone(vol.Attachments) {
				if a.AttachStatus == AttachDetached {
					continue
				}
				if err := s.finishDetach(ctx, tx, vol, a.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && orphan != nil {
		s.log().Warn("storage: a reset dropped a retype's removal of a copy; it is left on its pool for an operator to remove", orphan...)
	}
	return out, err
}

// orphanCopy is what the log of a copy a reset left gives an operator
// to find and remove it: its pool, name and location, and for an iSCSI
// copy its target (removed by its pool's agent if it runs, with its
// CHAP account) and file (volume-<id> in that pool's volume
// directory).
func orphanCopy(id string, step RetypePhase, pool, location string) []any {
	attrs := []any{"volume", id, "step", step, "pool", pool, "name", "volume-" + id, "location", location}
	if f := strings.Fields(location); !IsRBDLocation(location) && len(f) == 3 {
		attrs = append(attrs, "target", f[1], "file", "volume-"+id)
	}
	return attrs
}

func (r StatusReset) check() error {
	if r.Status == "" && r.AttachStatus == "" && !r.ClearMigrationStatus {
		return invalidParameter("Must specify 'status', 'attach_status' or 'migration_status' for update.")
	}
	if r.Status != "" && !slices.Contains(VolumeStatuses(), r.Status) {
		return invalidParameter("Volume status: %s is invalid, valid statuses are: %s.", r.Status, pyTuple(VolumeStatuses()))
	}
	if r.AttachStatus != "" && r.AttachStatus != AttachAttached && r.AttachStatus != AttachDetached {
		return invalidParameter("Volume attach status: %s is invalid, valid statuses are: ['attached', 'detached'].", r.AttachStatus)
	}
	switch r.Status {
	case VolumeDeleting, VolumeErrorDeleting, VolumeDetaching:
		return cinderError(fault.BadRequest, "", "Cannot reset-state to %s", r.Status)
	}
	return nil
}

// pyTuple is Python's repr of a tuple of strings.
func pyTuple[T ~string](items []T) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = fmt.Sprintf("'%s'", s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
