package qemu

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// TestLifecycle takes one disk-less guest through every operation, in
// the order the agent would.
func TestLifecycle(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)

	took := spawn(t, d, g)
	run := waitRunning(t, d, g.ID)
	t.Logf("spawn %v, then running after %v more (QMP query-status)", took, run)
	l := &lifecycle{d: d, g: g, f: f, ctx: ctx, pid: pidOf(t, d, g.ID)}
	if l.pid == 0 {
		t.Fatal("no QEMU after spawn")
	}
	for _, name := range []string{"guest.json", "qmp.sock", "console.log", "qemu.pid"} {
		if _, err := os.Stat(f.dir + "/" + name); err != nil {
			t.Errorf("guest dir: %v", err)
		}
	}

	for _, s := range []struct {
		name string
		do   func(t *testing.T)
	}{
		{"spawn again is nothing", l.spawnAgain},
		{"pause", l.pause},
		{"unpause", l.unpause},
		{"hard reboot of a paused guest runs it", l.hardReboot},
		{"soft reboot falls back to a reset", l.softReboot},
		{"power off hard", l.powerOffHard},
		{"power on", l.powerOn},
		{"clean power off falls back to quit", l.cleanPowerOff},
		{"console log kept across restarts", l.consoleLog},
		{"suspend", l.suspend},
		{"resume", l.resume},
		{"destroy", l.destroy},
	} {
		if !t.Run(s.name, s.do) {
			return
		}
	}
}

// lifecycle is TestLifecycle's guest, each of its steps a method.
type lifecycle struct {
	d       *Driver
	g       virt.Guest
	f       files
	ctx     context.Context
	pid     int // the guest's QEMU
	banners int // SeaBIOS banners in the console log before suspend
}

func (l *lifecycle) spawnAgain(t *testing.T) {
	if err := l.d.Spawn(l.ctx, l.g); err != nil {
		t.Fatal(err)
	}
	if p := pidOf(t, l.d, l.g.ID); p != l.pid {
		t.Fatalf("pid %d after a second spawn, was %d", p, l.pid)
	}
}

func (l *lifecycle) pause(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := virt.Pause(ctx, d, g.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerPaused)
}

func (l *lifecycle) unpause(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := virt.Unpause(ctx, d, g.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerRunning)
}

func (l *lifecycle) hardReboot(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := d.Pause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Reboot(ctx, g.ID, true); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerRunning)
	if p := pidOf(t, d, g.ID); p != l.pid {
		t.Fatalf("pid %d after system_reset, was %d", p, l.pid)
	}
}

func (l *lifecycle) softReboot(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	// SeaBIOS does not act on the power button.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := d.Reboot(short, g.ID, false); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerRunning)
	if p := pidOf(t, d, g.ID); p != l.pid {
		t.Fatalf("pid %d after the fallback reset, was %d", p, l.pid)
	}
}

func (l *lifecycle) powerOffHard(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	if guestLeft(g.ID) {
		t.Fatal("QEMU still runs")
	}
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatalf("power off of an off guest: %v", err)
	}
	if err := d.Pause(ctx, g.ID); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("pause of an off guest: %v", err)
	}
}

func (l *lifecycle) powerOn(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
	if l.pid = pidOf(t, d, g.ID); l.pid == 0 {
		t.Fatal("no QEMU after power on")
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatalf("power on of a running guest: %v", err)
	}
}

func (l *lifecycle) cleanPowerOff(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	if err := d.PowerOff(short, g.ID, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean power off of a guest that ignores ACPI: %v", time.Since(start))
	wantState(t, d, g.ID, virt.PowerShutdown)
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
}

func (l *lifecycle) consoleLog(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	before := waitBanners(t, d, g.ID, 1)
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitBanners(t, d, g.ID, before+1)
	log, err := d.ConsoleLog(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("Machine UUID "+g.ID)) {
		t.Fatalf("console log without the guest's uuid:\n%s", log)
	}
}

func (l *lifecycle) suspend(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	l.banners = waitBanners(t, d, g.ID, 1)
	start := time.Now()
	if err := virt.Suspend(ctx, d, g.ID); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(l.f.state)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("suspend of a %d MiB guest: %v, state file %d bytes", g.MemoryMB, time.Since(start), fi.Size())
	wantState(t, d, g.ID, virt.PowerSuspended)
	if guestLeft(g.ID) {
		t.Fatal("QEMU still runs after suspend")
	}
}

func (l *lifecycle) resume(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	start := time.Now()
	if err := virt.Resume(ctx, d, g.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("resume: %v", time.Since(start))
	wantState(t, d, g.ID, virt.PowerRunning)
	if exists(l.f.state) {
		t.Fatal("memory state left after resume")
	}
	if err := d.Resume(ctx, g.ID); err != nil {
		t.Fatalf("resume of a running guest: %v", err)
	}
	// The same machine goes on: SeaBIOS does not start again.
	time.Sleep(500 * time.Millisecond)
	if n := waitBanners(t, d, g.ID, 1); n != l.banners {
		t.Fatalf("%d SeaBIOS banners after resume, %d before suspend: the guest booted again", n, l.banners)
	}
}

func (l *lifecycle) destroy(t *testing.T) {
	d, g, ctx := l.d, l.g, l.ctx
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if guestLeft(g.ID) {
		t.Fatal("QEMU still runs after destroy")
	}
	if exists(l.f.dir) {
		t.Fatal("guest dir left after destroy")
	}
	wantState(t, d, g.ID, virt.PowerNoState)
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatalf("destroy of a destroyed guest: %v", err)
	}
	if err := d.PowerOn(ctx, g.ID); !errors.Is(err, ErrNoGuest) {
		t.Fatalf("power on of a destroyed guest: %v", err)
	}
}
