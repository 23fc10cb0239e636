package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// Spawn makes the guest's directory, writes guest.json, creates its taps
// and starts QEMU; a Stopped guest's taps are made and plugged (its
// ports are up as any stopped guest's) but no QEMU starts, and PowerOn
// starts it later. A guest whose directory exists is left as it is. If
// QEMU refuses to start, what Spawn made is removed and the error
// carries QEMU's message.
func (d *Driver) Spawn(ctx context.Context, g virt.Guest) error {
	if err := checkGuest(&g); err != nil {
		return err
	}
	if g.Disk.Protocol != "" {
		// Boot from volume: an iscsi password too, which is about to be
		// stored in the root disk's secret file.
		if err := checkVolume(g.Disk); err != nil {
			return fmt.Errorf("compute/qemu: guest %s: root disk: %w", g.ID, err)
		}
		g.Disk.Serial = g.Disk.VolumeID()
	}
	def := &definition{Guest: g}
	// How this Spawn was asked to leave the guest, not what the guest
	// is: guest.json does not keep it.
	def.Stopped = false
	if err := def.fillSlots(); err != nil {
		return err
	}
	unlock, err := d.lock(ctx, g.ID)
	if err != nil {
		return err
	}
	defer unlock()
	f := guestFiles(d.cfg.StateDir, g.ID)
	if exists(f.guest) {
		return d.finishSpawn(ctx, f, g)
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	start := time.Now()
	def.Disk, err = d.keepSecret(f, "root", def.Disk)
	if err == nil {
		err = saveGuest(f, def)
	}
	if err == nil {
		if g.Stopped {
			if err = d.define(ctx, def, f); err == nil {
				d.log.Info("compute/qemu: spawned stopped", "guest", g.ID, "name", g.Name, "took", time.Since(start))
				return nil
			}
		} else {
			var p *proc
			if p, err = d.launch(ctx, def, f, nil); err == nil {
				p.close()
				d.log.Info("compute/qemu: spawned", "guest", g.ID, "name", g.Name, "took", time.Since(start))
				return nil
			}
		}
	}
	// Undo: no process runs (launch failed before or at its start).
	cleanup := context.WithoutCancel(ctx)
	if uerr := d.unplugPorts(cleanup, g.Ports); uerr != nil {
		d.log.Warn("compute/qemu: clean-up after a failed spawn", "guest", g.ID, "err", uerr)
	}
	if rerr := os.RemoveAll(f.dir); rerr != nil {
		d.log.Warn("compute/qemu: clean-up after a failed spawn", "guest", g.ID, "err", rerr)
	}
	return err
}

// finishSpawn is Spawn of a guest an earlier Spawn made: left alone if
// its QEMU runs; one whose Spawn died before its QEMU started (its
// ports being plugged) is started now, from its definition (which an
// interface attached meanwhile may have changed), or the guest would
// never run. A Stopped guest is not started: its ports are plugged
// (what its Spawn may not have finished) and it stays off.
func (d *Driver) finishSpawn(ctx context.Context, f files, g virt.Guest) error {
	p, err := findProc(f, g.ID)
	if err != nil {
		return err
	}
	if p != nil {
		p.close()
		return nil
	}
	saved, err := loadGuest(f)
	if err != nil {
		return err
	}
	if g.Stopped {
		return d.define(ctx, saved, f)
	}
	if p, err = d.launch(ctx, saved, f, nil); err != nil {
		return err
	}
	p.close()
	d.log.Info("compute/qemu: spawned a guest whose earlier spawn stopped half-way", "guest", g.ID)
	return nil
}

// define is what a Stopped guest's Spawn does instead of starting it:
// the command line its start will have is checked (a guest that could
// never start is refused now, not at its PowerOn), and its taps are
// made and plugged.
func (d *Driver) define(ctx context.Context, g *definition, f files) error {
	if _, err := commandLine(g, f, d.accel, d.reach(g.ID), false); err != nil {
		return err
	}
	return d.plugPorts(ctx, g.Ports)
}

// Destroy turns the guest off (quit, then SIGKILL), unplugs and deletes
// its taps and removes its directory, saved memory state included.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	f, err := d.files(id)
	if err != nil {
		return nil // no guest can have that id
	}
	unlock, err := d.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if !exists(f.dir) {
		return nil
	}
	g, gerr := loadGuest(f)
	p, err := findProc(f, id)
	if err != nil {
		return err
	}
	if p != nil {
		err := d.forceOff(ctx, f, p)
		p.close()
		if err != nil {
			return err
		}
	}
	if gerr == nil {
		if err := d.unplugPorts(ctx, g.Ports); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(f.dir); err != nil {
		return fmt.Errorf("compute/qemu: destroy %s: %w", id, err)
	}
	d.log.Info("compute/qemu: destroyed", "guest", id)
	return nil
}

// State is the guest's power state: QEMU's run state while its process
// runs; PowerSuspended when it is off with saved memory; PowerShutdown
// when it is off; PowerNoState when there is no such guest.
func (d *Driver) State(ctx context.Context, id string) (virt.PowerState, error) {
	f, err := d.files(id)
	if err != nil || !exists(f.guest) {
		return virt.PowerNoState, nil
	}
	return d.state(ctx, f, id)
}

func (d *Driver) state(ctx context.Context, f files, id string) (virt.PowerState, error) {
	p, err := findProc(f, id)
	if err != nil {
		return virt.PowerNoState, err
	}
	if p != nil {
		defer p.close()
		var st string
		err := withMonitor(ctx, f.qmp, func(m *monitor) (err error) {
			st, err = m.status(ctx)
			return err
		})
		if err == nil {
			return powerState(st), nil
		}
		if !p.exited() {
			return virt.PowerNoState, fmt.Errorf("compute/qemu: state of %s: %w", id, err)
		}
	}
	if exists(f.state) {
		return virt.PowerSuspended, nil
	}
	return virt.PowerShutdown, nil
}

// powerState maps QEMU's run state (query-status) to Nova's power state.
func powerState(status string) virt.PowerState {
	switch status {
	case "running":
		return virt.PowerRunning
	case "shutdown":
		return virt.PowerShutdown
	case "internal-error", "guest-panicked":
		return virt.PowerCrashed
	case "":
		return virt.PowerNoState
	}
	// paused, suspended (the guest's own S3), prelaunch (-S), inmigrate,
	// postmigrate, finish-migrate, save-vm, restore-vm, io-error,
	// watchdog, debug, colo: vCPUs stopped, the process there.
	return virt.PowerPaused
}

// List is every guest directory in StateDir with its power state: what
// an agent adopts after a restart. A directory without guest.json (a
// spawn cut short by a crash) is listed with PowerNoState.
func (d *Driver) List(ctx context.Context) ([]virt.GuestState, error) {
	entries, err := os.ReadDir(d.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	var out []virt.GuestState
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		id := e.Name()
		f := guestFiles(d.cfg.StateDir, id)
		g, err := loadGuest(f)
		if errors.Is(err, ErrNoGuest) {
			out = append(out, virt.GuestState{ID: id, Power: virt.PowerNoState})
			continue
		}
		if err != nil {
			return nil, err
		}
		st, err := d.state(ctx, f, id)
		if err != nil {
			// One guest's state (a QEMU still starting, whose QMP socket
			// is not there yet) does not fail the whole list.
			d.log.Debug("compute/qemu: a guest's state", "guest", id, "err", err)
			out = append(out, virt.GuestState{ID: id, Name: g.Name, Unknown: true})
			continue
		}
		out = append(out, virt.GuestState{ID: id, Name: g.Name, Power: st})
	}
	slices.SortFunc(out, func(a, b virt.GuestState) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// consoleLogMax is how much of the console log ConsoleLog returns, its
// end: Nova's libvirt driver's MAX_CONSOLE_BYTES.
const consoleLogMax = 100 << 10

// ConsoleLog is the end of the guest's serial console output, kept
// across restarts.
func (d *Driver) ConsoleLog(_ context.Context, id string) ([]byte, error) {
	f, err := d.files(id)
	if err != nil {
		return nil, err
	}
	if !exists(f.guest) {
		return nil, fmt.Errorf("%w: %s", ErrNoGuest, id)
	}
	file, err := os.Open(f.console)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	defer file.Close()
	if fi, err := file.Stat(); err == nil && fi.Size() > consoleLogMax {
		if _, err := file.Seek(fi.Size()-consoleLogMax, io.SeekStart); err != nil {
			return nil, fmt.Errorf("compute/qemu: %w", err)
		}
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	return b, nil
}
