package storage

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// The legacy attach flow, Cinder's volume actions that Nova used before
// the v3 attachments (and still uses for volumes attached that way):
// os-reserve, os-initialize_connection, os-attach; os-begin_detaching,
// os-terminate_connection, os-detach.

// ReserveVolume is Cinder's reserve_volume (os-reserve): an available
// volume (a multiattach one also in-use) goes to attaching; refused
// otherwise with Cinder's InvalidVolume.
func (s *Store) ReserveVolume(ctx context.Context, v Viewer, id string) (Volume, error) {
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		expected := "available"
		if vol.Multiattach {
			expected = "available or in-use"
		}
		if vol.Status != VolumeAvailable && !(vol.Multiattach && vol.Status == VolumeInUse) {
			return invalidVolume("Volume status must be %s to reserve, but the status is %s.", expected, vol.Status)
		}
		if vol.migrating() {
			return errMigrating(id)
		}
		vol.Status = VolumeAttaching
		return nil
	})
}

// UnreserveVolume is Cinder's unreserve_volume (os-unreserve, and the
// end of os-terminate_connection): an attaching volume goes back to
// in-use when it has attachments (not detached), else to available;
// a volume in another status is left as it is.
func (s *Store) UnreserveVolume(ctx context.Context, v Viewer, id string) (Volume, error) {
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status != VolumeAttaching {
			return errUnchanged
		}
		vol.Status = VolumeAvailable
		if slices.ContainsFunc(vol.Attachments, func(a Attachment) bool { return a.AttachStatus != AttachDetached }) {
			vol.Status = VolumeInUse
		}
		return nil
	})
}

// BeginDetaching is Cinder's begin_detaching: an in-use, attached
// volume goes to detaching; refused otherwise.
func (s *Store) BeginDetaching(ctx context.Context, v Viewer, id string) (Volume, error) {
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status != VolumeInUse || vol.AttachStatus != AttachAttached {
			return invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
		}
		vol.Status = VolumeDetaching
		return nil
	})
}

// RollDetaching is Cinder's roll_detaching: a detaching volume goes
// back to in-use; a volume in another status is left as it is.
func (s *Store) RollDetaching(ctx context.Context, v Viewer, id string) (Volume, error) {
	return s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status != VolumeDetaching {
			return errUnchanged
		}
		vol.Status = VolumeInUse
		return nil
	})
}

// VolumeAttach is what os-attach says: the instance (or, without one,
// the host) the volume is attached to, where it sees it, and the mode.
type VolumeAttach struct {
	InstanceUUID string
	HostName     string
	Mountpoint   string
	// Mode is ModeReadWrite ("" for it) or ModeReadOnly.
	Mode string
}

func (a *VolumeAttach) check() error {
	if a.Mode == "" {
		a.Mode = ModeReadWrite
	}
	for _, f := range []struct{ name, v string }{{"instance_uuid", a.InstanceUUID}, {"host_name", a.HostName},
		{"mountpoint", a.Mountpoint}, {"mode", a.Mode}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return err
		}
	}
	if a.Mode != ModeReadWrite && a.Mode != ModeReadOnly {
		return invalidInput("attach mode %q is not 'rw' or 'ro'.", a.Mode)
	}
	if a.InstanceUUID == "" && a.HostName == "" {
		return invalidInput("an attach needs an instance_uuid or a host_name.")
	}
	if a.InstanceUUID != "" {
		if _, err := uuid.Parse(a.InstanceUUID); err != nil {
			return cinderError(fault.BadRequest, "InvalidUUID", "Expected a UUID but received %s.", a.InstanceUUID)
		}
	}
	return nil
}

// AttachVolume is Cinder's attach (os-attach, its volume manager's
// attach_volume): the volume, in any status but maintenance, is
// attached to the instance (or host): a new attachment, attached at
// once, in the mode asked, the volume in-use and attached with that
// attached_mode. The volume's attachment for the same instance (or
// host), when there is one, is answered instead and the volume made
// in-use. Refused: an attaching volume attached before in another
// mode, an in-use volume that is not multiattach, and a volume whose
// backend's agent is creating, extending or deleting it (Cinder would
// take it).
func (s *Store) AttachVolume(ctx context.Context, v Viewer, id string, at VolumeAttach) (Attachment, error) {
	if err := at.check(); err != nil {
		return Attachment{}, err
	}
	host := ""
	if at.HostName != "" {
		host = SanitizeHostname(at.HostName)
	}
	var out Attachment
	_, err := s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		switch {
		case vol.Status == VolumeMaintenance:
			return invalidVolume("The volume cannot be attached in maintenance mode.")
		case vol.busy():
			return invalidVolume("Volume %s is %s: it can be attached once its backend is done.", vol.ID, vol.Status)
		case vol.migrating():
			return errMigrating(vol.ID)
		case vol.Status == VolumeAttaching && vol.AttachedMode != "" && vol.AttachedMode != at.Mode:
			return invalidVolume("being attached by different mode")
		}
		if i := slices.IndexFunc(vol.Attachments, func(a Attachment) bool {
			return a.AttachStatus != AttachDetached && (at.InstanceUUID != "" && a.InstanceUUID == at.InstanceUUID ||
				at.InstanceUUID == "" && a.AttachedHost == host)
		}); i >= 0 {
			out = vol.Attachments[i]
			vol.Status = VolumeInUse
			return nil
		}
		if vol.Status == VolumeInUse && !vol.Multiattach {
			return invalidVolume("volume is already attached and multiple attachments are not enabled")
		}
		now := s.now()
		a := Attachment{ID: uuid.NewString(), VolumeID: vol.ID, ProjectID: vol.ProjectID, InstanceUUID: at.InstanceUUID,
			AttachedHost: host, Mountpoint: at.Mountpoint, AttachMode: at.Mode, AttachStatus: AttachAttached,
			AttachTime: &now, CreatedAt: now, UpdatedAt: now}
		if err := s.saveAttachment(ctx, tx, &a, watch.Create); err != nil {
			return err
		}
		vol.AttachedMode, vol.Status, vol.AttachStatus = at.Mode, VolumeInUse, AttachAttached
		out = a
		return refreshAttachments(ctx, tx, vol)
	})
	return out, err
}

// DetachVolume is Cinder's detach (os-detach, its volume manager's
// detach_volume): attachment attachmentID of the volume, or its only
// attachment when "", is deleted and the volume's status and attach
// status follow the attachments left (finishing a detach: available
// and detached when none is left; an attachment id that is not there
// any more just does that). Refused: a volume in maintenance, no id
// with several attachments, and the id of another volume's attachment
// (Cinder's "Mismatched volume and attachment"). Whether the caller may
// (Nova's bug #2004555 check) is the API's to decide first.
func (s *Store) DetachVolume(ctx context.Context, v Viewer, id, attachmentID string) (Volume, error) {
	if err := checkText("attachment_id", attachmentID, maxText); err != nil {
		return Volume{}, err
	}
	return s.writeVolume(ctx, id, func(tx *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance {
			return invalidVolume("The volume cannot be detached in maintenance mode.")
		}
		if attachmentID == "" {
			switch len(vol.Attachments) {
			case 0:
				setStatus(vol, VolumeAvailable)
				vol.AttachStatus = AttachDetached
				return nil
			case 1:
				attachmentID = vol.Attachments[0].ID
			default:
				return invalidVolume("Detach volume failed: More than one attachment, but no attachment_id provided.")
			}
		} else if !slices.ContainsFunc(vol.Attachments, func(a Attachment) bool { return a.ID == attachmentID }) {
			other, err := attachmentByID(ctx, tx, attachmentID)
			if err != nil {
				return err
			}
			if other != nil {
				return invalidInput("Mismatched volume and attachment")
			}
		}
		return s.finishDetach(ctx, tx, vol, attachmentID)
	})
}

// InitializeConnection is Cinder's initialize_connection
// (os-initialize_connection): the volume's connection info for the
// host's connector, which must name its initiator, computed from the
// volume's export (ISCSIConnection), its access mode the volume's
// attached_mode (rw when none). It changes nothing: the export exists
// from the volume's creation. Refused for a volume in maintenance.
func (s *Store) InitializeConnection(ctx context.Context, v Viewer, id string, connector map[string]any) (ConnectionInfo, error) {
	var info ConnectionInfo
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		vol, err := volumeByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if vol == nil || !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance {
			return invalidVolume("The volume connection cannot be initialized in maintenance mode.")
		}
		if _, ok := connector["initiator"]; !ok {
			return invalidInput("Connector doesn't have required information: initiator")
		}
		info, err = s.connectionInfo(ctx, tx, vol, "", truthy(connector["multipath"]))
		return err
	})
	return info, err
}

// SanitizeHostname is Cinder's sanitize_hostname (of a host name that
// os-attach gives): what is not Latin-1 dropped, spaces and
// underscores made dashes, what is not a word character, '.' or '-'
// dropped, lower case, and dots and dashes trimmed from the ends.
func SanitizeHostname(h string) string {
	h = strings.Map(func(r rune) rune {
		switch {
		case r > 0xff:
			return -1
		case r == ' ' || r == '_':
			return '-'
		case unicode.IsLetter(r) || unicode.IsNumber(r) || r == '.' || r == '-':
			return r
		}
		return -1
	}, h)
	return strings.Trim(strings.ToLower(h), ".-")
}
