package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/kit/crashpoint"
)

// delete is the deleting task: the guest is destroyed (nothing when it
// is gone already), the instance's files removed, the instance reported
// deleted. A failure is retried at the next periodic Sync; it reports
// false then.
func (a *Agent) delete(ctx context.Context, i compute.Instance) bool {
	if err := a.Driver.Destroy(ctx, i.UUID); err != nil {
		if ctx.Err() == nil {
			a.log().Warn("compute agent: destroy failed; retrying at the next sync", "instance", i.UUID, "err", err)
		}
		return false
	}
	crashpoint.Hit("compute.agent.destroyed")
	if err := os.RemoveAll(a.instanceDir(i.UUID)); err != nil {
		a.log().Warn("compute agent: remove the instance's files; retrying at the next sync", "instance", i.UUID, "err", err)
		return false
	}
	if i.RootVolume() == nil {
		if err := a.removeRBDDisk(ctx, i.UUID); err != nil {
			a.log().Warn("compute agent: retrying at the next sync", "instance", i.UUID, "err", err)
			return false
		}
	}
	a.mu.Lock()
	delete(a.consoles, i.UUID)
	a.mu.Unlock()
	err := a.reportInstance(ctx, i.UUID, compute.InstanceReport{Task: compute.Deleting, VMState: compute.Deleted,
		PowerState: virt.PowerNoState, Deleted: true})
	if err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report a delete", "instance", i.UUID, "err", err)
		}
		return false
	}
	a.log().Info("compute agent: deleted", "instance", i.UUID)
	return true
}

// power is a power task (stop, start, reboots, pause, suspend and their
// undoing): the driver acts, and the instance is reported in the
// vm_state the task leads to with the guest's power state. As Nova's
// compute manager: an action that fails, or that the driver cannot do
// (Nova's API refuses those earlier), leaves the instance in its
// vm_state with no task, logged; a reboot that fails with the guest not
// running puts it in error.
func (a *Agent) power(ctx context.Context, i compute.Instance) bool {
	start := time.Now()
	end, err := a.act(ctx, i)
	if ctx.Err() != nil {
		return true
	}
	p, serr := a.Driver.State(ctx, i.UUID)
	if serr != nil {
		a.log().Warn("compute agent: power state", "instance", i.UUID, "err", serr)
		p = i.PowerState
	}
	rep := compute.InstanceReport{Task: i.TaskState, VMState: end, PowerState: p}
	switch {
	case err == nil:
	case errors.Is(err, virt.ErrNotSupported):
		a.log().Warn("compute agent: the driver cannot do this; the instance stays as it was", "instance", i.UUID,
			"task", i.TaskState, "err", err)
		rep.VMState = i.VMState
	case isReboot(i.TaskState) && p != virt.PowerRunning:
		a.log().Error("compute agent: cannot reboot instance", "instance", i.UUID, "err", err)
		rep.Fault = &compute.Fault{Code: 500, Message: fmt.Sprintf("Cannot reboot instance: %s", err)}
	default:
		a.log().Warn("compute agent: task failed; the instance stays as it was", "instance", i.UUID, "task", i.TaskState, "err", err)
		rep.VMState = i.VMState
	}
	if err := a.reportInstance(ctx, i.UUID, rep); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report a task", "instance", i.UUID, "task", i.TaskState, "err", err)
		}
		return false
	}
	a.log().Info("compute agent: task done", "instance", i.UUID, "task", i.TaskState, "vm_state", rep.VMState,
		"power_state", p, "took", time.Since(start))
	return true
}

func isReboot(t compute.TaskState) bool { return t == compute.Rebooting || t == compute.RebootingHard }

// act has the driver do i's task, and returns the vm_state it leads to.
func (a *Agent) act(ctx context.Context, i compute.Instance) (compute.VMState, error) {
	d, id := a.Driver, i.UUID
	switch i.TaskState {
	case compute.PoweringOff:
		// Clean, as Nova's stop: the guest has ShutdownTimeout to go
		// by itself, then it is turned off.
		sctx, cancel := context.WithTimeout(ctx, a.Config.ShutdownTimeout)
		defer cancel()
		return compute.Stopped, d.PowerOff(sctx, id, true)
	case compute.PoweringOn:
		return compute.Active, d.PowerOn(ctx, id)
	case compute.Rebooting:
		return compute.Active, a.softReboot(ctx, id)
	case compute.RebootingHard:
		return compute.Active, d.Reboot(ctx, id, true)
	case compute.Pausing:
		return compute.Paused, virt.Pause(ctx, d, id)
	case compute.Unpausing:
		return compute.Active, virt.Unpause(ctx, d, id)
	case compute.Suspending:
		return compute.Suspended, virt.Suspend(ctx, d, id)
	case compute.Resuming:
		return compute.Active, virt.Resume(ctx, d, id)
	}
	return i.VMState, fmt.Errorf("task %q: %w", i.TaskState, virt.ErrNotSupported)
}

// softReboot is Nova's soft reboot: the guest has ShutdownTimeout to
// shut down and is started again; if that fails it is rebooted hard
// (Nova's libvirt driver falls back the same way).
func (a *Agent) softReboot(ctx context.Context, id string) error {
	sctx, cancel := context.WithTimeout(ctx, a.Config.ShutdownTimeout)
	err := a.Driver.Reboot(sctx, id, false)
	cancel()
	if err == nil || ctx.Err() != nil {
		return err
	}
	a.log().Info("compute agent: soft reboot failed, rebooting hard", "instance", id, "err", err)
	return a.Driver.Reboot(ctx, id, true)
}
