package storage

import (
	"context"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// BackendState is what the volume agent of a backend keeps in step with,
// read in one snapshot: the volumes placed on its host that are not
// deleted (with their exports' secrets, which the agent makes) and the
// feed revision of the read, to follow the feed from.
type BackendState struct {
	Host     string   `json:"host"`
	Revision int64    `json:"revision"`
	Volumes  []Volume `json:"volumes"`
	// Snapshots are the snapshots on host that are not deleted, oldest
	// first.
	Snapshots []Snapshot `json:"snapshots"`
	// Backups are the backups whose work (creating, restoring,
	// deleting) host's agent does, oldest first.
	Backups []Backup `json:"backups"`
}

// BackendState reads the volumes on host — a pool (host@backend#pool),
// a backend and its pools (host@backend), or a host and all its
// backends, as Cinder's host filter matches — oldest first, with the
// feed revision of the read. A volume a retype moves between pools is
// read by both pools' agents (VolumeRetype says who acts).
func (s *Store) BackendState(ctx context.Context, host string) (BackendState, error) {
	if err := checkHost(host); err != nil {
		return BackendState{}, err
	}
	st := BackendState{Host: host, Volumes: []Volume{}, Snapshots: []Snapshot{}, Backups: []Backup{}}
	cond, args := hostMatch("v.host", host)
	scond, sargs := hostMatch("s.host", host)
	rev, err := s.feed.Snapshot(ctx, func(tx *sqlstore.Tx) error {
		rcond, rargs := hostMatch("v.retype_host", host)
		vs, err := queryVolumes(ctx, tx, "SELECT "+volumeCols+" FROM storage_volumes v WHERE v.deleted_at IS NULL AND ("+cond+
			" OR "+rcond+") ORDER BY v.created_at, v.id", append(args, rargs...)...)
		if err != nil {
			return err
		}
		st.Volumes = vs
		st.Snapshots, err = querySnapshots(ctx, tx, "SELECT "+snapshotCols+" FROM storage_snapshots s WHERE s.deleted_at IS NULL AND "+
			scond+" ORDER BY s.created_at, s.id", sargs...)
		if err != nil {
			return err
		}
		bcond, bargs := hostMatch("b.host", host)
		st.Backups, err = queryBackups(ctx, tx, "SELECT "+backupCols+" FROM storage_backups b WHERE b.deleted_at IS NULL AND b.status IN (?, ?, ?) AND "+
			bcond+" ORDER BY b.created_at, b.id", append([]any{string(BackupCreating), string(BackupRestoring), string(BackupDeleting)}, bargs...)...)
		return err
	})
	st.Revision = rev
	return st, err
}

// VolumeReport is what a volume agent says when the work a volume's
// status asked for has ended.
type VolumeReport struct {
	// Status is the status the agent acted on: VolumeCreating,
	// VolumeDeleting (or VolumeErrorManagingDeleting), VolumeExtending,
	// VolumeUploading, VolumeReverting or VolumeRetyping.
	// The report is refused (409) when the volume has moved on since.
	Status VolumeStatus `json:"status"`
	// Error, when set, is why the work failed: the volume goes to error,
	// error_deleting or error_extending with it as its Message (cut to
	// 255 characters).
	Error string `json:"error,omitempty"`
	// ProviderLocation and ProviderAuth are the export a create made
	// (Cinder's provider_location and provider_auth).
	ProviderLocation string `json:"provider_location,omitempty"`
	ProviderAuth     string `json:"provider_auth,omitempty"`
	// Size is the size an extend reached: the volume's NewSize.
	Size int64 `json:"size,omitempty"`
	// ImageID is the image an upload wrote (VolumeUploading): the
	// report ends that upload only.
	ImageID string `json:"image_id,omitempty"`
	// Busy, with an Error about a delete, says the backend refused it
	// because the volume is in use (a client has it open): the volume
	// goes back to available with the Error as its Message, as Cinder's
	// volume manager does on the driver's VolumeIsBusy.
	Busy bool `json:"busy,omitempty"`
	// Retype, with Status retyping, is the retype step the agent acted
	// on (VolumeRetype.Phase): the volume's pool retyped it in place, a
	// migration's destination made its copy (ProviderLocation and
	// ProviderAuth its export) or removed it after a failure, the data
	// was copied, or the old copy was removed.
	Retype RetypePhase `json:"retype,omitempty"`
}

// maxProvider is Cinder's String(256) of provider_location and
// provider_auth.
const maxProvider = 256

func (r *VolumeReport) check() error {
	switch r.Status {
	case VolumeCreating, VolumeDeleting, VolumeErrorManagingDeleting, VolumeExtending, VolumeUploading, VolumeReverting:
	case VolumeRetyping:
		switch r.Retype {
		case RetypeInPlace, RetypeCreate, RetypeCopy, RetypeCleanup, RetypeAbort:
		default:
			return fault.Invalid("retype", "Invalid input received: a retype's report names its step, not %q.", r.Retype)
		}
	default:
		return fault.Invalid("status", "Invalid input received: a report is about creating, deleting, extending, uploading, reverting or retyping, not %q.", r.Status)
	}
	if err := checkText("error", r.Error, len(r.Error)); err != nil {
		return err
	}
	if r.Busy && (r.Error == "" || r.Status != VolumeDeleting && r.Status != VolumeErrorManagingDeleting) {
		return fault.Invalid("busy", "Invalid input received: busy is a failed delete's.")
	}
	if utf8.RuneCountInString(r.Error) > maxText {
		r.Error = string([]rune(r.Error)[:maxText])
	}
	for _, f := range []struct{ name, v string }{{"provider_location", r.ProviderLocation}, {"provider_auth", r.ProviderAuth}} {
		if err := checkText(f.name, f.v, maxProvider); err != nil {
			return err
		}
	}
	return nil
}

// ReportVolume applies the report of host's volume agent on volume id:
//
//   - creating: available, with the export's provider location and auth
//     (launched_at set), or error;
//   - deleting: the row is marked deleted (status deleted), or
//     error_deleting, or available again when the backend found it busy
//     (Cinder's VolumeIsBusy);
//   - extending: at the new size (the report's Size must be the
//     volume's NewSize), available, or in the status its attachments
//     give (in-use while one is attached); or error_extending (the
//     extend's quota freed);
//   - reverting: available, or error; the restoring snapshot available
//     again either way.
//
// A report from another host than the volume's is Cinder's
// VolumeNotFound (404), one about a status the volume is no longer in a
// 409 (the agent acted on an old state and syncs again).
func (s *Store) ReportVolume(ctx context.Context, host, id string, r VolumeReport) (Volume, error) {
	if err := checkHost(host); err != nil {
		return Volume{}, err
	}
	if err := r.check(); err != nil {
		return Volume{}, err
	}
	if r.Status == VolumeRetyping {
		return s.reportRetype(ctx, host, id, r)
	}
	v, err := s.reportVolume(ctx, host, id, r)
	// An attached volume that grew: the servers using it are told
	// (Cinder sends Nova's volume-extended event).
	if err == nil && r.Status == VolumeExtending && r.Error == "" && s.Extended != nil {
		var servers []string
		for _, a := range v.Attachments {
			if a.AttachStatus == AttachAttached && a.InstanceUUID != "" {
				servers = append(servers, a.InstanceUUID)
			}
		}
		if len(servers) > 0 {
			s.Extended(ctx, v, servers)
		}
	}
	return v, err
}

func (s *Store) reportVolume(ctx context.Context, host, id string, r VolumeReport) (Volume, error) {
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if vol.Host == "" || !hostMatches(vol.Host, host) {
			return volumeNotFound(id)
		}
		if vol.Status != r.Status {
			return cinderError(fault.Conflict, "UnexpectedVolumeStatus",
				"Conflict updating volume %s. Expected: {'status': '%s'}. Actual: {'status': '%s'}", id, r.Status, vol.Status)
		}
		now := s.now()
		switch {
		case r.Status == VolumeCreating && r.Error == "":
			vol.Status, vol.ProviderLocation, vol.ProviderAuth, vol.Message = VolumeAvailable, r.ProviderLocation, r.ProviderAuth, ""
			vol.LaunchedAt = &now
		case r.Status == VolumeCreating:
			vol.Status, vol.Message = VolumeError, r.Error
			a, d := actionCreateVolumeFromBacked, detailDriverFailedCreate
			if vol.ImageID != "" {
				a, d = actionCopyImageToVolume, detailUnknownError
			}
			return s.recordMessage(ctx, tx, vol.ProjectID, MessageVolume, vol.ID, a, d)
		case r.Status == VolumeExtending && r.Error == "":
			if r.Size != vol.NewSize {
				return fault.Invalid("size", "Invalid input received: the extend of volume %s goes to %d GiB, not %d.", id, vol.NewSize, r.Size)
			}
			vol.Status, _ = attachmentStatuses(vol.Attachments)
			vol.Size, vol.NewSize, vol.Message = r.Size, 0, ""
		case r.Status == VolumeExtending:
			vol.Status, vol.NewSize, vol.Message = VolumeErrorExtending, 0, r.Error
			return s.recordMessage(ctx, tx, vol.ProjectID, MessageVolume, vol.ID, actionExtendVolume, detailDriverFailedExtend)
		case r.Status == VolumeUploading && (vol.Upload == nil || vol.Upload.ImageID != r.ImageID):
			return cinderError(fault.Conflict, "InvalidVolume", "Invalid volume: volume %s is not uploading to image %s.", id, r.ImageID)
		case r.Status == VolumeUploading:
			// Done or failed, the volume returns to its status (Cinder's
			// copy_volume_to_image ends so either way); a failure is
			// the upload's image's, which the caller removes.
			vol.Message = r.Error
			if r.Error != "" {
				if err := s.recordMessage(ctx, tx, vol.ProjectID, MessageVolume, vol.ID, actionCopyVolumeToImage, detailFailedToUploadVolume); err != nil {
					return err
				}
			}
			return endUpload(vol)
		case r.Status == VolumeReverting:
			return s.reverted(ctx, tx, vol, r.Error)
		case r.Error == "":
			snaps, err := volumeSnapshots(ctx, tx, id)
			if err != nil {
				return err
			}
			if len(snaps) > 0 {
				return cinderError(fault.Conflict, "InvalidVolume", "Invalid volume: volume %s still has %d snapshots.", id, len(snaps))
			}
			vol.Status, vol.AttachStatus, vol.NewSize, vol.DeletedAt = VolumeDeleted, AttachDetached, 0, &now
		case r.Busy:
			vol.Status, vol.Message = VolumeAvailable, r.Error
		default:
			vol.Status, vol.Message = VolumeErrorDeleting, r.Error
		}
		return nil
	})
}
