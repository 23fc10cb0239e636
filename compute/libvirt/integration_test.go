//go:build cgo

package libvirt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs"
)

// qemuDriver is a Driver on the system libvirtd with guests under TCG
// (what every machine of this project can run), its state in dir.
func qemuDriver(t *testing.T, dir string, mod ...func(*Config)) *Driver {
	t.Helper()
	uri := systemLibvirt(t)
	cfg := Config{URI: uri, StateDir: filepath.Join(dir, "state"), DomainType: "qemu"}
	for _, m := range mod {
		m(&cfg)
	}
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// guestDirForQEMU is a directory QEMU can reach: libvirt runs it as
// libvirt-qemu and relabels the files it is given, not the directories
// above them (t.TempDir's are 0700).
func guestDirForQEMU(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gostack-libvirt-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// leaveNothing destroys the guest when the test ends and checks that
// libvirt has no domain and no QEMU process of it left.
func leaveNothing(t *testing.T, d *Driver, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Destroy(ctx, id); err != nil {
			t.Errorf("Destroy at the end: %v", err)
		}
		if p, err := d.State(ctx, id); err != nil || p != virt.PowerNoState {
			t.Errorf("after Destroy: %v, %v", p, err)
		}
		if pids := qemuProcesses(domainName(id)); len(pids) > 0 {
			t.Errorf("QEMU processes of %s left: %v", domainName(id), pids)
		}
	})
}

// qemuProcesses are the pids whose command line names the domain (QEMU
// runs with -name guest=<name>).
func qemuProcesses(name string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte("guest="+name+",")) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestGuestLifecycle is the drivers' shared lifecycle
// (compute/virt/virttest) on libvirt and QEMU (TCG), with libvirt's own
// checks: a clean power off is the guest's own shut-down
// (VIR_DOMAIN_SHUTOFF_SHUTDOWN, not libvirt's destroy at the deadline),
// and a destroyed guest leaves no domain, process or state directory.
// Its interface steps plug NICs into nicSwitch's bridge, which has none
// of their ports left after destroy; without Open vSwitch they are
// skipped (failed in CI). Its volumes, and the one it boots from, are
// on a private tgtd beside libvirtd (iscsiTarget).
func TestGuestLifecycle(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	logDetected(t, d)
	testenv.LookPath(t, "genisoimage", "genisoimage")
	var port func(*testing.T) virt.GuestPort
	var ports []virt.GuestPort
	var bridge string
	var sw *ovs.Client
	if why := noSwitch(); why != "" && !testenv.CI() {
		t.Logf("no interface steps: %s", why)
	} else {
		bridge, sw = nicSwitch(t)
		port = func(*testing.T) virt.GuestPort {
			p := testPort(bridge)
			ports = append(ports, p)
			return p
		}
	}
	tg := iscsiTarget(t)
	virttest.Lifecycle(t, d, dir, virttest.Hooks{
		Port: port,
		Volume: func(t *testing.T) (virt.Disk, []byte) {
			data := []byte(uuid.NewString())
			return tg.Disk(t, data), data
		},
		BootVolume: func(t *testing.T, image string) virt.Disk { return tg.ImageDisk(t, image) },
		Grow:       func(t *testing.T, v virt.Disk, size int64) { tg.Grow(t, v, size) },
		Spawned:    func(t *testing.T, id string) { leaveNothing(t, d, id) },
		PoweredOff: func(t *testing.T, id string) {
			if reason := shutoffReason(t, d, id); reason != libvirt.DOMAIN_SHUTOFF_SHUTDOWN {
				t.Errorf("shut off for reason %d, want %d (the guest shut down)", reason, libvirt.DOMAIN_SHUTOFF_SHUTDOWN)
			}
		},
		SpawnedStopped: func(t *testing.T, id string) {
			if pids := qemuProcesses(domainName(id)); len(pids) > 0 {
				t.Fatalf("QEMU processes of a guest spawned stopped: %v", pids)
			}
		},
		Destroyed: func(t *testing.T, id string) {
			if _, err := os.Stat(guestDir(d.cfg.StateDir, id)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state directory after Destroy: %v", err)
			}
			if left := guestSecrets(t, d, id); len(left) > 0 {
				t.Errorf("secrets after Destroy: %v", left)
			}
			for _, p := range ports {
				switchPort(t, sw, bridge, p, false)
			}
		},
	})
}

// TestSpawnFailsCleanly: a guest QEMU cannot start (its disk is
// missing) leaves no domain, no process and no state directory.
func TestSpawnFailsCleanly(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	ctx := context.Background()
	id := uuid.NewString()
	leaveNothing(t, d, id)
	err := d.Spawn(ctx, virt.Guest{ID: id, VCPUs: 1, MemoryMB: 64,
		Disk: virt.Disk{Path: filepath.Join(dir, "missing.raw"), Format: "raw"}})
	if err == nil {
		t.Fatal("Spawn with a missing disk succeeded")
	}
	t.Logf("Spawn: %v", err)
	wantState(t, d, id, virt.PowerNoState)
	if _, err := os.Stat(guestDir(d.cfg.StateDir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after a failed Spawn: %v", err)
	}
}

func logDetected(t *testing.T, d *Driver) {
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	caps, err := c.GetCapabilities()
	if err != nil {
		t.Fatal(err)
	}
	detected, err := pickDomainType(caps)
	t.Logf("%s %d: the host offers domain type %q (%v); the test runs guests under %q",
		d.Info().HypervisorType, d.Info().HypervisorVersion, detected, err, d.DomainType())
}

func do(t *testing.T, name string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func wantState(t *testing.T, d *Driver, id string, want virt.PowerState) {
	t.Helper()
	if p, err := d.State(context.Background(), id); err != nil || p != want {
		t.Fatalf("state %v, %v; want %v", p, err, want)
	}
}

func shutoffReason(t *testing.T, d *Driver, id string) libvirt.DomainShutoffReason {
	t.Helper()
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	dom, err := c.LookupDomainByUUIDString(id)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	_, reason, err := dom.GetState()
	if err != nil {
		t.Fatal(err)
	}
	return libvirt.DomainShutoffReason(reason)
}

// TestPowerOffDeadline: a guest that ignores the power button (SeaBIOS
// with an empty disk: no OS) is turned off at the context's deadline; a
// cancelled context stops the wait and leaves the guest running.
func TestPowerOffDeadline(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	ctx := context.Background()
	disk := filepath.Join(dir, "empty.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	leaveNothing(t, d, id)
	do(t, "spawn", func() error {
		return d.Spawn(ctx, virt.Guest{ID: id, VCPUs: 1, MemoryMB: 64, Disk: virt.Disk{Path: disk, Format: "raw"}})
	})

	cancelled, cancel := context.WithCancel(ctx)
	time.AfterFunc(time.Second, cancel)
	if err := d.PowerOff(cancelled, id, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("PowerOff with a cancelled context: %v, want context.Canceled", err)
	}
	wantState(t, d, id, virt.PowerRunning)

	start := time.Now()
	deadline, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	do(t, "clean power off of a guest that ignores it", func() error { return d.PowerOff(deadline, id, true) })
	t.Logf("power off at a 3 s deadline: %v", time.Since(start).Round(time.Millisecond))
	wantState(t, d, id, virt.PowerShutdown)
	if reason := shutoffReason(t, d, id); reason != libvirt.DOMAIN_SHUTOFF_DESTROYED {
		t.Errorf("shut off for reason %d, want %d (destroyed at the deadline)", reason, libvirt.DOMAIN_SHUTOFF_DESTROYED)
	}
}

// TestReconnect: after libvirtd restarts, the call that finds the
// connection gone fails and the next one connects again.
func TestReconnect(t *testing.T) {
	d := qemuDriver(t, guestDirForQEMU(t))
	ctx := context.Background()
	if _, err := d.List(ctx); err != nil {
		t.Fatal(err)
	}
	restarted, err := daemons.restartLibvirtd()
	if err != nil {
		t.Fatal(err)
	}
	if !restarted {
		t.Skip("the machine's own libvirtd is in use: not this test's to restart")
	}
	_, err = d.List(ctx)
	t.Logf("first call after the restart: %v", err)
	if _, err := d.List(ctx); err != nil {
		t.Fatalf("second call after the restart: %v", err)
	}
}

// TestQEMUDefinesPorts: the QEMU driver takes the domain with Open
// vSwitch ports, a config drive and every disk bus (defined, validated
// against libvirt's schema, not started: the bridge belongs to the
// network agent), and keeps the ports as written.
func TestQEMUDefinesPorts(t *testing.T) {
	d := qemuDriver(t, guestDirForQEMU(t))
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	for _, bus := range []string{"virtio", "scsi", "sata", "ide"} {
		g := fakeGuest()
		g.Properties = map[string]string{"hw_disk_bus": bus, "hw_vif_model": "e1000"}
		doc, err := domainXML(g, d.DomainType(), d.cfg.StateDir, reach{})
		if err != nil {
			t.Fatal(err)
		}
		dom, err := c.DomainDefineXMLFlags(doc, libvirt.DOMAIN_DEFINE_VALIDATE)
		if err != nil {
			t.Fatalf("%s: define: %v", bus, err)
		}
		kept, err := dom.GetXMLDesc(0)
		if uerr := undefine(dom, g.ID); uerr != nil {
			t.Error(uerr)
		}
		dom.Free()
		if err != nil {
			t.Fatal(err)
		}
		p := g.Ports[0]
		for _, want := range []string{
			"<source bridge='" + p.Bridge + "'/>", "<virtualport type='openvswitch'>",
			"interfaceid='" + p.ID + "'", "<target dev='" + tapName(p.ID) + "'/>",
			"<mac address='" + p.MAC + "'/>", "<model type='e1000'/>", "<mtu size='1450'/>",
		} {
			if !strings.Contains(kept, want) {
				t.Errorf("%s: the defined domain lacks %q:\n%s", bus, want, kept)
			}
		}
	}
}
