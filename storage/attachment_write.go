package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// AttachmentCreate is a v3 attachment create (Cinder's
// attachment_create).
type AttachmentCreate struct {
	// ID is the new attachment's id, a UUID ("" for a random one).
	ID       string
	VolumeID string
	// InstanceUUID is the instance it is for ("" for none).
	InstanceUUID string
	// Connector, when given, connects the attachment at once, as
	// UpdateAttachment does.
	Connector map[string]any
	// Mode is ModeReadWrite or ModeReadOnly (3.54's mode), "" for
	// ModeNull: the update takes the connector's.
	Mode string
}

func (c *AttachmentCreate) check() error {
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if u, err := uuid.Parse(c.ID); err != nil {
		return fault.Invalid("id", "Invalid input received: attachment id %q is not a UUID.", c.ID)
	} else {
		c.ID = u.String()
	}
	for _, f := range []struct{ name, v string }{{"volume_id", c.VolumeID}, {"instance_uuid", c.InstanceUUID}} {
		if err := checkText(f.name, f.v, maxText); err != nil {
			return err
		}
	}
	switch c.Mode {
	case "":
		c.Mode = ModeNull
	case ModeReadWrite, ModeReadOnly:
	default:
		return invalidInput("attach mode %q is not 'rw' or 'ro'.", c.Mode)
	}
	return nil
}

// CreateAttachment is Cinder's attachment_create: the volume, one v
// sees, is reserved for the instance and a reserved attachment made. A
// volume whose status holds "error" is refused; otherwise it must be
// available or downloading (a multiattach volume also in-use) and goes
// to reserved, or already have an attachment for the same instance
// (reserved or in-use: a server moving to another host), when its
// status stays. Refusals are Cinder's InvalidVolume with its message.
// With a connector the attachment is connected in the same
// transaction (UpdateAttachment's work, without its duplicate check,
// as Cinder's create skips it); its mode stays c's. Concurrent creates
// on one volume are judged one after the other: of two reserves of an
// available volume, the second finds it reserved and is refused.
func (s *Store) CreateAttachment(ctx context.Context, v Viewer, c AttachmentCreate) (Attachment, error) {
	if err := c.check(); err != nil {
		return Attachment{}, err
	}
	var out Attachment
	var vol Volume
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		return s.changeVolume(ctx, tx, c.VolumeID, func(tx *sqlstore.Tx, vol *Volume) error {
			if !v.sees(vol.ProjectID) {
				return volumeNotFound(c.VolumeID)
			}
			if strings.Contains(string(vol.Status), "error") {
				return invalidVolume("Volume attachments can not be created if the volume is in an error state. "+
					"The Volume %s currently has a status of: %s ", vol.ID, vol.Status)
			}
			if err := reserve(vol, c.InstanceUUID); err != nil {
				return err
			}
			now := s.now()
			a := Attachment{ID: c.ID, VolumeID: vol.ID, ProjectID: vol.ProjectID, InstanceUUID: c.InstanceUUID,
				AttachMode: c.Mode, AttachStatus: AttachReserved, CreatedAt: now, UpdatedAt: now}
			if c.Connector != nil {
				if err := s.connect(ctx, tx, vol, &a, c.Connector, false); err != nil {
					return err
				}
			}
			if err := s.saveAttachment(ctx, tx, &a, watch.Create); err != nil {
				return err
			}
			out = a
			return refreshAttachments(ctx, tx, vol)
		}, &vol)
	})
	return out, err
}

// reserve is Cinder's _attachment_reserve on vol, read under its lock.
func reserve(vol *Volume, instance string) error {
	ok := []VolumeStatus{VolumeAvailable, VolumeDownloading}
	if vol.Multiattach {
		ok = []VolumeStatus{VolumeAvailable, VolumeInUse, VolumeDownloading}
	}
	if slices.Contains(ok, vol.Status) {
		if vol.migrating() {
			return errMigrating(vol.ID)
		}
		vol.Status = VolumeReserved
		return nil
	}
	if instance != "" && (vol.Status == VolumeInUse || vol.Status == VolumeReserved) &&
		slices.ContainsFunc(vol.Attachments, func(a Attachment) bool { return a.InstanceUUID == instance }) {
		return nil
	}
	names := make([]string, len(ok))
	for i, st := range ok {
		names[i] = string(st)
	}
	return invalidVolume("Volume %s status must be %s to reserve, but the current status is %s.",
		vol.ID, strings.Join(names, " or "), vol.Status)
}

// UpdateAttachment is Cinder's attachment_update: attachment id, one v
// sees, is connected with the host's connector (which must name its
// initiator): its connection info computed from the volume's export
// (ISCSIConnection), attaching, its host and mountpoint the
// connector's, its mode its own if it has one, else the connector's,
// else rw; the volume goes to attaching. Refused when the volume's
// status holds "error", and, for a volume that is not multiattach with
// several attachments, when one of them is connected already
// (Cinder's "duplicate connectors"). On a backend that exports per
// initiator (CapInitiatorACL) it returns once the backend's agent let
// the connector's initiator in (ReportExport), or fails after
// ExportWait.
func (s *Store) UpdateAttachment(ctx context.Context, v Viewer, id string, connector map[string]any) (Attachment, error) {
	var vol Volume
	a, err := s.writeAttachment(ctx, v, id, func(tx *sqlstore.Tx, tvol *Volume, a *Attachment) error {
		vol = *tvol
		if strings.Contains(string(tvol.Status), "error") {
			return invalidVolume("Volume attachments can not be updated if the volume is in an error state. "+
				"The Volume %s currently has a status of: %s ", tvol.ID, tvol.Status)
		}
		if len(tvol.Attachments) > 1 && !tvol.Multiattach &&
			slices.ContainsFunc(tvol.Attachments, func(o Attachment) bool { return o.ConnectionInfo != nil }) {
			return invalidVolume("duplicate connectors detected on volume %s", tvol.ID)
		}
		return s.connect(ctx, tx, tvol, a, connector, true)
	})
	if err != nil {
		return a, err
	}
	// A backend that exports per initiator lets the host in once its
	// agent saw the connector: the connection info is answered then.
	if initiator, ok := connector["initiator"].(string); ok && vol.Host != "" {
		if err := s.awaitExport(ctx, vol, initiator); err != nil {
			return Attachment{}, err
		}
	}
	return a, nil
}

// CompleteAttachment is Cinder's os-complete: attachment id, one v
// sees, is attached and its volume in-use and attached, whatever they
// were (Cinder checks nothing).
func (s *Store) CompleteAttachment(ctx context.Context, v Viewer, id string) (Attachment, error) {
	return s.writeAttachment(ctx, v, id, func(_ *sqlstore.Tx, vol *Volume, a *Attachment) error {
		a.AttachStatus = AttachAttached
		setStatus(vol, VolumeInUse)
		vol.AttachStatus = AttachAttached
		return nil
	})
}

// DeleteAttachment is Cinder's attachment_delete: attachment id, one v
// sees, is deleted (detached) and its volume's status and attach
// status follow the attachments left (Cinder's volume_detached:
// available and detached when none is left). It returns the volume's
// attachments left. Whether the caller may (Nova's bug #2004555 check)
// is the API's to decide first.
func (s *Store) DeleteAttachment(ctx context.Context, v Viewer, id string) ([]Attachment, error) {
	var out []Attachment
	_, err := s.writeAttachment(ctx, v, id, func(tx *sqlstore.Tx, vol *Volume, a *Attachment) error {
		if err := s.finishDetach(ctx, tx, vol, a.ID); err != nil {
			return err
		}
		out = vol.Attachments
		return errAttachmentSaved
	})
	return out, err
}

// errAttachmentSaved, returned by writeAttachment's change, says the
// change wrote the attachment itself.
var errAttachmentSaved = fmt.Errorf("storage: attachment saved")

// writeAttachment changes attachment id, which v must see, with its
// volume in one transaction, the volume's row locked: change edits both
// (the attachment read again under the lock); the attachment is
// written and recorded, then the volume. It returns the attachment as
// written.
func (s *Store) writeAttachment(ctx context.Context, v Viewer, id string, change func(*sqlstore.Tx, *Volume, *Attachment) error) (Attachment, error) {
	if err := checkText("attachment_id", id, len(id)); err != nil {
		return Attachment{}, attachmentNotFound(id)
	}
	var vol Volume
	var out Attachment
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		a, err := attachmentByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if a == nil || !v.sees(a.ProjectID) {
			return attachmentNotFound(id)
		}
		return s.changeVolume(ctx, tx, a.VolumeID, func(tx *sqlstore.Tx, vol *Volume) error {
			i := slices.IndexFunc(vol.Attachments, func(o Attachment) bool { return o.ID == id })
			if i < 0 {
				return attachmentNotFound(id) // deleted meanwhile
			}
			a := vol.Attachments[i]
			switch err := change(tx, vol, &a); {
			case err == errAttachmentSaved:
				return nil
			case err != nil:
				return err
			}
			if err := s.saveAttachment(ctx, tx, &a, watch.Update); err != nil {
				return err
			}
			out = a
			return refreshAttachments(ctx, tx, vol)
		}, &vol)
	})
	return out, err
}

// connect is Cinder's volume manager attachment_update on a, of vol:
// the connector checked, the connection info computed, a attaching
// with the connector's host and mountpoint, and vol attaching. setMode
// gives a the mode used (Cinder's create keeps its own).
func (s *Store) connect(ctx context.Context, tx *sqlstore.Tx, vol *Volume, a *Attachment, connector map[string]any, setMode bool) error {
	if _, ok := connector["initiator"]; !ok {
		return invalidInput("Connector doesn't have required information: initiator")
	}
	host, err := connectorText(connector, "host", "")
	if err != nil {
		return err
	}
	mountpoint, err := connectorText(connector, "mountpoint", "na")
	if err != nil {
		return err
	}
	mode := a.AttachMode
	if mode != ModeReadWrite && mode != ModeReadOnly {
		mode, _ = connector["mode"].(string)
		if mode != ModeReadOnly {
			mode = ModeReadWrite
		}
	}
	info, err := s.connectionInfo(ctx, tx, vol, mode, truthy(connector["multipath"]))
	if err != nil {
		return err
	}
	now := s.now()
	a.Connector, a.ConnectionInfo = connector, info.Flat(a.ID)
	a.AttachStatus, a.AttachedHost, a.Mountpoint, a.AttachTime = AttachAttaching, host, mountpoint, &now
	if setMode {
		a.AttachMode = mode
	}
	setStatus(vol, VolumeAttaching)
	vol.AttachStatus = AttachAttaching
	return nil
}

// connectionInfo is vol's connection info for an attachment in mode
// (the volume's attached_mode otherwise, else rw).
func (s *Store) connectionInfo(ctx context.Context, q querier, vol *Volume, mode string, multipath bool) (ConnectionInfo, error) {
	vt, err := typeByID(ctx, q, adminViewer, vol.VolumeTypeID, false)
	if err != nil {
		return ConnectionInfo{}, err
	}
	access := vol.AttachedMode
	if access == "" || mode == ModeReadOnly {
		access = mode
	}
	if access == "" {
		access = ModeReadWrite
	}
	qos, err := typeQoS(ctx, q, vt)
	if err != nil {
		return ConnectionInfo{}, err
	}
	o := ConnectionOptions{AccessMode: access, Cacheable: vt != nil && vt.ExtraSpecs[SpecCacheable] == "<is> True",
		Discard: s.ReportDiscardSupported, Multipath: multipath, QoS: qos, Size: vol.Size}
	var info ConnectionInfo
	if IsRBDLocation(vol.ProviderLocation) {
		// A Ceph RBD volume: Cinder's RBD driver's answer, with the
		// monitors its backend last reported.
		b, berr := backendIn(ctx, q, vol.Host)
		if berr != nil {
			return ConnectionInfo{}, berr
		}
		if b != nil {
			o.RBDMonitors = b.Report.RBDMonitors
		}
		info, err = RBDConnection(vol.ID, vol.ProviderLocation, o)
	} else {
		info, err = ISCSIConnection(vol.ID, vol.ProviderLocation, vol.ProviderAuth, o)
	}
	if err != nil {
		return ConnectionInfo{}, fmt.Errorf("volume %s: %w", vol.ID, err)
	}
	return info, nil
}

// connectorText is a connector's key as a text column keeps it: a
// string as it is, null as "", anything else as its JSON; def when the
// key is absent.
func connectorText(connector map[string]any, key, def string) (string, error) {
	v, ok := connector[key]
	var s string
	switch t := v.(type) {
	case nil:
		if !ok {
			s = def
		}
	case string:
		s = t
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return "", invalidInput("connector %s is not JSON.", key)
		}
		s = string(b)
	}
	if err := checkText("connector "+key, s, maxText); err != nil {
		return "", err
	}
	return s, nil
}

// truthy is Python's truth of a JSON value.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case json.Number:
		f, err := t.Float64()
		return err != nil || f != 0
	case float64:
		return t != 0
	case int:
		return t != 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

// setStatus gives vol status, unless its backend's agent has work under
// way that its report ends (an extend of an attached volume): its
// status then stays, and the report derives the status from the
// attachments.
func setStatus(vol *Volume, status VolumeStatus) {
	if !vol.busy() {
		vol.Status = status
	}
}

// busy reports whether the volume's agent has work under way that its
// report ends.
func (v *Volume) busy() bool {
	switch v.Status {
	case VolumeCreating, VolumeDeleting, VolumeErrorManagingDeleting, VolumeExtending:
		return true
	}
	return false
}

// attachmentStatuses is Cinder's _get_statuses_from_attachments: the
// volume's attach status is the first, alphabetically, of its
// attachments' that is not an error (attached, attaching, detaching,
// reserved), detached when none; its status the same word, but in-use
// for attached and available for detached.
func attachmentStatuses(as []Attachment) (VolumeStatus, AttachStatus) {
	best := AttachStatus("")
	for _, a := range as {
		if a.DeletedAt != nil || strings.HasPrefix(string(a.AttachStatus), "error_") {
			continue
		}
		if best == "" || a.AttachStatus < best {
			best = a.AttachStatus
		}
	}
	switch best {
	case "", AttachDetached:
		return VolumeAvailable, AttachDetached
	case AttachAttached:
		return VolumeInUse, AttachAttached
	}
	return VolumeStatus(best), best
}

// finishDetach is Cinder's volume_detached and finish_detach: attachment
// id of vol (if it is there) deleted, vol's attached_mode gone, and its
// attach status (and status, unless it is uploading without any
// attachment left) following the attachments left.
func (s *Store) finishDetach(ctx context.Context, tx *sqlstore.Tx, vol *Volume, id string) error {
	if i := slices.IndexFunc(vol.Attachments, func(a Attachment) bool { return a.ID == id }); i >= 0 {
		a := vol.Attachments[i]
		now := s.now()
		a.AttachStatus, a.DetachTime, a.DeletedAt = AttachDetached, &now, &now
		if err := s.saveAttachment(ctx, tx, &a, watch.Delete); err != nil {
			return err
		}
		if err := refreshAttachments(ctx, tx, vol); err != nil {
			return err
		}
	}
	vol.AttachedMode = ""
	status, attach := attachmentStatuses(vol.Attachments)
	vol.AttachStatus = attach
	if attach != AttachDetached || vol.Status != VolumeUploading {
		setStatus(vol, status)
	}
	return nil
}

// refreshAttachments reads vol's attachments again.
func refreshAttachments(ctx context.Context, tx *sqlstore.Tx, vol *Volume) error {
	vs := []Volume{{ID: vol.ID, Attachments: []Attachment{}}}
	if err := fillAttachments(ctx, tx, vs); err != nil {
		return err
	}
	vol.Attachments = vs[0].Attachments
	return nil
}

// saveAttachment writes a (an insert for op Create) and records it on
// the feed.
func (s *Store) saveAttachment(ctx context.Context, tx *sqlstore.Tx, a *Attachment, op watch.Op) error {
	a.UpdatedAt = s.now()
	connector, err := jsonText(a.Connector)
	if err != nil {
		return err
	}
	info, err := jsonText(a.ConnectionInfo)
	if err != nil {
		return err
	}
	args := []any{a.VolumeID, nullText(a.InstanceUUID), nullText(a.AttachedHost), nullText(a.Mountpoint), nullText(a.AttachMode),
		string(a.AttachStatus), connector, info, nullMicros(a.AttachTime), nullMicros(a.DetachTime), a.UpdatedAt.UnixMicro(),
		nullMicros(a.DeletedAt), a.ID}
	if op == watch.Create {
		_, err = tx.Exec(ctx, `INSERT INTO storage_attachments (volume_id, instance_uuid, attached_host, mountpoint, attach_mode,
			attach_status, connector, connection_info, attach_time, detach_time, updated_at, deleted_at, id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, a.CreatedAt.UnixMicro())...)
	} else {
		_, err = tx.Exec(ctx, `UPDATE storage_attachments SET volume_id = ?, instance_uuid = ?, attached_host = ?, mountpoint = ?,
			attach_mode = ?, attach_status = ?, connector = ?, connection_info = ?, attach_time = ?, detach_time = ?,
			updated_at = ?, deleted_at = ? WHERE id = ?`, args...)
	}
	if err != nil {
		return fmt.Errorf("storage: write attachment %s: %w", a.ID, err)
	}
	return s.record(ctx, tx, "attachment", a.ID, a.ProjectID, op, a.feedCopy())
}

// jsonText is m as JSON text, nil (NULL) for nil.
func jsonText(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, invalidInput("a connector must be JSON: %v", err)
	}
	return string(b), nil
}

// nullText is s, NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}
