package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
)

// detachTimeout bounds how long a detach waits for a running guest to
// let its NIC go (Nova's libvirt driver tries for about as long).
const detachTimeout = 60 * time.Second

// iface does the interface operation under way on i, an instance with
// no task (Nova's compute manager's attach_interface and
// detach_interface): the driver hot-plugs or unplugs the port's NIC and
// the agent reports. An attach that fails is undone before the report,
// so the port the controller then releases is in no guest's definition.
// A task that comes meanwhile cancels it; it runs again once the
// instance is idle, and the driver's idempotence finishes what was
// begun.
func (a *Agent) iface(ctx context.Context, i compute.Instance) bool {
	if x := i.PendingVolume(); x != nil {
		return a.volume(ctx, i, *x)
	}
	p := i.PendingPort()
	if p == nil {
		return true
	}
	gp := virt.GuestPort{ID: p.ID, MAC: p.MAC, Bridge: a.Config.Bridge, MTU: p.MTU}
	start := time.Now()
	var err error
	switch p.Pending {
	case compute.PortAttaching:
		err = virt.AttachInterface(ctx, a.Driver, i.UUID, gp)
		if err == nil {
			// A driver that plugs its own ports (libvirt) has not waited
			// for it, as after a spawn.
			err = a.waitActive(ctx, p.ID)
		}
		if err != nil && ctx.Err() == nil {
			dctx, cancel := context.WithTimeout(ctx, detachTimeout)
			derr := virt.DetachInterface(dctx, a.Driver, i.UUID, p.ID)
			cancel()
			if derr != nil && ctx.Err() == nil {
				// The NIC may be in the guest's definition still: no
				// report, or the port would be released under it. The
				// next sync tries the attach again.
				a.log().Warn("compute agent: an attach failed and could not be undone; trying again at the next sync", "instance", i.UUID,
					"port", p.ID, "err", err, "undo", derr)
				return false
			}
		}
	case compute.PortDetaching:
		dctx, cancel := context.WithTimeout(ctx, detachTimeout)
		err = virt.DetachInterface(dctx, a.Driver, i.UUID, p.ID)
		cancel()
	default:
		a.log().Warn("compute agent: unknown interface operation; left as it is", "instance", i.UUID, "port", p.ID, "pending", p.Pending)
		return false
	}
	if ctx.Err() != nil {
		return true // moved on: the next Sync acts on what it is now
	}
	rep := compute.InterfaceReport{Op: p.Pending, Done: err == nil}
	if err != nil {
		rep.Error = err.Error()
		a.log().Error("compute agent: interface operation failed", "instance", i.UUID, "port", p.ID, "op", p.Pending, "err", err)
	}
	if err := a.reportInterface(ctx, i.UUID, p.ID, rep); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report an interface operation", "instance", i.UUID, "port", p.ID, "err", err)
		}
		return false
	}
	if rep.Done {
		a.log().Info("compute agent: interface "+map[string]string{compute.PortAttaching: "attached", compute.PortDetaching: "detached"}[p.Pending],
			"instance", i.UUID, "port", p.ID, "took", time.Since(start))
	}
	return true
}

// reportInterface sends an interface report.
func (a *Agent) reportInterface(ctx context.Context, id, port string, r compute.InterfaceReport) error {
	return a.reportOp(ctx, id, "/interfaces/"+url.PathEscape(port), "port", port, r)
}

// reportOp sends the report of an interface or volume operation as
// reportInstance sends a task's: retried while the failure may pass; a
// 409 or 404 (the operation or the instance moved on) ends it quietly.
func (a *Agent) reportOp(ctx context.Context, id, suffix, kind, name string, r compute.InterfaceReport) error {
	var bo backoff
	for {
		err := a.put(ctx, "/instances/"+url.PathEscape(id)+suffix, r)
		switch s := status(err); {
		case err == nil:
			return nil
		case s == http.StatusConflict || s == http.StatusNotFound:
			a.log().Info("compute agent: report refused, the instance moved on", "instance", id, kind, name, "status", s)
			return nil
		case lasting(err) || ctx.Err() != nil:
			return err
		}
		a.log().Warn("compute agent: report failed; retrying", "instance", id, kind, name, "err", err)
		if !bo.sleep(ctx) {
			return ctx.Err()
		}
	}
}

// volume does the volume operation under way on i (Nova's compute
// manager's attach_volume and detach_volume): for an attach, the
// connection info the controller gets from Cinder with this host's
// connector, then the driver's hot-plug; for a detach, the driver's
// unplug; then the report, after which the controller completes or
// deletes the Cinder attachment. An attach that fails is undone in the
// guest before its report.
func (a *Agent) volume(ctx context.Context, i compute.Instance, x compute.InstanceVolume) bool {
	start := time.Now()
	var err error
	switch x.Pending {
	case compute.PortAttaching:
		err = a.attachVolume(ctx, i, x)
		if err != nil && ctx.Err() == nil {
			dctx, cancel := context.WithTimeout(ctx, detachTimeout)
			derr := virt.DetachVolume(dctx, a.Driver, i.UUID, x.VolumeID)
			cancel()
			if derr != nil && ctx.Err() == nil {
				a.log().Warn("compute agent: a volume attach failed and could not be undone; trying again at the next sync", "instance", i.UUID,
					"volume", x.VolumeID, "err", err, "undo", derr)
				return false
			}
		}
	case compute.PortDetaching:
		dctx, cancel := context.WithTimeout(ctx, detachTimeout)
		err = virt.DetachVolume(dctx, a.Driver, i.UUID, x.VolumeID)
		cancel()
	case compute.VolumeExtending:
		// Nova's extend_volume: the guest's QEMU re-reads the volume's
		// size from its target (which the volume's agent grew).
		err = virt.ResizeVolume(ctx, a.Driver, i.UUID, x.VolumeID, x.ExtendTo)
	default:
		a.log().Warn("compute agent: unknown volume operation; left as it is", "instance", i.UUID, "volume", x.VolumeID, "pending", x.Pending)
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	rep := compute.VolumeReport{Op: x.Pending, Done: err == nil}
	if err != nil {
		rep.Error = err.Error()
		a.log().Error("compute agent: volume operation failed", "instance", i.UUID, "volume", x.VolumeID, "op", x.Pending, "err", err)
	}
	if err := a.reportVolume(ctx, i.UUID, x.VolumeID, rep); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report a volume operation", "instance", i.UUID, "volume", x.VolumeID, "err", err)
		}
		return false
	}
	if rep.Done {
		a.log().Info("compute agent: volume "+map[string]string{compute.PortAttaching: "attached", compute.PortDetaching: "detached",
			compute.VolumeExtending: "extended"}[x.Pending],
			"instance", i.UUID, "volume", x.VolumeID, "device", x.Device, "took", time.Since(start))
	}
	return true
}

// initiatorPrefix names this host's iSCSI initiator.
const initiatorPrefix = "iqn.2010-10.org.gostack:"

// InitiatorName is this host's iSCSI initiator name, which its
// connector gives the volume service: the drivers' QEMU initiators must
// log in with it, since a backend may export a volume to the initiators
// of its attachments only (storage's initiator_acl).
func (a *Agent) InitiatorName() string { return initiatorPrefix + a.Config.Host }

// attachVolume gets x's connection info from the controller and has the
// driver attach the volume.
func (a *Agent) attachVolume(ctx context.Context, i compute.Instance, x compute.InstanceVolume) error {
	disk, err := a.connectVolume(ctx, i, x)
	if err != nil {
		return err
	}
	return virt.AttachVolume(ctx, a.Driver, i.UUID, disk)
}

// connectVolume gives x's attachment this host's connector, through the
// controller, and returns the volume as the guest's disk (its serial the
// volume id).
func (a *Agent) connectVolume(ctx context.Context, i compute.Instance, x compute.InstanceVolume) (virt.Disk, error) {
	connector := map[string]any{"host": a.Config.Host, "initiator": a.InitiatorName(), "platform": "x86_64",
		"os_type": "linux", "multipath": false, "do_local_attach": false}
	if a.Config.HostIP != "" {
		connector["ip"] = a.Config.HostIP
	}
	u, err := a.hostURL(ctx, "/instances/"+url.PathEscape(i.UUID)+"/volumes/"+url.PathEscape(x.VolumeID)+"/connect")
	if err != nil {
		return virt.Disk{}, err
	}
	var out struct {
		ConnectionInfo map[string]any `json:"connection_info"`
	}
	if err := a.Session.Do(ctx, http.MethodPut, u, map[string]any{"connector": connector}, &out); err != nil {
		return virt.Disk{}, fmt.Errorf("connect volume %s: %w", x.VolumeID, err)
	}
	disk, err := virt.VolumeDisk(out.ConnectionInfo)
	if err != nil {
		return virt.Disk{}, err
	}
	disk.Serial = x.VolumeID
	return disk, nil
}

// reportVolume sends a volume report.
func (a *Agent) reportVolume(ctx context.Context, id, volume string, r compute.VolumeReport) error {
	return a.reportOp(ctx, id, "/volumes/"+url.PathEscape(volume), "volume", volume, r)
}
