package qemu

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Suspend is Nova's suspend, a managed save: the vCPUs stop, QEMU
// migrates the guest's memory and device state into memory.state in the
// guest's directory, and QEMU quits. The state is written through a
// descriptor passed to QEMU (getfd, migrate fd:), not through an exec:
// pipe, whose child QEMU 7.2 may kill before it has written everything.
// A suspend that fails or whose ctx ends lets the guest run on as it was.
func (d *Driver) Suspend(ctx context.Context, id string) error {
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
	defer p.close()
	start := time.Now()
	if err := d.save(ctx, f); err != nil {
		os.Remove(f.statePart)
		return err
	}
	if err := d.forceOff(ctx, f, p); err != nil {
		return err
	}
	// Only now is the state the guest's: renamed into place once QEMU
	// can no longer run on from it.
	if err := syncFile(f.statePart); err != nil {
		return err
	}
	if err := os.Rename(f.statePart, f.state); err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	if err := syncDir(f.dir); err != nil {
		return err
	}
	d.log.Info("compute/qemu: suspended", "guest", id, "took", time.Since(start))
	return nil
}

// save stops the guest and migrates its state into statePart; on error
// the guest runs again if it ran.
func (d *Driver) save(ctx context.Context, f files) error {
	out, err := os.OpenFile(f.statePart, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	defer out.Close()
	var was string
	err = withMonitor(ctx, f.qmp, func(m *monitor) error {
		st, err := m.status(ctx)
		if err != nil {
			return err
		}
		was = st
		if err := m.run(ctx, "stop", nil, nil); err != nil {
			return err
		}
		// QEMU 7.2 caps migration at 32 MiB/s by default; a save has
		// no reason to wait.
		if err := m.run(ctx, "migrate-set-parameters", map[string]any{"max-bandwidth": int64(1) << 40}, nil); err != nil {
			return err
		}
		if err := m.runWithFile(ctx, "getfd", map[string]any{"fdname": "suspend"}, out); err != nil {
			return err
		}
		return m.run(ctx, "migrate", map[string]any{"uri": "fd:suspend"}, nil)
	})
	if err == nil {
		err = waitMigration(ctx, f)
	}
	if err != nil {
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceBudget)
		defer cancel()
		if uerr := withMonitor(undo, f.qmp, func(m *monitor) error {
			m.run(undo, "migrate_cancel", nil, nil)
			if was == "running" {
				return m.run(undo, "cont", nil, nil)
			}
			return nil
		}); uerr != nil {
			d.log.Warn("compute/qemu: undo of a failed suspend", "err", uerr)
		}
		return fmt.Errorf("compute/qemu: suspend: %w", err)
	}
	return nil
}

// waitMigration polls query-migrate, a connection per poll, until the
// migration has completed, failed, or ctx ended.
func waitMigration(ctx context.Context, f files) error {
	for {
		var mig struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, "query-migrate", nil, &mig) })
		if err != nil {
			return err
		}
		switch mig.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("migration %s: %s", mig.Status, mig.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Resume starts a suspended guest from its saved memory and runs it;
// the saved state is removed once QEMU has loaded it. A running guest is
// left as it is.
func (d *Driver) Resume(ctx context.Context, id string) error {
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
	if !exists(f.state) {
		return fmt.Errorf("compute/qemu: resume %s: no saved memory state: %w", id, ErrNotRunning)
	}
	return d.restore(ctx, g, f)
}

// restore starts QEMU paused with -incoming from memory.state, waits for
// the state to be loaded, removes the file and runs the guest.
func (d *Driver) restore(ctx context.Context, g *definition, f files) error {
	start := time.Now()
	in, err := os.Open(f.state)
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	p, err := d.launch(ctx, g, f, in)
	in.Close()
	if err != nil {
		return err
	}
	defer p.close()
	err = d.waitIncoming(ctx, f, p)
	if err != nil {
		if !p.exited() {
			if ferr := d.forceOff(ctx, f, p); ferr != nil {
				d.log.Warn("compute/qemu: turning off a failed resume", "guest", g.ID, "err", ferr)
			}
		}
		return fmt.Errorf("compute/qemu: resume %s: %w", g.ID, err)
	}
	if err := os.Remove(f.state); err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, "cont", nil, nil) }); err != nil {
		return err
	}
	d.log.Info("compute/qemu: resumed", "guest", g.ID, "took", time.Since(start))
	return nil
}

// waitIncoming waits for QEMU to leave the inmigrate state; a load that
// fails ends QEMU, whose message is then in qemu.log.
func (d *Driver) waitIncoming(ctx context.Context, f files, p *proc) error {
	for {
		var st string
		err := withMonitor(ctx, f.qmp, func(m *monitor) (err error) {
			st, err = m.status(ctx)
			return err
		})
		if err != nil {
			// A failed load ends QEMU: give it a moment to go, then
			// say what it said rather than that its socket went away.
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			gone := p.wait(wctx) == nil
			cancel()
			if gone {
				return fmt.Errorf("%s", qemuMessage(f.log, err))
			}
			return err
		}
		if st != "inmigrate" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func syncFile(path string) error {
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	defer file.Close()
	if err := file.Sync(); err != nil {
		return fmt.Errorf("compute/qemu: sync %s: %w", path, err)
	}
	return nil
}
