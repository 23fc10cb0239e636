package compute

import (
	"context"
	"fmt"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Volume attach and detach (Nova's os-volume_attachments), kept as the
// interfaces are: the instance's volumes are the desired state, a volume
// being attached is in Volumes marked attaching (with the Cinder
// attachment the API reserved), one being detached is marked detaching;
// the host's agent connects and hot-plugs it (or unplugs it) and
// reports; the API completes or deletes the Cinder attachment around
// the report. One interface or volume operation runs at a time per
// instance.

// InstanceVolume is a volume attached to an instance (Nova's block
// device mapping of a volume).
type InstanceVolume struct {
	VolumeID string `json:"volume_id"`
	// AttachmentID is its Cinder attachment.
	AttachmentID string `json:"attachment_id"`
	// ID is the mapping's own uuid (Nova's bdm uuid, 2.89).
	ID string `json:"id"`
	// Device is the device name Nova answers ("/dev/vdb"); the guest
	// may name it otherwise.
	Device              string `json:"device"`
	Tag                 string `json:"tag,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	// Pending is the operation under way: PortAttaching, PortDetaching
	// (the same words as the ports'), or "".
	Pending string `json:"pending,omitempty"`
	// Root marks the instance's root disk (Nova's boot_index 0 volume:
	// boot from volume). It is attached by the build, not hot-plugged,
	// and never detached. Its AttachmentID is "" until the builder
	// reserves it: a volume the server's create made (from an image, a
	// snapshot) is reserved once it is available.
	Root bool `json:"root,omitempty"`
	// ExtendTo is the size (bytes) the volume grew to, while Pending is
	// VolumeExtending.
	ExtendTo int64 `json:"extend_to,omitempty"`
	// Source is what a root volume the builder makes is made from (Nova's
	// source_type image or snapshot); nil for a volume that existed. The
	// volume's id (VolumeID) is chosen at the server's create, so a
	// builder that stopped half-way finds the volume it made.
	Source *VolumeSource `json:"source,omitempty"`
}

// VolumeSource is what a server's new root volume is made from.
type VolumeSource struct {
	// Type is "image" or "snapshot"; ID its uuid.
	Type string `json:"type"`
	ID   string `json:"id"`
	// Size is the volume's size in GiB (0: the snapshot's).
	Size       int64  `json:"size,omitempty"`
	VolumeType string `json:"volume_type,omitempty"`
}

// RootVolume is the instance's root volume (boot from volume), nil for
// an instance booted from an image.
func (i Instance) RootVolume() *InstanceVolume {
	for k := range i.Volumes {
		if i.Volumes[k].Root {
			return &i.Volumes[k]
		}
	}
	return nil
}

// VolumeInfo is a volume as compute reads it from the block-storage
// service.
type VolumeInfo struct {
	ID, Status       string
	AvailabilityZone string
	Size             int64 // GiB
	Bootable         bool
	Multiattach      bool
}

// VolumeSpec is a volume a server's create asks the block-storage
// service to make (Nova's boot from volume of an image, a snapshot, or
// a blank volume): Size GiB, from ImageID or SnapshotID (neither for a
// blank one), of VolumeType ("" for the default) in AvailabilityZone
// ("" for the default).
type VolumeSpec struct {
	// ID is the new volume's id ("" for a random one).
	ID                  string
	Size                int64
	ImageID, SnapshotID string
	VolumeType          string
	AvailabilityZone    string
}

// Events of the volume operations (compute_<method>).
const (
	EventAttachVolume = "compute_attach_volume"
	EventDetachVolume = "compute_detach_volume"
	EventExtendVolume = "compute_extend_volume"
)

// Volumes is the block-storage service as compute uses it (Nova's
// Cinder API, the v3 attachment flow). The composition passes the
// storage area's; an embedder passes its own.
type Volumes interface {
	// Reserve makes an attachment of volume for instance, as project
	// sees the volume (Cinder's attachment_create without a connector:
	// the volume is reserved). It returns the attachment's id.
	Reserve(ctx context.Context, project, volume, instance string) (string, error)
	// Connect gives the attachment the host's connector and returns the
	// connection info ({"driver_volume_type", "data"}), secrets
	// included: for the host's agent only.
	Connect(ctx context.Context, attachment string, connector map[string]any) (map[string]any, error)
	// Complete marks the attachment attached (the volume in-use).
	Complete(ctx context.Context, attachment string) error
	// Release deletes the attachment (the volume detached); an
	// attachment that is gone is not an error.
	Release(ctx context.Context, attachment string) error
	// Delete deletes a volume (delete_on_termination).
	Delete(ctx context.Context, volume string) error
	// ReleaseInstance deletes every attachment of instance: those a
	// controller's death between a reserve and its record left behind.
	ReleaseInstance(ctx context.Context, instance string) error
	// Volume is volume id as project sees it ("" for any project's:
	// the controller's own reads), Cinder's VolumeNotFound otherwise.
	Volume(ctx context.Context, project, id string) (VolumeInfo, error)
	// SnapshotSize is the size (GiB) of snapshot id as project sees it.
	SnapshotSize(ctx context.Context, project, id string) (int64, error)
	// Create makes a volume of project (a server's root volume); it is
	// available once the block-storage service made it.
	Create(ctx context.Context, project string, s VolumeSpec) (VolumeInfo, error)
}

// The state rules of Nova's attach_volume and detach_volume, less
// resized: a revert goes back to the source's guest, which would not
// have the change.
var (
	attachVolume = withoutResized(Actions["attach_volume"])
	detachVolume = withoutResized(Actions["detach_volume"])
)

func withoutResized(a Action) Action {
	a.VM = slices.DeleteFunc(slices.Clone(a.VM), func(s VMState) bool { return s == Resized })
	return a
}

// PendingVolume is the volume an operation is under way on, nil for
// none.
func (i Instance) PendingVolume() *InstanceVolume {
	for k := range i.Volumes {
		if i.Volumes[k].Pending != "" {
			return &i.Volumes[k]
		}
	}
	return nil
}

// busy refuses a second interface or volume operation on i.
func busy(i *Instance) error {
	if p := i.PendingPort(); p != nil {
		return &fault.Error{Kind: fault.Conflict, Type: TypeInterfaceBusy,
			Message: "Instance " + i.UUID + " is busy: port " + p.ID + " is being " + pendingVerb(p.Pending) + "."}
	}
	if v := i.PendingVolume(); v != nil {
		return &fault.Error{Kind: fault.Conflict, Type: TypeInterfaceBusy,
			Message: "Instance " + i.UUID + " is busy: volume " + v.VolumeID + " is being " + pendingVerb(v.Pending) + "."}
	}
	return nil
}

// CheckAttachVolume is AttachVolume's check without the write: the
// API's refusal before it reserves the volume.
func (s *Store) CheckAttachVolume(ctx context.Context, v Viewer, id, volume string) (Instance, error) {
	i, err := s.Instance(ctx, v, id)
	if err != nil {
		return i, err
	}
	if err := checkInterface(v, &i, attachVolume); err != nil {
		return i, err
	}
	if slices.ContainsFunc(i.Volumes, func(x InstanceVolume) bool { return x.VolumeID == volume }) {
		return i, novaError(fault.BadRequest, "InvalidVolume", "Invalid volume: volume %s already attached", volume)
	}
	return i, nil
}

// AttachVolume adds volume x (reserved in Cinder by the caller, who
// deletes the attachment when this fails) to instance id marked
// attaching, with the next free device name when x has none, and
// records the attach_volume action with its event on the host.
func (s *Store) AttachVolume(ctx context.Context, v Viewer, id string, x InstanceVolume) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if err := checkInterface(v, i, attachVolume); err != nil {
			return err
		}
		for _, o := range i.Volumes {
			if o.VolumeID == x.VolumeID {
				return novaError(fault.BadRequest, "InvalidVolume", "Invalid volume: volume %s already attached", x.VolumeID)
			}
			if x.Device != "" && o.Device == x.Device {
				return novaError(fault.Conflict, "DevicePathInUse", "The supplied device path (%s) is in use.", x.Device)
			}
		}
		if x.Device == "" {
			x.Device = nextDevice(i.Volumes)
		}
		x.Pending = PortAttaching
		i.Volumes = append(i.Volumes, x)
		return s.startInterfaceAction(ctx, tx, *i, attachVolume, EventAttachVolume)
	})
}

// nextDevice is the first /dev/vdX after the root disk (vda) that no
// volume has.
func nextDevice(vols []InstanceVolume) string {
	for c := 'b'; c <= 'z'; c++ {
		d := "/dev/vd" + string(c)
		if !slices.ContainsFunc(vols, func(x InstanceVolume) bool { return x.Device == d }) {
			return d
		}
	}
	return ""
}

// DetachVolume marks volume of instance id detaching and records the
// detach_volume action; a volume the instance does not have is Nova's
// 404 VolumeAttachmentNotFound.
func (s *Store) DetachVolume(ctx context.Context, v Viewer, id, volume string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if err := checkInterface(v, i, detachVolume); err != nil {
			return err
		}
		k := slices.IndexFunc(i.Volumes, func(x InstanceVolume) bool { return x.VolumeID == volume })
		if k < 0 {
			return novaError(fault.NotFound, "VolumeBDMNotFound", "Instance %s is not attached to volume %s", id, volume)
		}
		if i.Volumes[k].Root {
			return novaError(fault.BadRequest, "RootVolume", "Cannot detach a root device volume")
		}
		i.Volumes[k].Pending = PortDetaching
		return s.startInterfaceAction(ctx, tx, *i, detachVolume, EventDetachVolume)
	})
}

// VolumeExtended is Nova's volume-extended external event: volume of
// instance id grew to size bytes in the block-storage service, and the
// instance's host is to tell the guest (marked VolumeExtending, the
// extend_volume action recorded with its event). An instance with no
// host has no guest to tell: nothing is marked. A volume the instance
// does not have is Nova's 404; an operation under way on the instance
// is a 409 (Cinder's event is sent again by its caller).
func (s *Store) VolumeExtended(ctx context.Context, id, volume string, size int64) (Instance, error) {
	if size <= 0 {
		return Instance{}, novaError(fault.BadRequest, "InvalidInput", "Invalid input: a volume's new size must be positive.")
	}
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		k := slices.IndexFunc(i.Volumes, func(x InstanceVolume) bool { return x.VolumeID == volume })
		if k < 0 {
			return novaError(fault.NotFound, "VolumeBDMNotFound", "Instance %s is not attached to volume %s", id, volume)
		}
		if i.Host == "" {
			return errUnchanged
		}
		if err := busy(i); err != nil {
			return err
		}
		i.Volumes[k].Pending, i.Volumes[k].ExtendTo = VolumeExtending, size
		return s.startInterfaceAction(ctx, tx, *i, Actions["extend_volume"], EventExtendVolume)
	})
}

// VolumeReport is a host agent's report of a volume operation, as
// InterfaceReport is of an interface's.
type VolumeReport = InterfaceReport

// CheckVolumeReport is ReportVolume's check without the write: the
// volume's operation is op on instance id, placed on host. It returns
// the volume as the instance has it.
func (s *Store) CheckVolumeReport(ctx context.Context, host, id, volume string, r VolumeReport) (InstanceVolume, error) {
	is, err := getInstance(ctx, s.db, "uuid = ? AND deleted_at IS NULL", id)
	if err != nil {
		return InstanceVolume{}, err
	}
	if len(is) == 0 || is[0].Host != host {
		return InstanceVolume{}, instanceNotFound(id)
	}
	x, err := pendingVolume(is[0], volume, r.Op)
	if err != nil {
		return InstanceVolume{}, err
	}
	return *x, nil
}

func pendingVolume(i Instance, volume, op string) (*InstanceVolume, error) {
	k := slices.IndexFunc(i.Volumes, func(x InstanceVolume) bool { return x.VolumeID == volume })
	if k < 0 || i.Volumes[k].Pending == "" || i.Volumes[k].Pending != op {
		return nil, novaError(fault.Conflict, "UnexpectedVolumeState", "Volume %s of instance %s is not being %s.", volume, i.UUID, pendingVerb(op))
	}
	return &i.Volumes[k], nil
}

// ReportVolume applies a host agent's report on volume of instance id:
// the mark is cleared, or the volume leaves Volumes (a detach done, an
// attach failed); the operation's event ends.
func (s *Store) ReportVolume(ctx context.Context, host, id, volume string, r VolumeReport) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.Host != host {
			return instanceNotFound(id)
		}
		x, err := pendingVolume(*i, volume, r.Op)
		if err != nil {
			return err
		}
		event, msg := EventAttachVolume, fmt.Sprintf("Failed to attach volume %s to instance %s", volume, id)
		switch x.Pending {
		case PortDetaching:
			event, msg = EventDetachVolume, fmt.Sprintf("Failed to detach volume %s from instance %s", volume, id)
		case VolumeExtending:
			event, msg = EventExtendVolume, fmt.Sprintf("Failed to extend volume %s of instance %s", volume, id)
		}
		if leaves(x.Pending, r) {
			i.Volumes = slices.DeleteFunc(i.Volumes, func(o InstanceVolume) bool { return o.VolumeID == volume })
		} else {
			x.Pending, x.ExtendTo = "", 0
		}
		end := eventEnd{}
		if r.Error != "" {
			end = eventEnd{err: true, details: msg, traceback: r.Error}
		}
		return finishEvents(ctx, tx, id, event, end, s.now())
	})
}

// SetRootAttachment records the Cinder attachment the builder reserved
// for instance id's root volume, which had none; the instance must
// still wait for a host (building, scheduling).
func (s *Store) SetRootAttachment(ctx context.Context, id, volume, attachment string) (Instance, error) {
	return s.writeInstance(ctx, id, func(_ *sqlstore.Tx, i *Instance) error {
		x := i.RootVolume()
		if x == nil || x.VolumeID != volume {
			return novaError(fault.Conflict, "UnexpectedVolumeState", "Volume %s is not the root volume of instance %s.", volume, id)
		}
		if i.VMState != Building || i.TaskState != Scheduling {
			return novaError(fault.Conflict, "InstanceInvalidState", "Instance %s is not waiting for a host.", id)
		}
		if x.AttachmentID != "" {
			return novaError(fault.Conflict, "UnexpectedVolumeState", "The root volume %s of instance %s is reserved already.", volume, id)
		}
		x.AttachmentID = attachment
		return nil
	})
}

// CheckHostConnect is the check of a host's connect of instance id's
// volume when the host builds the instance's guest: a build there (its
// reserved volumes: a boot from volume's root), the destination's part
// of a move (resize_finish:
// each of its volumes, connected with the destination's connector), or
// the source's part of a revert (resize_reverting, back on host). It
// returns the volume as the instance has it.
func (s *Store) CheckHostConnect(ctx context.Context, host, id, volume string) (InstanceVolume, error) {
	is, err := getInstance(ctx, s.db, "uuid = ? AND deleted_at IS NULL", id)
	if err != nil {
		return InstanceVolume{}, err
	}
	if len(is) == 0 || is[0].Host != host {
		return InstanceVolume{}, instanceNotFound(id)
	}
	i := is[0]
	k := slices.IndexFunc(i.Volumes, func(x InstanceVolume) bool { return x.VolumeID == volume })
	if k < 0 || i.Volumes[k].AttachmentID == "" || i.Volumes[k].Pending != "" {
		return InstanceVolume{}, novaError(fault.Conflict, "UnexpectedVolumeState", "Volume %s is not a reserved volume of instance %s.", volume, id)
	}
	x := i.Volumes[k]
	building := i.VMState == Building
	moving := i.TaskState == ResizeFinish || i.TaskState == ResizeReverting
	if !building && !moving {
		return InstanceVolume{}, novaError(fault.Conflict, "InstanceInvalidState", "Instance %s is not being built or moved here.", id)
	}
	return x, nil
}
