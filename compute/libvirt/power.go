//go:build cgo

package libvirt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"libvirt.org/go/libvirt"
)

// shutdownPoll is how often a clean PowerOff looks whether the guest
// has stopped.
const shutdownPoll = 200 * time.Millisecond

// PowerOn starts a guest that is off (restoring its managed save image
// if it has one); a guest that is on is left as it is.
func (d *Driver) PowerOn(ctx context.Context, id string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		active, err := dom.IsActive()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		if active {
			return nil
		}
		if err := dom.Create(); err != nil {
			return wrap(err, "start %s", id)
		}
		return nil
	})
}

// PowerOff stops a guest. Clean, it presses the ACPI power button
// (libvirt's shutdown with no guest agent) and waits until ctx's
// deadline, or Config.ShutdownTimeout when ctx has none, then turns the
// guest off; a paused guest is turned off at once. A cancelled ctx stops
// the wait and returns its error, leaving the guest as it is.
func (d *Driver) PowerOff(ctx context.Context, id string, clean bool) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		if st == libvirt.DOMAIN_SHUTOFF || st == libvirt.DOMAIN_CRASHED {
			return nil
		}
		if clean && st != libvirt.DOMAIN_PAUSED {
			if err := dom.Shutdown(); err != nil {
				d.cfg.Log.Warn("compute/libvirt: clean shutdown refused, turning off", "id", id, "err", err)
			} else {
				stopped, err := d.waitOff(ctx, dom, id)
				if stopped || err != nil {
					return err
				}
				d.cfg.Log.Info("compute/libvirt: guest did not shut down in time, turning off", "id", id)
			}
		}
		return hardOff(dom, id)
	})
}

// waitOff waits until a domain is inactive (true), ctx's deadline or the
// shutdown timeout passes (false), or ctx is cancelled (its error).
func (d *Driver) waitOff(ctx context.Context, dom *libvirt.Domain, id string) (bool, error) {
	wait, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		wait, cancel = context.WithTimeout(ctx, d.cfg.ShutdownTimeout)
	}
	defer cancel()
	tick := time.NewTicker(shutdownPoll)
	defer tick.Stop()
	for {
		active, err := dom.IsActive()
		if err != nil {
			return false, wrap(err, "state of %s", id)
		}
		if !active {
			return true, nil
		}
		select {
		case <-tick.C:
		case <-wait.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return false, ctx.Err()
			}
			return false, nil
		}
	}
}

// Reboot restarts a guest. Soft, it asks a running guest to reboot
// (ACPI; libvirt resets it when it powers off) and returns; hard, as
// Nova's, it turns the guest off whatever its state, drops a managed
// save image and starts it again.
func (d *Driver) Reboot(ctx context.Context, id string, hard bool) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		if !hard {
			st, _, err := dom.GetState()
			if err != nil {
				return wrap(err, "state of %s", id)
			}
			if st != libvirt.DOMAIN_RUNNING {
				return fmt.Errorf("%w: soft reboot of %s, which is %s", ErrPowerState, id, stateName(st))
			}
			if err := dom.Reboot(0); err != nil {
				return wrap(err, "reboot %s", id)
			}
			return nil
		}
		if err := hardOff(dom, id); err != nil {
			return err
		}
		if saved, err := dom.HasManagedSaveImage(0); err != nil {
			return wrap(err, "managed save image of %s", id)
		} else if saved {
			if err := dom.ManagedSaveRemove(0); err != nil {
				return wrap(err, "remove the managed save image of %s", id)
			}
		}
		if err := dom.Create(); err != nil {
			return wrap(err, "start %s", id)
		}
		return nil
	})
}

// Pause stops a running guest's CPUs; a paused guest stays paused.
func (d *Driver) Pause(ctx context.Context, id string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		switch st {
		case libvirt.DOMAIN_PAUSED:
			return nil
		case libvirt.DOMAIN_RUNNING, libvirt.DOMAIN_BLOCKED:
			if err := dom.Suspend(); err != nil {
				return wrap(err, "pause %s", id)
			}
			return nil
		}
		return fmt.Errorf("%w: pause %s, which is %s", ErrPowerState, id, stateName(st))
	})
}

// Unpause runs a paused guest's CPUs again; a running guest is left as
// it is.
func (d *Driver) Unpause(ctx context.Context, id string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		switch st {
		case libvirt.DOMAIN_RUNNING, libvirt.DOMAIN_BLOCKED:
			return nil
		case libvirt.DOMAIN_PAUSED:
			if err := dom.Resume(); err != nil {
				return wrap(err, "unpause %s", id)
			}
			return nil
		}
		return fmt.Errorf("%w: unpause %s, which is %s", ErrPowerState, id, stateName(st))
	})
}

// Suspend saves a guest's memory to libvirt's managed save image and
// stops it (State is then PowerShutdown, as Nova sees it). A guest
// already saved is left as it is.
func (d *Driver) Suspend(ctx context.Context, id string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		switch st {
		case libvirt.DOMAIN_RUNNING, libvirt.DOMAIN_BLOCKED, libvirt.DOMAIN_PAUSED:
			if err := dom.ManagedSave(0); err != nil {
				return wrap(err, "suspend %s", id)
			}
			return nil
		}
		if saved, err := dom.HasManagedSaveImage(0); err != nil {
			return wrap(err, "managed save image of %s", id)
		} else if saved {
			return nil
		}
		return fmt.Errorf("%w: suspend %s, which is %s", ErrPowerState, id, stateName(st))
	})
}

// Resume starts a suspended guest from its managed save image; a
// running guest is left as it is.
func (d *Driver) Resume(ctx context.Context, id string) error {
	return d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		if st == libvirt.DOMAIN_RUNNING || st == libvirt.DOMAIN_BLOCKED {
			return nil
		}
		saved, err := dom.HasManagedSaveImage(0)
		if err != nil {
			return wrap(err, "managed save image of %s", id)
		}
		if !saved {
			return fmt.Errorf("%w: resume %s, which is %s and was not suspended", ErrPowerState, id, stateName(st))
		}
		if err := dom.Create(); err != nil {
			return wrap(err, "resume %s", id)
		}
		return nil
	})
}

// ConsoleLog is the end of the guest's serial console output, at most
// 100 KiB (Nova's limit), as libvirt's virtlogd wrote it to
// StateDir/<id>/console.log.
func (d *Driver) ConsoleLog(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := d.with(ctx, id, func(_ *libvirt.Domain, id string) error {
		var err error
		out, err = tail(consolePath(d.cfg.StateDir, id), maxConsoleBytes)
		return err
	})
	return out, err
}

func stateName(st libvirt.DomainState) string {
	switch st {
	case libvirt.DOMAIN_RUNNING:
		return "running"
	case libvirt.DOMAIN_BLOCKED:
		return "blocked"
	case libvirt.DOMAIN_PAUSED:
		return "paused"
	case libvirt.DOMAIN_SHUTDOWN:
		return "shutting down"
	case libvirt.DOMAIN_SHUTOFF:
		return "shut off"
	case libvirt.DOMAIN_CRASHED:
		return "crashed"
	case libvirt.DOMAIN_PMSUSPENDED:
		return "suspended by the guest"
	}
	return fmt.Sprintf("in state %d", st)
}
