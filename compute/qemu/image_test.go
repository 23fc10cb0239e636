package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/internal/testenv"
)

// TestGuestImage boots the tiny guest image (a Linux that says
// "gostack-guest: ready" on ttyS0 and powers off on the ACPI power
// button) from a copy of its disk, with a config drive. It checks that
// the guest reads the config drive, that a soft reboot is a clean
// shut-down and a fresh start, and that a clean power off is the guest's
// own.
func TestGuestImage(t *testing.T) {
	d := newDriver(t, "")
	img := guesttest.Image(t)
	g := tinyGuest()
	g.MemoryMB = 256
	dir := t.TempDir()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	g.Disk = virt.Disk{Path: filepath.Join(dir, "disk.raw"), Format: "raw"}
	if err := os.WriteFile(g.Disk.Path, b, 0o600); err != nil { // the guest may write to its disk
		t.Fatal(err)
	}
	g.ConfigISO = filepath.Join(dir, "config.iso")
	md := metadata.MetaData{UUID: g.ID, Name: g.Name, Hostname: "tiny-1"}
	if err := metadata.ConfigDrive(context.Background(), g.ConfigISO, metadata.Drive{MetaData: md}); err != nil {
		testenv.LookPath(t, "genisoimage", "genisoimage")
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	start := time.Now()
	spawn(t, d, g)
	console := waitConsole(t, d, g.ID, "gostack-guest: ready", 1, 3*time.Minute)
	t.Logf("spawn to the guest's ready line: %v", time.Since(start).Round(10*time.Millisecond))
	for _, want := range []string{
		"gostack-guest: metadata from config drive: uuid " + g.ID,
		"gostack-guest: hostname tiny-1",
	} {
		if !bytes.Contains(console, []byte(want)) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}

	t.Run("soft reboot", func(t *testing.T) {
		pid := pidOf(t, d, g.ID)
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		start := time.Now()
		if err := d.Reboot(rctx, g.ID, false); err != nil {
			t.Fatal(err)
		}
		t.Logf("soft reboot (ACPI shut-down, new QEMU): %v", time.Since(start).Round(10*time.Millisecond))
		if p := pidOf(t, d, g.ID); p == pid || p == 0 {
			t.Fatalf("pid %d after a soft reboot, was %d: not a fresh start", p, pid)
		}
		console := waitConsole(t, d, g.ID, "gostack-guest: ready", 2, 3*time.Minute)
		if n := bytes.Count(console, []byte("gostack-guest: power button: powering off")); n != 1 {
			t.Fatalf("%d power-off lines, want 1 (the guest shut itself down):\n%s", n, console)
		}
		t.Logf("soft reboot to the guest's ready line: %v", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("suspend and resume", func(t *testing.T) {
		start := time.Now()
		if err := d.Suspend(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(guestFiles(d.cfg.StateDir, g.ID).state)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("suspend of a %d MiB Linux guest: %v, state file %d KiB", g.MemoryMB, time.Since(start).Round(time.Millisecond), fi.Size()>>10)
		start = time.Now()
		if err := d.Resume(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		t.Logf("resume: %v", time.Since(start).Round(time.Millisecond))
		wantState(t, d, g.ID, virt.PowerRunning)
		// The clean power off that follows proves the OS went on where
		// it was; it must not have booted again.
	})

	t.Run("clean power off", func(t *testing.T) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		start := time.Now()
		if err := d.PowerOff(pctx, g.ID, true); err != nil {
			t.Fatal(err)
		}
		t.Logf("clean power off: %v", time.Since(start).Round(10*time.Millisecond))
		wantState(t, d, g.ID, virt.PowerShutdown)
		console, err := d.ConsoleLog(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(console, []byte("gostack-guest: power button: powering off")); n != 2 {
			t.Fatalf("%d power-off lines, want 2: the guest did not shut itself down:\n%s", n, console)
		}
		if n := bytes.Count(console, []byte("gostack-guest: ready")); n != 2 {
			t.Fatalf("%d ready lines, want 2 (the resumed guest booted again?):\n%s", n, console)
		}
	})
}

// waitConsole waits for n lines containing want in the console log and
// returns the log.
func waitConsole(t *testing.T, d *Driver, id, want string, n int, limit time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		log, err := d.ConsoleLog(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(log, []byte(want)) >= n {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d %q lines on the console after %v:\n%s", n, want, limit, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
