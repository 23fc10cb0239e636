package qemu

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// waitBanners waits for the console log to hold n SeaBIOS banners (QEMU
// writes it as the guest prints) and returns how many it holds.
func waitBanners(t *testing.T, d *Driver, id string, n int) int {
	t.Helper()
	var log []byte
	for range 200 {
		var err error
		if log, err = d.ConsoleLog(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Count(log, []byte("SeaBIOS (version")); got >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d SeaBIOS banners in the console log after 10s:\n%s", n, log)
	return 0
}

// TestAdoption: a driver restarted over the same state dir finds a
// guest it did not start, running, and controls it; the QEMU process is
// the one the first driver started.
func TestAdoption(t *testing.T) {
	dir := stateDir(t)
	g := tinyGuest()
	a := newDriver(t, dir)
	spawn(t, a, g)
	waitRunning(t, a, g.ID)
	pid := pidOf(t, a, g.ID)
	a = nil // the agent goes away; its QEMU does not

	b := newDriver(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []virt.GuestState{{ID: g.ID, Name: g.Name, Power: virt.PowerRunning}}
	if len(list) != 1 || list[0] != want[0] {
		t.Fatalf("list %+v, want %+v", list, want)
	}
	if p := pidOf(t, b, g.ID); p != pid {
		t.Fatalf("pid %d after the restart, was %d", p, pid)
	}
	if err := b.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, g.ID, virt.PowerShutdown)
	if guestLeft(g.ID) {
		t.Fatal("QEMU still runs after the adopting driver's power off")
	}
}

// TestList: guests in every state the directory can show, and a
// directory a crashed spawn left without guest.json.
func TestList(t *testing.T) {
	d := newDriver(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	off, suspended, running := tinyGuest(), tinyGuest(), tinyGuest()
	// One QEMU at a time: each is taken to its state before the next.
	spawn(t, d, off)
	if err := d.PowerOff(ctx, off.ID, false); err != nil {
		t.Fatal(err)
	}
	spawn(t, d, suspended)
	waitRunning(t, d, suspended.ID)
	if err := d.Suspend(ctx, suspended.ID); err != nil {
		t.Fatal(err)
	}
	spawn(t, d, running)
	waitRunning(t, d, running.ID)
	half := tinyGuest()
	if err := os.Mkdir(d.cfg.StateDir+"/"+half.ID, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d.cfg.StateDir+"/not-a-guest", 0o700); err != nil {
		t.Fatal(err)
	}

	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]virt.GuestState{
		off.ID:       {ID: off.ID, Name: off.Name, Power: virt.PowerShutdown},
		suspended.ID: {ID: suspended.ID, Name: suspended.Name, Power: virt.PowerSuspended},
		running.ID:   {ID: running.ID, Name: running.Name, Power: virt.PowerRunning},
		half.ID:      {ID: half.ID, Power: virt.PowerNoState},
	}
	if len(list) != len(want) {
		t.Fatalf("list %+v, want %d guests", list, len(want))
	}
	for _, got := range list {
		if got != want[got.ID] {
			t.Errorf("listed %+v, want %+v", got, want[got.ID])
		}
	}
	if err := d.Destroy(ctx, half.ID); err != nil || exists(d.cfg.StateDir+"/"+half.ID) {
		t.Fatalf("destroy of a half-made guest: %v", err)
	}
}

// TestSpawnFailure: QEMU refuses a disk that does not exist; Spawn says
// what QEMU said and leaves no directory, tap or process.
func TestSpawnFailure(t *testing.T) {
	var unplugged []string
	d := newDriver(t, "", func(c *Config) {
		c.Unplug = func(_ context.Context, _ virt.GuestPort, tap string) error {
			unplugged = append(unplugged, tap)
			return nil
		}
	})
	g := tinyGuest()
	g.Disk = virt.Disk{Path: "/nonexistent/gostack/disk.qcow2", Format: "qcow2"}
	if os.Geteuid() == 0 {
		g.Ports = []virt.GuestPort{testPort()}
	}
	t.Cleanup(func() { leaveNothing(t, d.cfg.StateDir, g) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := d.Spawn(ctx, g)
	if err == nil {
		t.Fatal("spawn with a missing disk succeeded")
	}
	t.Logf("spawn: %v", err)
	if !strings.Contains(err.Error(), "Could not open '/nonexistent/gostack/disk.qcow2'") {
		t.Fatalf("error without QEMU's message: %v", err)
	}
	if exists(guestFiles(d.cfg.StateDir, g.ID).dir) {
		t.Fatal("guest dir left after a failed spawn")
	}
	if guestLeft(g.ID) {
		t.Fatal("QEMU left after a failed spawn")
	}
	if len(g.Ports) > 0 {
		if len(unplugged) != 1 || unplugged[0] != tapName(g.Ports[0].ID) {
			t.Fatalf("unplugged %v", unplugged)
		}
		if tapExists(g.Ports[0]) {
			t.Fatal("tap left after a failed spawn")
		}
	}
	wantState(t, d, g.ID, virt.PowerNoState)
}

// TestSpawnRefused: what the driver refuses before QEMU runs.
func TestSpawnRefused(t *testing.T) {
	d := newDriver(t, "")
	ctx := context.Background()
	for _, c := range []struct {
		name string
		mod  func(*virt.Guest)
		want string
	}{
		{"id not a uuid", func(g *virt.Guest) { g.ID = "../etc" }, "not a uuid"},
		{"no memory", func(g *virt.Guest) { g.MemoryMB = 0 }, "memory"},
		{"nbd disk", func(g *virt.Guest) { g.Disk = virt.Disk{Protocol: "nbd"} }, "nbd disk: compute/virt: not supported"},
		{"rbd disk without a name", func(g *virt.Guest) { g.Disk = virt.Disk{Protocol: "rbd", Serial: "r1"} }, "want pool/image"},
		{"rbd disk whose key the host lacks", func(g *virt.Guest) { g.Disk = rbdVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", true) },
			"no keyring for secret uuid " + rbdSecretUUID},
		{"vmdk disk", func(g *virt.Guest) { g.Disk = virt.Disk{Path: "/x", Format: "vmdk"} }, "disk format"},
		{"iscsi disk without a target", func(g *virt.Guest) {
			g.Disk = storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", false)
			delete(g.Disk.Connection, "target_iqn")
		}, "target_iqn"},
		{"iscsi disk with CHAP and no password", func(g *virt.Guest) {
			g.Disk = storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", true)
		}, "without auth_username and auth_password"},
		{"qcow2 iscsi disk", func(g *virt.Guest) {
			g.Disk = storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", false)
			g.Disk.Format = "qcow2"
		}, "want raw"},
		{"iscsi disk whose id names no device", func(g *virt.Guest) {
			g.Disk = storedVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", false)
			g.Disk.Serial = "a,b"
		}, "volume id"},
		{"bad mac", func(g *virt.Guest) { g.Ports = []virt.GuestPort{{ID: "p1", MAC: "nope"}} }, "invalid MAC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := tinyGuest()
			c.mod(&g)
			err := d.Spawn(ctx, g)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("spawn: %v, want %q", err, c.want)
			}
			if c.name == "nbd disk" && !errors.Is(err, virt.ErrNotSupported) {
				t.Fatalf("network disk: %v is not ErrNotSupported", err)
			}
			if c.name == "rbd disk whose key the host lacks" && !errors.Is(err, virt.ErrNoKey) {
				t.Fatalf("rbd disk: %v is not ErrNoKey", err)
			}
		})
	}
	// The driver's own ceph.conf is all there is.
	if entries, _ := os.ReadDir(d.cfg.StateDir); len(entries) != 1 || entries[0].Name() != "ceph.conf" {
		t.Fatalf("state dir: %v", entries)
	}
}

func TestFactory(t *testing.T) {
	requireQEMU(t)
	var reg virt.Drivers
	if err := reg.Register("qemu", Factory); err != nil {
		t.Fatal(err)
	}
	d, err := reg.Open(context.Background(), "qemu", map[string]string{"state_dir": t.TempDir(), "accel": "tcg",
		"initiator_name": "iqn.1993-08.org.debian:01:compute-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*Driver).reach(tinyGuest().ID).initiator; got != "iqn.1993-08.org.debian:01:compute-1" {
		t.Fatalf("initiator %q", got)
	}
	info := d.Info()
	if info.Name != "qemu" || info.HypervisorType != "QEMU" || info.HypervisorVersion < 7000000 ||
		!info.Pause || !info.Suspend || !info.ConsoleLog || !info.AttachInterface || !info.AttachVolume || info.Resize {
		t.Fatalf("info %+v", info)
	}
	t.Logf("info %+v", info)
	if _, err := reg.Open(context.Background(), "qemu", map[string]string{"state_dir": t.TempDir(), "speed": "fast"}); err == nil {
		t.Fatal("an unknown setting was accepted")
	}
	if _, err := reg.Open(context.Background(), "qemu", map[string]string{"state_dir": t.TempDir(), "accel": "hvf"}); err == nil {
		t.Fatal("an unknown accelerator was accepted")
	}
	if _, err := New(Config{StateDir: t.TempDir(), Binary: "/nonexistent/qemu"}); err == nil ||
		!strings.Contains(err.Error(), "qemu-system-x86") {
		t.Fatalf("missing binary: %v", err)
	}
}

// TestDetectAccel says what this host offers; no assertion beyond a
// valid answer (CI hosts differ).
func TestDetectAccel(t *testing.T) {
	start := time.Now()
	a := detectAccel()
	if a != "kvm" && a != "tcg" {
		t.Fatalf("accel %q", a)
	}
	_, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	t.Logf("detected %s in %v (/dev/kvm open: %v)", a, time.Since(start), err)
	if err != nil && a == "kvm" {
		t.Fatal("kvm detected without /dev/kvm")
	}
}

// TestKilledQEMU: a QEMU killed behind the driver's back leaves a stale
// pidfile and sockets; the guest is off and starts again.
func TestKilledQEMU(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)
	p, err := findProc(f, g.ID)
	if err != nil || p == nil {
		t.Fatalf("find: %v", err)
	}
	if err := p.kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
	p.close()
	if !exists(f.pid) {
		t.Fatal("SIGKILL removed the pidfile: this test needs a stale one")
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
}

// TestForeignPid: a pidfile naming a process that is not the guest (the
// pid reused) is no guest: not stopped, not killed.
func TestForeignPid(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	spawn(t, d, g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	f := guestFiles(d.cfg.StateDir, g.ID)
	if err := os.WriteFile(f.pid, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process the pidfile named was stopped: %v", err)
	}
}

// TestResumeFailure: memory state QEMU cannot load fails Resume with
// QEMU's message and leaves the guest suspended; a hard reboot drops the
// state and boots it afresh, as Nova's does.
func TestResumeFailure(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Suspend(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	f := guestFiles(d.cfg.StateDir, g.ID)
	if err := os.Truncate(f.state, 4096); err != nil {
		t.Fatal(err)
	}
	err := d.Resume(ctx, g.ID)
	t.Logf("resume: %v", err)
	if err == nil || !strings.Contains(err.Error(), "load of migration failed") {
		t.Fatalf("resume of a truncated state: %v", err)
	}
	wantState(t, d, g.ID, virt.PowerSuspended)
	if guestLeft(g.ID) {
		t.Fatal("QEMU left after a failed resume")
	}
	if err := d.Reboot(ctx, g.ID, true); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
	if exists(f.state) {
		t.Fatal("hard reboot kept the saved state")
	}
}

// TestNoSecondQEMU: with its pidfile overwritten, a running guest looks
// off; starting it again must not make a second QEMU on the same disk
// and sockets: QEMU's lock on the pidfile refuses it.
func TestNoSecondQEMU(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)
	pidfile, err := os.ReadFile(f.pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.pid, []byte("junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.PowerOn(ctx, g.ID)
	t.Logf("power on: %v", err)
	if err == nil || !strings.Contains(err.Error(), "pid file") {
		t.Fatalf("a second start: %v", err)
	}
	if n := len(guestPids(g.ID)); n != 1 {
		t.Fatalf("%d QEMUs of the guest", n)
	}
	if err := os.WriteFile(f.pid, pidfile, 0o600); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerRunning) // the first one still answers on its socket
}

// TestSpawnAfterHalfSpawn: a Spawn that stopped after saving the guest
// and before QEMU ran (the agent killed while the ports were plugged)
// is finished by the next Spawn: the guest runs, once.
func TestSpawnAfterHalfSpawn(t *testing.T) {
	d := newDriver(t, "")
	g := tinyGuest()
	f := guestFiles(d.cfg.StateDir, g.ID)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(f, &definition{Guest: g}); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	spawn(t, d, g)
	if n := len(guestPids(g.ID)); n != 1 {
		t.Fatalf("%d QEMUs of the guest", n)
	}
}

// TestSpawnStopped: a Stopped spawn writes guest.json (without the
// flag: how it was spawned is not what it is) and makes and plugs its
// taps, but starts no QEMU: State and List say shutdown, the console is
// empty. A Spawn again leaves it off (and plugs again, idempotent); so
// does one after a Stopped spawn that died before its taps were made,
// which makes them. PowerOn starts it.
func TestSpawnStopped(t *testing.T) {
	requireNetAdmin(t)
	h := &hooks{}
	d := newDriver(t, "", h.config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := testPort()
	g := tinyGuest()
	g.Ports, g.Stopped = []virt.GuestPort{p}, true
	f := guestFiles(d.cfg.StateDir, g.ID)
	took := spawn(t, d, g)
	t.Logf("stopped spawn: %v", took)
	off := func(what string) {
		t.Helper()
		wantState(t, d, g.ID, virt.PowerShutdown)
		if pids := guestPids(g.ID); len(pids) > 0 || exists(f.pid) {
			t.Fatalf("%s: QEMU %v (pid file there: %v)", what, pids, exists(f.pid))
		}
		if !tapExists(p) {
			t.Fatalf("%s: no tap", what)
		}
		list, err := d.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(list, virt.GuestState{ID: g.ID, Name: g.Name, Power: virt.PowerShutdown}) {
			t.Fatalf("%s: List = %+v, want %s shutdown", what, list, g.ID)
		}
		if log, err := d.ConsoleLog(ctx, g.ID); err != nil || len(log) > 0 {
			t.Fatalf("%s: console %q, %v; want none", what, log, err)
		}
	}
	off("spawned stopped")
	if def := loaded(t, f); def.Stopped || !slices.Equal(portIDs(def), []string{p.ID}) {
		t.Fatalf("guest.json: %+v", def)
	}
	if !slices.Equal(h.plugged, []string{p.ID}) {
		t.Fatalf("plugged %v, want %s", h.plugged, p.ID)
	}
	spawn(t, d, g)
	off("spawned stopped again")

	// Cut short after guest.json, before the taps: finished, not started.
	half := tinyGuest()
	q := testPort()
	half.Ports, half.Stopped = []virt.GuestPort{q}, true
	hf := guestFiles(d.cfg.StateDir, half.ID)
	if err := os.MkdirAll(hf.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	def := &definition{Guest: half}
	if err := def.fillSlots(); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(hf, def); err != nil {
		t.Fatal(err)
	}
	spawn(t, d, half)
	if !tapExists(q) || len(guestPids(half.ID)) > 0 {
		t.Fatalf("a half-made stopped guest spawned again: tap %v, QEMU %v", tapExists(q), guestPids(half.ID))
	}
	wantState(t, d, half.ID, virt.PowerShutdown)

	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
	waitBanners(t, d, g.ID, 1)
}
