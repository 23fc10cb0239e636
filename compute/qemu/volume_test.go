package qemu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
)

// chapVolume is an iSCSI volume with CHAP, as the compute agent gives
// it (its password in the connection).
func chapVolume(id, password string) virt.Disk {
	v := storedVolume(id, true)
	v.Connection["auth_password"] = password
	return v
}

// recorder keeps what the driver logs, to look for passwords in it.
type recorder struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

// config logs to the test and to the recorder.
func (r *recorder) config(t *testing.T) func(*Config) {
	return func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(io.MultiWriter(logWriter{t}, r), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// noPassword fails if a password is in the driver's log, in a file of
// the guest's directory other than its secret files, or on its QEMU's
// command line.
func noPassword(t *testing.T, d *Driver, r *recorder, id string, passwords ...string) {
	t.Helper()
	f := guestFiles(d.cfg.StateDir, id)
	where := map[string]string{"the driver's log": r.String()}
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".secret") {
			b, _ := os.ReadFile(filepath.Join(f.dir, e.Name()))
			where[e.Name()] = string(b)
		}
	}
	if pid := pidOf(t, d, id); pid != 0 {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		where["QEMU's command line"] = string(b)
	}
	for what, s := range where {
		for _, p := range passwords {
			if strings.Contains(s, p) {
				t.Errorf("a password is in %s", what)
			}
		}
	}
}

// nodes lists the running guest's block nodes and QOM objects.
func nodes(t *testing.T, d *Driver, id string) (blockNodes, objects []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := withMonitor(ctx, guestFiles(d.cfg.StateDir, id).qmp, func(m *monitor) error {
		var ns []struct {
			NodeName string `json:"node-name"`
		}
		if err := m.run(ctx, "query-named-block-nodes", map[string]any{"flat": true}, &ns); err != nil {
			return err
		}
		for _, n := range ns {
			blockNodes = append(blockNodes, n.NodeName)
		}
		var os []struct {
			Name string `json:"name"`
		}
		if err := m.run(ctx, "qom-list", map[string]any{"path": "/objects"}, &os); err != nil {
			return err
		}
		for _, o := range os {
			objects = append(objects, o.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(blockNodes)
	slices.Sort(objects)
	return blockNodes, objects
}

func volumeIDs(g *definition) []string {
	var out []string
	for _, v := range g.Volumes {
		out = append(out, v.VolumeID())
	}
	return out
}

// TestVolumeOff: the volumes of a guest that is off are its
// definition's: an attach writes the volume (without its password) and
// its slot into guest.json and the password into a secret file only
// root reads, a second one is nothing, a detach takes both away, a
// second one is nothing; what the driver cannot attach, a suspended
// guest's changes and the root disk's volume are refused and change
// nothing.
func TestVolumeOff(t *testing.T) {
	const pw = "offGuestPassw0rd"
	r := &recorder{}
	d := newDriver(t, "", r.config(t))
	g, f := offGuest(t, d)
	ctx := context.Background()
	v := chapVolume("5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", pw)
	if err := d.AttachVolume(ctx, g.ID, v); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.guest)
	if err := d.AttachVolume(ctx, g.ID, v); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) {
		t.Fatalf("a second attach changed guest.json:\n%s", after)
	}
	def := loaded(t, f)
	if !slices.Equal(volumeIDs(def), []string{v.Serial}) || def.VolumeSlots[v.Serial] != 2 {
		t.Fatalf("after attach: volumes %v, slots %v", volumeIDs(def), def.VolumeSlots)
	}
	if _, ok := def.Volumes[0].Connection["auth_password"]; ok || def.Volumes[0].Connection["auth_username"] == "" {
		t.Fatalf("guest.json keeps the connection %v", def.Volumes[0].Connection)
	}
	fi, err := os.Stat(f.secret("vol2"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.secret("vol2")); string(b) != pw || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %q, mode %v", b, fi.Mode())
	}
	wantState(t, d, g.ID, virt.PowerShutdown)

	for name, bad := range map[string]virt.Disk{
		"nbd":               {Protocol: "nbd", Serial: "n1", Connection: map[string]string{"name": "volumes/n1"}},
		"rbd, no monitors":  {Protocol: "rbd", Serial: "r1", Connection: map[string]string{"name": "volumes/r1"}},
		"rbd, no key":       rbdVolume("a1b2c3d4-0000-4000-8000-000000000007", true),
		"a local file":      {Path: "/var/lib/x.raw", Format: "raw", Serial: "f1"},
		"CHAP, no password": storedVolume("a1b2c3d4-0000-4000-8000-000000000001", true),
		"an id with a comma": func() virt.Disk {
			x := chapVolume("a1b2c3d4-0000-4000-8000-000000000006", pw)
			x.Serial = "a,b"
			return x
		}(),
		"no target": func() virt.Disk {
			x := chapVolume("a1b2c3d4-0000-4000-8000-000000000002", pw)
			delete(x.Connection, "target_iqn")
			return x
		}(),
		"a format not raw": func() virt.Disk {
			x := chapVolume("a1b2c3d4-0000-4000-8000-000000000003", pw)
			x.Format = "qcow2"
			return x
		}(),
		"another auth method": func() virt.Disk {
			x := chapVolume("a1b2c3d4-0000-4000-8000-000000000004", pw)
			x.Connection["auth_method"] = "x"
			return x
		}(),
	} {
		err := d.AttachVolume(ctx, g.ID, bad)
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Errorf("attach of %s accepted", name)
		} else if strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error holds the password", name)
		}
		if want := map[string]error{"nbd": virt.ErrNotSupported, "rbd, no monitors": virt.ErrBadVolume, "rbd, no key": virt.ErrNoKey}[name]; want != nil && !errors.Is(err, want) {
			t.Errorf("%s: %v is not %v", name, err, want)
		}
	}
	if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) {
		t.Fatalf("a refused attach changed guest.json:\n%s", after)
	}

	// Suspended: nothing changes.
	if err := os.WriteFile(f.state, []byte("saved memory"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := chapVolume("a1b2c3d4-0000-4000-8000-000000000005", pw)
	if err := d.AttachVolume(ctx, g.ID, w); !errors.Is(err, ErrSuspended) {
		t.Fatalf("attach to a suspended guest: %v", err)
	}
	if err := d.DetachVolume(ctx, g.ID, v.Serial); !errors.Is(err, ErrSuspended) {
		t.Fatalf("detach from a suspended guest: %v", err)
	}
	if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) {
		t.Fatalf("a suspended guest changed:\n%s", after)
	}
	if err := os.Remove(f.state); err != nil {
		t.Fatal(err)
	}

	if err := d.DetachVolume(ctx, g.ID, v.Serial); err != nil {
		t.Fatal(err)
	}
	if err := d.DetachVolume(ctx, g.ID, v.Serial); err != nil {
		t.Fatalf("detach again: %v", err)
	}
	if def := loaded(t, f); len(def.Volumes) != 0 || len(def.VolumeSlots) != 0 || exists(f.secret("vol2")) {
		t.Fatalf("after detach: volumes %v, slots %v, secret file there: %v", volumeIDs(def), def.VolumeSlots, exists(f.secret("vol2")))
	}
	if err := d.AttachVolume(ctx, tinyGuest().ID, v); !errors.Is(err, ErrNoGuest) {
		t.Errorf("attach to no guest: %v", err)
	}
	noPassword(t, d, r, g.ID, pw)

	// The root disk's volume is neither attached nor detached.
	root := tinyGuest()
	root.Disk = storedVolume("0d0c3a52-7e1b-4f6e-9a35-c2b1d0e9f8a7", false)
	rf := guestFiles(d.cfg.StateDir, root.ID)
	if err := os.MkdirAll(rf.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(rf, &definition{Guest: root}); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachVolume(ctx, root.ID, root.Disk); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of the root disk's volume: %v", err)
	}
	if err := d.DetachVolume(ctx, root.ID, root.Disk.Serial); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("detach of the root disk's volume: %v", err)
	}
}

// TestVolumeHotplug: a running guest's volumes, on a private tgtd,
// under a QEMU whose guest (SeaBIOS, no OS) never acts on a hot-plug: a
// volume's disk is added at once (running or paused) in its slot, with
// its block node and secret object, once; a wrong CHAP password fails
// the attach with the target's refusal and leaves the guest as it was;
// an attach that stopped after writing guest.json is finished by the
// next; a paused guest's detach is refused and one the guest does not
// answer ends at ctx's deadline with the volume kept; the disks keep
// their slots through a restart (logged in to again from guest.json and
// the secret files), adoption by a new driver and a suspend and resume;
// no password is in a log, guest.json or QEMU's command line.
func TestVolumeHotplug(t *testing.T) {
	tg := virttest.StartISCSI(t, nil)
	r := &recorder{}
	d := newDriver(t, "", r.config(t))
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)
	var passwords []string
	volume := func() virt.Disk {
		v := tg.Disk(t, []byte("gostack"))
		passwords = append(passwords, v.Connection["auth_password"])
		return v
	}
	a, b, c, p := volume(), volume(), volume(), volume()

	start := time.Now()
	if err := d.AttachVolume(ctx, g.ID, a); err != nil {
		t.Fatal(err)
	}
	t.Logf("hot-plug of a volume: %v", time.Since(start))
	if err := d.AttachVolume(ctx, g.ID, a); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	want := map[string]int{volumeDeviceID(a.Serial): 2}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}
	wantNodes := func(blockNodes, objects []string) {
		t.Helper()
		gotNodes, gotObjects := nodes(t, d, g.ID)
		if !slices.Equal(gotNodes, blockNodes) || !slices.Equal(slices.DeleteFunc(gotObjects, func(o string) bool { return !strings.HasSuffix(o, "-secret") }), objects) {
			t.Fatalf("block nodes %v and secrets %v, want %v and %v", gotNodes, gotObjects, blockNodes, objects)
		}
	}
	wantNodes([]string{"vol2"}, []string{"vol2-secret"})

	// A wrong password: the target refuses the login, and nothing of
	// the attach is left.
	before, _ := os.ReadFile(f.guest)
	wrong := b
	wrong.Connection = maps.Clone(b.Connection)
	wrong.Connection["auth_password"] = "notThePassw0rd42"
	err := d.AttachVolume(ctx, g.ID, wrong)
	t.Logf("attach with a wrong password: %v", err)
	if err == nil || !strings.Contains(err.Error(), "Authentication failure") {
		t.Fatalf("attach with a wrong password: %v, want the target's authentication failure", err)
	}
	if strings.Contains(err.Error(), "notThePassw0rd42") {
		t.Fatal("the error holds the password")
	}
	if after, _ := os.ReadFile(f.guest); !bytes.Equal(after, before) || exists(f.secret("vol3")) {
		t.Fatalf("a refused attach changed the guest: secret file %v, guest.json\n%s", exists(f.secret("vol3")), after)
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a refused attach, want %v", got, want)
	}
	wantNodes([]string{"vol2"}, []string{"vol2-secret"})
	if err := d.AttachVolume(ctx, g.ID, b); err != nil {
		t.Fatalf("attach with the right password after a wrong one: %v", err)
	}
	want[volumeDeviceID(b.Serial)] = 3

	// An attach of c that died after writing its secret file and
	// guest.json: the next attach finishes it.
	def := loaded(t, f)
	def.Volumes = append(def.Volumes, c)
	if err := def.fillSlots(); err != nil {
		t.Fatal(err)
	}
	if def.Volumes[len(def.Volumes)-1], err = d.keepSecret(f, volumeNode(4), c); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(f, def); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachVolume(ctx, g.ID, c); err != nil {
		t.Fatalf("attach after a half-way one: %v", err)
	}
	want[volumeDeviceID(c.Serial)] = 4
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}

	// Paused: a volume goes in; none can go out.
	if err := d.Pause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachVolume(ctx, g.ID, p); err != nil {
		t.Fatalf("attach to a paused guest: %v", err)
	}
	want[volumeDeviceID(p.Serial)] = 5
	err = d.DetachVolume(ctx, g.ID, p.Serial)
	t.Logf("detach from a paused guest: %v", err)
	if err == nil || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("detach from a paused guest: %v", err)
	}
	if err := d.Unpause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}

	// SeaBIOS does not let a disk go.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	err = d.DetachVolume(short, g.ID, a.Serial)
	t.Logf("detach the guest does not answer: %v", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("detach the guest does not answer: %v", err)
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a failed detach, want %v", got, want)
	}
	if ids := volumeIDs(loaded(t, f)); !slices.Equal(ids, []string{a.Serial, b.Serial, c.Serial, p.Serial}) || !exists(f.secret("vol2")) {
		t.Fatalf("a failed detach changed the guest: volumes %v", ids)
	}
	wantNodes([]string{"vol2", "vol3", "vol4", "vol5"}, []string{"vol2-secret", "vol3-secret", "vol4-secret", "vol5-secret"})

	// A restart logs in again from guest.json and the secret files.
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("power on with 4 volumes: %v", time.Since(start))
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a restart, want %v", got, want)
	}
	// Adopted by a new driver over the same state: the same volumes.
	d2 := newDriver(t, d.cfg.StateDir, r.config(t))
	if err := d2.AttachVolume(ctx, g.ID, a); err != nil {
		t.Fatalf("attach again after adoption: %v", err)
	}
	if err := d2.Suspend(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d2.Resume(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := layout(t, d2, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after suspend and resume, want %v", got, want)
	}
	wantState(t, d2, g.ID, virt.PowerRunning)
	noPassword(t, d, r, g.ID, append(passwords, "notThePassw0rd42")...)
}

// TestBootVolumeRefused: a guest whose root volume's target refuses
// the login does not start, says why, and leaves nothing.
func TestBootVolumeRefused(t *testing.T) {
	tg := virttest.StartISCSI(t, nil)
	r := &recorder{}
	d := newDriver(t, "", r.config(t))
	g := tinyGuest()
	g.Disk = tg.Disk(t, []byte("not bootable"))
	right := g.Disk.Connection["auth_password"]
	g.Disk.Connection["auth_password"] = "notThePassw0rd42"
	err := d.Spawn(context.Background(), g)
	t.Logf("spawn: %v", err)
	if err == nil || !strings.Contains(err.Error(), "Authentication failure") {
		t.Fatalf("spawn from a volume with a wrong password: %v", err)
	}
	for _, p := range []string{right, "notThePassw0rd42"} {
		if strings.Contains(err.Error(), p) || strings.Contains(r.String(), p) {
			t.Error("a password is in the error or the log")
		}
	}
	if exists(guestFiles(d.cfg.StateDir, g.ID).dir) || guestLeft(g.ID) {
		t.Fatal("a refused spawn left its directory or its QEMU")
	}
}

// TestBootVolumeStopped: a guest that boots from a volume, spawned
// stopped (no QEMU, no login), keeps its root disk's password in
// root.secret only, and refuses to attach or detach that volume.
func TestBootVolumeStopped(t *testing.T) {
	const pw = "rootVolumePassw0rd"
	r := &recorder{}
	d := newDriver(t, "", r.config(t))
	g := tinyGuest()
	g.Disk = chapVolume("0d0c3a52-7e1b-4f6e-9a35-c2b1d0e9f8a7", pw)
	g.Disk.Serial = ""
	g.Stopped = true
	spawn(t, d, g)
	f := guestFiles(d.cfg.StateDir, g.ID)
	def := loaded(t, f)
	if _, ok := def.Disk.Connection["auth_password"]; ok || def.Disk.Serial != g.Disk.Connection["volume_id"] {
		t.Fatalf("guest.json keeps the root disk %v", def.Disk)
	}
	fi, err := os.Stat(f.secret("root"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.secret("root")); string(b) != pw || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root.secret %q, mode %v", b, fi.Mode())
	}
	if g.Disk.Connection["auth_password"] != pw {
		t.Fatal("Spawn changed the caller's disk")
	}
	ctx := context.Background()
	if err := d.AttachVolume(ctx, g.ID, g.Disk); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of the root volume: %v", err)
	}
	if err := d.DetachVolume(ctx, g.ID, def.Disk.Serial); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("detach of the root volume: %v", err)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	noPassword(t, d, r, g.ID, pw)
}

// throttleOf is the I/O limits QEMU has on device dev of guest id
// (query-block's bps and iops figures).
func throttleOf(t *testing.T, d *Driver, id, dev string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]int64{}
	err := withMonitor(ctx, guestFiles(d.cfg.StateDir, id).qmp, func(m *monitor) error {
		var raw []map[string]any
		if err := m.run(ctx, "query-block", nil, &raw); err != nil {
			return err
		}
		for _, b := range raw {
			if q, _ := b["qdev"].(string); q != dev && q != "/machine/peripheral/"+dev+"/virtio-backend" {
				continue
			}
			ins, _ := b["inserted"].(map[string]any)
			for qk, k := range map[string]string{"bps": "total_bytes_sec", "bps_rd": "read_bytes_sec", "bps_wr": "write_bytes_sec",
				"iops": "total_iops_sec", "iops_rd": "read_iops_sec", "iops_wr": "write_iops_sec"} {
				if n, ok := ins[qk].(float64); ok && n > 0 {
					out[k] = int64(n)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVolumeQoS: a volume's front-end QoS (the connection info's
// qos_specs) throttles its disk in QEMU, from the hot-plug on and again
// after the guest's restart (the command line cannot set it: QMP does
// once QEMU runs).
func TestVolumeQoS(t *testing.T) {
	tg := virttest.StartISCSI(t, nil)
	d := newDriver(t, "")
	g := tinyGuest()
	spawn(t, d, g)
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v := tg.Disk(t, []byte("gostack"))
	v.QoS = map[string]int64{"total_iops_sec": 100, "read_bytes_sec": 1 << 20}
	if err := d.AttachVolume(ctx, g.ID, v); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"total_iops_sec": 100, "read_bytes_sec": 1 << 20}
	if got := throttleOf(t, d, g.ID, volumeDeviceID(v.Serial)); !maps.Equal(got, want) {
		t.Fatalf("the hot-plugged volume's limits: %v, want %v", got, want)
	}
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
	if got := throttleOf(t, d, g.ID, volumeDeviceID(v.Serial)); !maps.Equal(got, want) {
		t.Fatalf("the volume's limits after a restart: %v, want %v", got, want)
	}
	// Limits QEMU refuses (a total with a read limit of the same kind)
	// fail the attach, which leaves nothing.
	bad := tg.Disk(t, []byte("gostack"))
	bad.QoS = map[string]int64{"total_iops_sec": 100, "read_iops_sec": 50}
	if err := d.AttachVolume(ctx, g.ID, bad); err == nil {
		t.Fatal("an attach with limits QEMU refuses succeeded")
	}
}
