package qemu

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// requireQEMU skips (fails in CI) without qemu-system-x86_64.
func requireQEMU(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "qemu-system-x86_64", "qemu-system-x86")
}

// newDriver is a TCG driver over dir (a fresh state dir if "").
func newDriver(t *testing.T, dir string, mod ...func(*Config)) *Driver {
	t.Helper()
	bin := requireQEMU(t)
	if dir == "" {
		dir = stateDir(t)
	}
	cfg := Config{StateDir: dir, Binary: bin, Accel: "tcg", Log: testLogger(t), ShutdownTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stateDir is t.TempDir(), or a shorter directory when the test's name
// would make the guest's socket paths too long for a unix socket.
func stateDir(t *testing.T) string {
	dir := t.TempDir()
	if len(dir)+len("/"+uuid.Nil.String()+"/console.sock") <= maxSocketPath {
		return dir
	}
	dir, err := os.MkdirTemp("", "qemu-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// tinyGuest has no disk: SeaBIOS boots, prints on the serial console
// and finds nothing to boot, and the guest stays there, running.
func tinyGuest() virt.Guest {
	id := uuid.NewString()
	return virt.Guest{ID: id, Name: "test-" + id[:8], VCPUs: 1, MemoryMB: 32}
}

// spawn spawns g and makes sure, at the test's end, that no QEMU of g
// is left (Destroy, then a kill by pid of anything still carrying g's
// uuid) and no tap of its ports.
func spawn(t *testing.T, d *Driver, g virt.Guest) time.Duration {
	t.Helper()
	t.Cleanup(func() { leaveNothing(t, d.cfg.StateDir, g) })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatalf("spawn: %v", err)
	}
	return time.Since(start)
}

func leaveNothing(t *testing.T, stateDir string, g virt.Guest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := New(Config{StateDir: stateDir, Accel: "tcg"})
	if err == nil {
		if err := d.Destroy(ctx, g.ID); err != nil {
			t.Errorf("clean-up: destroy %s: %v", g.ID, err)
		}
	}
	for _, pid := range guestPids(g.ID) {
		t.Errorf("clean-up: QEMU pid %d of guest %s outlived Destroy; killing it", pid, g.ID)
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
	for _, p := range g.Ports {
		if l, err := netlink.LinkByName(tapName(p.ID)); err == nil {
			t.Errorf("clean-up: tap %s outlived Destroy; deleting it", tapName(p.ID))
			netlink.LinkDel(l)
		}
	}
}

// guestPids are the processes whose command line carries -uuid id: only
// this test's guests can, their uuids being fresh.
func guestPids(id string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err == nil && isGuest(pid, id) {
			out = append(out, pid)
		}
	}
	return out
}

// guestLeft reports whether a QEMU of guest id still runs 5 s on: one
// that is on its way out (a failed start, a load that failed) is given
// the time to go.
func guestLeft(id string) bool {
	for range 100 {
		if len(guestPids(id)) == 0 {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// pidOf is the guest's QEMU pid, 0 if none runs.
func pidOf(t *testing.T, d *Driver, id string) int {
	t.Helper()
	p, err := findProc(guestFiles(d.cfg.StateDir, id), id)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		return 0
	}
	defer p.close()
	return p.pid
}

func wantState(t *testing.T, d *Driver, id string, want virt.PowerState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := d.State(ctx, id)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	if got != want {
		t.Fatalf("state %d, want %d", got, want)
	}
}

// waitRunning polls State until the guest runs; the time it took.
func waitRunning(t *testing.T, d *Driver, id string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if st, err := d.State(context.Background(), id); err == nil && st == virt.PowerRunning {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("guest %s not running after 10s", id)
	return 0
}
