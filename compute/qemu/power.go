package qemu

import (
	"context"
	"fmt"
	"os"
	"time"
)

// forceBudget bounds what follows a caller's deadline: quit, then
// SIGKILL, then the wait for the process to go.
const forceBudget = 10 * time.Second

// PowerOn starts a guest that is off from its guest.json; a suspended
// one resumes from its saved memory (as libvirt starts a domain with a
// managed save). A running guest is left as it is.
func (d *Driver) PowerOn(ctx context.Context, id string) error {
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := findProc(f, id)
	if err != nil {
		return err
	}
	if p != nil {
		p.close()
		return nil
	}
	if exists(f.state) {
		return d.restore(ctx, g, f)
	}
	p, err = d.launch(ctx, g, f, nil)
	if err != nil {
		return err
	}
	p.close()
	return nil
}

// PowerOff with clean presses the ACPI power button and waits for QEMU
// to exit until ctx's deadline (Config.ShutdownTimeout if it has none);
// then, or without clean, QEMU is told to quit, and killed if it does
// not. The quit and the kill have a few seconds of their own after
// ctx's deadline. An off or suspended guest is left as it is.
func (d *Driver) PowerOff(ctx context.Context, id string, clean bool) error {
	f, _, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := findProc(f, id)
	if err != nil || p == nil {
		return err
	}
	defer p.close()
	if clean {
		err := d.acpiShutdown(ctx, f, p)
		if err == nil {
			return nil
		}
		d.log.Info("compute/qemu: no clean shut-down, turning off", "guest", id, "err", err)
	}
	return d.forceOff(ctx, f, p)
}

// Reboot with hard resets the machine (system_reset, then cont if it was
// paused); a guest that is off, or suspended (its saved memory is
// dropped, as Nova's hard reboot does), is started. Without hard it is
// Nova's soft reboot: an ACPI shut-down, waited for until ctx's deadline
// (Config.ShutdownTimeout if it has none), then a start; a guest that
// does not shut down by then is reset as with hard.
func (d *Driver) Reboot(ctx context.Context, id string, hard bool) error {
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := findProc(f, id)
	if err != nil {
		return err
	}
	if p == nil {
		if err := os.Remove(f.state); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("compute/qemu: %w", err)
		}
		p, err = d.launch(ctx, g, f, nil)
		if err != nil {
			return err
		}
		p.close()
		return nil
	}
	defer p.close()
	if !hard {
		err := d.acpiShutdown(ctx, f, p)
		if err == nil {
			q, err := d.launch(context.WithoutCancel(ctx), g, f, nil)
			if err != nil {
				return err
			}
			q.close()
			return nil
		}
		d.log.Info("compute/qemu: no clean shut-down for a soft reboot, resetting", "guest", id, "err", err)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceBudget)
		defer cancel()
		if p.exited() { // it went after all
			q, err := d.launch(ctx, g, f, nil)
			if err != nil {
				return err
			}
			q.close()
			return nil
		}
		return d.reset(ctx, f, id)
	}
	return d.reset(ctx, f, id)
}

func (d *Driver) reset(ctx context.Context, f files, id string) error {
	return withMonitor(ctx, f.qmp, func(m *monitor) error {
		if err := m.run(ctx, "system_reset", nil, nil); err != nil {
			return err
		}
		st, err := m.status(ctx)
		if err != nil {
			return err
		}
		if st != "running" {
			if err := m.run(ctx, "cont", nil, nil); err != nil {
				return err
			}
		}
		d.log.Info("compute/qemu: reset", "guest", id)
		return nil
	})
}

// Pause stops the guest's vCPUs (QMP stop); its memory stays.
func (d *Driver) Pause(ctx context.Context, id string) error {
	return d.running(ctx, id, "stop")
}

// Unpause runs the vCPUs again (QMP cont).
func (d *Driver) Unpause(ctx context.Context, id string) error {
	return d.running(ctx, id, "cont")
}

// running sends cmd to a running guest's QEMU.
func (d *Driver) running(ctx context.Context, id, cmd string) error {
	f, _, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	p, err := findProc(f, id)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, id)
	}
	p.close()
	return withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, cmd, nil, nil) })
}

// open locks a guest and reads its guest.json.
func (d *Driver) open(ctx context.Context, id string) (files, *definition, func(), error) {
	f, err := d.files(id)
	if err != nil {
		return files{}, nil, nil, err
	}
	unlock, err := d.lock(ctx, id)
	if err != nil {
		return files{}, nil, nil, err
	}
	g, err := loadGuest(f)
	if err != nil {
		unlock()
		return files{}, nil, nil, err
	}
	return f, g, unlock, nil
}

// acpiShutdown presses the power button and waits for QEMU to exit
// (QEMU runs without -no-shutdown: a guest that powers off ends it). A
// paused guest cannot act on the button: it is an error at once.
func (d *Driver) acpiShutdown(ctx context.Context, f files, p *proc) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.ShutdownTimeout)
		defer cancel()
	}
	err := withMonitor(ctx, f.qmp, func(m *monitor) error {
		st, err := m.status(ctx)
		if err != nil {
			return err
		}
		if st != "running" {
			return fmt.Errorf("compute/qemu: guest is %s, not running: no ACPI shut-down", st)
		}
		return m.run(ctx, "system_powerdown", nil, nil)
	})
	if err != nil {
		if p.exited() {
			return nil
		}
		return err
	}
	return p.wait(ctx)
}

// forceOff ends the process: quit, then SIGKILL by its pidfd. It has
// forceBudget of its own, whatever is left of ctx.
func (d *Driver) forceOff(ctx context.Context, f files, p *proc) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceBudget)
	defer cancel()
	qctx, qcancel := context.WithTimeout(ctx, forceBudget/2)
	defer qcancel()
	err := withMonitor(qctx, f.qmp, func(m *monitor) error { return m.run(qctx, "quit", nil, nil) })
	if err == nil || p.exited() {
		if err = p.wait(qctx); err == nil {
			return nil
		}
	}
	d.log.Warn("compute/qemu: quit did not end QEMU, killing it", "pid", p.pid, "err", err)
	if err := p.kill(); err != nil {
		return err
	}
	if err := p.wait(ctx); err != nil {
		return fmt.Errorf("compute/qemu: pid %d outlived SIGKILL: %w", p.pid, err)
	}
	return nil
}
