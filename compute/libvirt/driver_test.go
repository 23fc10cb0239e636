//go:build cgo

package libvirt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
)

// testDomainUUID is the domain that libvirt's test driver starts with:
// not gostack's.
const testDomainUUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

// fakeDriver is a Driver on test:///default, libvirt's in-process fake
// (shared by every connection of the process: tests use fresh uuids).
func fakeDriver(t *testing.T) *Driver {
	t.Helper()
	d, err := New(context.Background(), Config{URI: "test:///default", StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("New on libvirt's test driver (needs the runtime library, Debian's libvirt0): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func fakeGuest() virt.Guest {
	id := uuid.NewString()
	return virt.Guest{
		ID: id, Name: "vm-" + id[:8], VCPUs: 1, MemoryMB: 128,
		Disk:      virt.Disk{Path: "/nonexistent/" + id + ".qcow2", Format: "qcow2"},
		Ports:     []virt.GuestPort{{ID: uuid.NewString(), MAC: "fa:16:3e:00:00:01", Bridge: "br-int", MTU: 1450}},
		ConfigISO: "/nonexistent/" + id + ".iso",
	}
}

func TestInfo(t *testing.T) {
	d := fakeDriver(t)
	if d.DomainType() != "test" {
		t.Errorf("domain type %q on the test driver, want test", d.DomainType())
	}
	info := d.Info()
	if info.Name != "libvirt" || info.HypervisorType != "TEST" || info.HypervisorVersion <= 0 ||
		!info.Pause || !info.Suspend || !info.ConsoleLog || !info.AttachInterface || !info.AttachVolume || !info.PlugsAtStart {
		t.Errorf("Info = %+v", info)
	}
}

// step is one driver call and the power state it leaves.
type step struct {
	name string
	do   func(d *Driver, ctx context.Context, id string) error
	want virt.PowerState
}

// TestLifecycle walks one guest through every operation, each twice
// where it must be idempotent.
func TestLifecycle(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	spawn := func(d *Driver, ctx context.Context, _ string) error { return d.Spawn(ctx, g) }
	steps := []step{
		{"spawn", spawn, virt.PowerRunning},
		{"spawn again", spawn, virt.PowerRunning},
		{"pause", (*Driver).Pause, virt.PowerPaused},
		{"pause again", (*Driver).Pause, virt.PowerPaused},
		{"unpause", (*Driver).Unpause, virt.PowerRunning},
		{"unpause again", (*Driver).Unpause, virt.PowerRunning},
		{"suspend", (*Driver).Suspend, virt.PowerShutdown},
		{"suspend again", (*Driver).Suspend, virt.PowerShutdown},
		{"resume", (*Driver).Resume, virt.PowerRunning},
		{"resume again", (*Driver).Resume, virt.PowerRunning},
		{"soft reboot", rebootSoft, virt.PowerRunning},
		{"hard reboot", rebootHard, virt.PowerRunning},
		{"clean power off", powerOff(true), virt.PowerShutdown},
		{"power off again", powerOff(true), virt.PowerShutdown},
		{"power on", (*Driver).PowerOn, virt.PowerRunning},
		{"power on again", (*Driver).PowerOn, virt.PowerRunning},
		{"hard power off", powerOff(false), virt.PowerShutdown},
		{"hard reboot of a guest that is off", rebootHard, virt.PowerRunning},
		{"pause before a hard reboot", (*Driver).Pause, virt.PowerPaused},
		{"hard reboot of a paused guest", rebootHard, virt.PowerRunning},
		{"suspend before a hard reboot", (*Driver).Suspend, virt.PowerShutdown},
		{"hard reboot of a suspended guest", rebootHard, virt.PowerRunning},
		{"clean power off of a paused guest", pauseThenOff, virt.PowerShutdown},
	}
	for _, s := range steps {
		if err := s.do(d, ctx, g.ID); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if p, err := d.State(ctx, g.ID); err != nil || p != s.want {
			t.Fatalf("%s: state %v, %v; want %v", s.name, p, err, s.want)
		}
	}
	// What the state does not allow.
	for name, do := range map[string]func(*Driver, context.Context, string) error{
		"soft reboot": rebootSoft, "pause": (*Driver).Pause, "unpause": (*Driver).Unpause,
		"suspend": (*Driver).Suspend, "resume": (*Driver).Resume,
	} {
		if err := do(d, ctx, g.ID); !errors.Is(err, ErrPowerState) {
			t.Errorf("%s of a guest that is off: %v, want ErrPowerState", name, err)
		}
	}
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := d.State(ctx, g.ID); err != nil || p != virt.PowerNoState {
		t.Fatalf("after Destroy: %v, %v", p, err)
	}
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatalf("Destroy of a guest that is gone: %v", err)
	}
	if err := d.PowerOn(ctx, g.ID); !errors.Is(err, ErrNoGuest) {
		t.Fatalf("PowerOn of a guest that is gone: %v, want ErrNoGuest", err)
	}
}

func rebootSoft(d *Driver, ctx context.Context, id string) error { return d.Reboot(ctx, id, false) }
func rebootHard(d *Driver, ctx context.Context, id string) error { return d.Reboot(ctx, id, true) }

func powerOff(clean bool) func(*Driver, context.Context, string) error {
	return func(d *Driver, ctx context.Context, id string) error { return d.PowerOff(ctx, id, clean) }
}

func pauseThenOff(d *Driver, ctx context.Context, id string) error {
	if err := d.PowerOn(ctx, id); err != nil {
		return err
	}
	if err := d.Pause(ctx, id); err != nil {
		return err
	}
	return d.PowerOff(ctx, id, true)
}

// TestDefinedAsBuilt: the domain libvirt keeps is the one domainXML
// built, with gostack's metadata, and Destroy removes it with its state
// directory.
func TestDefinedAsBuilt(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	g.ID = strings.ToUpper(g.ID) // ids are compared as uuids
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	id := strings.ToLower(g.ID)
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	dom, err := c.LookupDomainByName(domainName(id))
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<domain type='test'", "<uuid>" + id + "</uuid>", "gostack:instance", "<gostack:name>" + g.Name,
		"interfaceid='" + g.Ports[0].ID + "'", "<target dev='tap" + g.Ports[0].ID[:11] + "'/>", "<mtu size='1450'/>",
		"<readonly/>", consolePath(d.cfg.StateDir, id),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("defined domain lacks %q:\n%s", want, doc)
		}
	}
	if _, err := os.Stat(guestDir(d.cfg.StateDir, id)); err != nil {
		t.Errorf("state directory: %v", err)
	}
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(guestDir(d.cfg.StateDir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after Destroy: %v", err)
	}
	if _, err := c.LookupDomainByUUIDString(id); err == nil {
		t.Error("domain still defined after Destroy")
	}
}

// TestNotOurs: a domain without gostack's metadata is not listed and
// not touched.
func TestNotOurs(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, g.ID)
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range list {
		if s.ID == testDomainUUID {
			t.Errorf("List has the test driver's own domain: %+v", s)
		}
		if s.ID == g.ID {
			found = s.Name == g.Name && s.Power == virt.PowerRunning
		}
	}
	if !found {
		t.Errorf("List = %+v, want %s running named %s", list, g.ID, g.Name)
	}
	for name, err := range map[string]error{
		"Destroy":  d.Destroy(ctx, testDomainUUID),
		"PowerOff": d.PowerOff(ctx, testDomainUUID, false),
		"Spawn": d.Spawn(ctx, virt.Guest{ID: testDomainUUID, VCPUs: 1, MemoryMB: 64,
			Disk: virt.Disk{Path: "/x", Format: "raw"}}),
	} {
		if !errors.Is(err, ErrNotOurs) {
			t.Errorf("%s of the test driver's domain: %v, want ErrNotOurs", name, err)
		}
	}
	if _, err := d.State(ctx, testDomainUUID); !errors.Is(err, ErrNotOurs) {
		t.Errorf("State of the test driver's domain: %v, want ErrNotOurs", err)
	}

	// A domain carrying another guest's metadata is not ours either.
	copied := fakeGuest()
	doc, err := domainXML(g, "test", d.cfg.StateDir, reach{})
	if err != nil {
		t.Fatal(err)
	}
	doc = strings.ReplaceAll(doc, "<uuid>"+g.ID+"</uuid>", "<uuid>"+copied.ID+"</uuid>")
	doc = strings.ReplaceAll(doc, "<name>"+domainName(g.ID)+"</name>", "<name>copy-"+copied.ID+"</name>")
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	dom, err := c.DomainDefineXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { dom.Undefine(); dom.Free() }()
	if err := d.Destroy(ctx, copied.ID); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Destroy of a domain with copied metadata: %v, want ErrNotOurs", err)
	}
	list, err = d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == copied.ID {
			t.Errorf("List has the domain with copied metadata: %+v", s)
		}
	}
}

// TestSpawnRefused: a guest libvirt will not define leaves nothing
// behind, and one the builder refuses never reaches libvirt.
func TestSpawnRefused(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	g.Ports[0].MAC = "not-a-mac"
	if err := d.Spawn(ctx, g); err == nil {
		t.Fatal("Spawn with a bad MAC succeeded")
	} else {
		var lv libvirt.Error
		if !errors.As(err, &lv) || strings.Contains(err.Error(), "virError(") {
			t.Errorf("error %q: want libvirt's message, and libvirt.Error through errors.As", err)
		}
	}
	if p, err := d.State(ctx, g.ID); err != nil || p != virt.PowerNoState {
		t.Errorf("after a refused Spawn: %v, %v", p, err)
	}
	if _, err := os.Stat(guestDir(d.cfg.StateDir, g.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after a refused Spawn: %v", err)
	}
	g = fakeGuest()
	g.Disk = virt.Disk{Protocol: "nbd"}
	if err := d.Spawn(ctx, g); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("nbd root disk: %v, want ErrNotSupported", err)
	}
	g = fakeGuest()
	g.Disk = virt.Disk{Protocol: "rbd", Serial: "v1", Connection: map[string]string{"name": "volumes/volume-v1"}}
	if err := d.Spawn(ctx, g); !errors.Is(err, virt.ErrBadVolume) {
		t.Errorf("rbd root disk without monitors: %v, want ErrBadVolume", err)
	}
	if err := d.Spawn(ctx, virt.Guest{ID: "../../etc"}); err == nil {
		t.Error("a guest id that is not a uuid was accepted")
	}
}

// TestConcurrent: many Spawns of one guest make one domain; guests of
// different ids go on at once; every guest is destroyed after.
func TestConcurrent(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	same := fakeGuest()
	var guests []virt.Guest
	for range 8 {
		guests = append(guests, same, fakeGuest())
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(guests))
	for _, g := range guests {
		wg.Go(func() { errs <- d.Spawn(ctx, g) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, s := range list {
		n[s.ID]++
	}
	if n[same.ID] != 1 || len(n) < 9 {
		t.Errorf("after concurrent spawns: %d domains of the shared guest, %d guests", n[same.ID], len(n))
	}
	for _, g := range guests {
		wg.Go(func() {
			if err := d.Destroy(ctx, g.ID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err = d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		for _, g := range guests {
			if s.ID == g.ID {
				t.Errorf("%s still listed after Destroy", s.ID)
			}
		}
	}
}

func TestConsoleLog(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, g.ID)
	if b, err := d.ConsoleLog(ctx, g.ID); err != nil || len(b) != 0 {
		t.Fatalf("before any output: %q, %v", b, err)
	}
	// The test driver runs no guest: write what virtlogd would.
	var log strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&log, "line %d\n", i)
	}
	if err := os.WriteFile(consolePath(d.cfg.StateDir, g.ID), []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := virt.ConsoleLog(ctx, d, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != maxConsoleBytes || !strings.HasSuffix(string(b), "line 19999\n") {
		t.Errorf("console log: %d bytes ending %q", len(b), b[max(0, len(b)-20):])
	}
	if _, err := d.ConsoleLog(ctx, uuid.NewString()); !errors.Is(err, ErrNoGuest) {
		t.Errorf("console log of no guest: %v, want ErrNoGuest", err)
	}
}

func TestFactory(t *testing.T) {
	ctx := context.Background()
	var reg virt.Drivers
	if err := reg.Register("libvirt", Factory); err != nil {
		t.Fatal(err)
	}
	drv, err := reg.Open(ctx, "libvirt", map[string]string{"uri": "test:///default", "state_dir": t.TempDir(),
		"initiator_name": "iqn.1993-08.org.debian:01:compute-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.(*Driver).Close()
	if drv.Info().Name != "libvirt" || drv.(*Driver).cfg.InitiatorName != "iqn.1993-08.org.debian:01:compute-1" {
		t.Errorf("Info = %+v, initiator %q", drv.Info(), drv.(*Driver).cfg.InitiatorName)
	}
	// Its own ceph.conf, readable by a QEMU of another user.
	cfg := drv.(*Driver).cfg
	if fi, err := os.Stat(cfg.RBDConf); err != nil || fi.Mode().Perm() != 0o644 || filepath.Dir(cfg.RBDConf) != cfg.StateDir {
		t.Errorf("the driver's ceph.conf %s: %v, %v", cfg.RBDConf, fi, err)
	} else if b, _ := os.ReadFile(cfg.RBDConf); !strings.Contains(string(b), "\nclient mount timeout = 10\n") {
		t.Errorf("the driver's ceph.conf:\n%s", b)
	}
	const id = "457eb676-33da-42ec-9a8c-9293d545c337"
	drv2, err := Factory(ctx, map[string]string{"uri": "test:///default", "state_dir": t.TempDir(),
		"rbd_secrets": id + "=/etc/ceph/ceph.client.cinder.keyring", "rbd_conf": "/etc/ceph/ceph.conf"})
	if err != nil {
		t.Fatal(err)
	}
	defer drv2.(*Driver).Close()
	if cfg := drv2.(*Driver).cfg; !maps.Equal(cfg.RBDSecrets, virt.RBDSecrets{id: "/etc/ceph/ceph.client.cinder.keyring"}) || cfg.RBDConf != "/etc/ceph/ceph.conf" {
		t.Errorf("rbd settings: %+v", cfg)
	}
	for _, settings := range []map[string]string{
		{"uri": "test:///default"},                                                       // no state_dir
		{"uri": "test:///default", "state_dir": t.TempDir(), "x": ""},                    // unknown
		{"uri": "nonsense:///", "state_dir": t.TempDir()},                                // no such driver
		{"uri": "test:///default", "state_dir": t.TempDir(), "rbd_secrets": "cinder=/k"}, // not a uuid
	} {
		if drv, err := Factory(ctx, settings); err == nil || drv != nil {
			t.Errorf("Factory(%v) = %v, %v; want a nil Driver and an error", settings, drv, err)
		}
	}
}

func TestClosed(t *testing.T) {
	d, err := New(context.Background(), Config{URI: "test:///default", StateDir: filepath.Join(t.TempDir(), "new")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.List(context.Background()); err == nil {
		t.Error("List on a closed driver succeeded")
	}
}

// TestNovaPower: libvirt's states as Nova's LIBVIRT_POWER_STATE maps them.
func TestNovaPower(t *testing.T) {
	for st, want := range map[libvirt.DomainState]virt.PowerState{
		libvirt.DOMAIN_NOSTATE:     virt.PowerNoState,
		libvirt.DOMAIN_RUNNING:     virt.PowerRunning,
		libvirt.DOMAIN_BLOCKED:     virt.PowerRunning,
		libvirt.DOMAIN_PAUSED:      virt.PowerPaused,
		libvirt.DOMAIN_SHUTDOWN:    virt.PowerShutdown,
		libvirt.DOMAIN_SHUTOFF:     virt.PowerShutdown,
		libvirt.DOMAIN_CRASHED:     virt.PowerCrashed,
		libvirt.DOMAIN_PMSUSPENDED: virt.PowerSuspended,
	} {
		if got := novaPower(st); got != want {
			t.Errorf("novaPower(%s) = %v, want %v", stateName(st), got, want)
		}
	}
}

// TestEndedContext: a call whose context has ended starts nothing.
func TestEndedContext(t *testing.T) {
	d := fakeDriver(t)
	ctx, cancel := context.WithCancel(context.Background())
	g := fakeGuest()
	if err := d.Spawn(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(context.Background(), g.ID)
	cancel()
	other := fakeGuest()
	if err := d.Spawn(ctx, other); !errors.Is(err, context.Canceled) {
		t.Errorf("Spawn: %v, want context.Canceled", err)
	}
	if err := d.PowerOff(ctx, g.ID, false); !errors.Is(err, context.Canceled) {
		t.Errorf("PowerOff: %v, want context.Canceled", err)
	}
	if err := d.Destroy(ctx, g.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Destroy: %v, want context.Canceled", err)
	}
	for id, want := range map[string]virt.PowerState{g.ID: virt.PowerRunning, other.ID: virt.PowerNoState} {
		if p, err := d.State(context.Background(), id); err != nil || p != want {
			t.Errorf("%s: %v, %v; want %v", id, p, err, want)
		}
	}
}

// TestSpawnAfterHalfSpawn: a Spawn cut after it defined the domain and
// before it started it is finished by the next Spawn: the guest runs.
func TestSpawnAfterHalfSpawn(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	doc, err := domainXML(g, d.DomainType(), d.cfg.StateDir, reach{})
	if err != nil {
		t.Fatal(err)
	}
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := c.DomainDefineXMLFlags(doc, 0)
	if err != nil {
		t.Fatal(err)
	}
	dom.Free()
	done()
	if p, err := d.State(ctx, g.ID); err != nil || p != virt.PowerShutdown {
		t.Fatalf("defined, not started: %v %v", p, err)
	}
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	if p, err := d.State(ctx, g.ID); err != nil || p != virt.PowerRunning {
		t.Fatalf("after the second spawn: %v %v", p, err)
	}
}

// TestSpawnStopped: a Stopped Spawn defines the domain and does not
// start it, a second one leaves it off, and so does one after a
// Stopped Spawn cut before it returned (the domain defined: all it
// does); PowerOn starts it, and a Stopped Spawn of a running guest
// leaves it running.
func TestSpawnStopped(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	g.Stopped = true
	want := func(what string, p virt.PowerState) {
		t.Helper()
		if got, err := d.State(ctx, g.ID); err != nil || got != p {
			t.Fatalf("%s: state %v, %v; want %v", what, got, err, p)
		}
	}
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	want("spawned stopped", virt.PowerShutdown)
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(list, virt.GuestState{ID: g.ID, Name: g.Name, Power: virt.PowerShutdown}) {
		t.Fatalf("List = %+v, want %s shutdown", list, g.ID)
	}
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	want("spawned stopped again", virt.PowerShutdown)
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	want("powered on", virt.PowerRunning)
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	want("a running guest spawned stopped", virt.PowerRunning)
	if err := d.Destroy(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
}

// TestInterfaceTestDriver: what libvirt's test driver lets the
// interface hot-plug show (it has no device attach or detach, which is
// its virt.ErrNotSupported): a port the definition has is attached
// already, a port it lacks is detached already, neither reaching
// libvirt; a paused guest refuses a detach, a suspended one the rest;
// no guest, a domain not ours and an ended context are errors. The attaching itself is
// integration_test.go's, on the system libvirtd.
func TestInterfaceTestDriver(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, g.ID)
	have := g.Ports[0]
	other := virt.GuestPort{ID: uuid.NewString(), MAC: "fa:16:3e:00:00:02", Bridge: "br-int", MTU: 1450}
	before := definition(t, d, g.ID)

	for _, s := range []struct {
		name string
		err  error
	}{
		{"attach the port it has", virt.AttachInterface(ctx, d, g.ID, have)},
		{"detach a port it lacks", virt.DetachInterface(ctx, d, g.ID, other.ID)},
	} {
		if s.err != nil {
			t.Errorf("%s: %v", s.name, s.err)
		}
	}
	err := d.AttachInterface(ctx, g.ID, other)
	var lv libvirt.Error
	if !errors.Is(err, virt.ErrNotSupported) || !errors.As(err, &lv) || lv.Code != libvirt.ERR_NO_SUPPORT {
		t.Errorf("attach on the test driver: %v, want virt.ErrNotSupported and libvirt's error", err)
	}
	if err := d.DetachInterface(ctx, g.ID, have.ID); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("detach on the test driver: %v, want virt.ErrNotSupported", err)
	}
	clash := other
	clash.MAC = have.MAC
	if err := d.AttachInterface(ctx, g.ID, clash); err == nil || errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of a port with another NIC's MAC: %v, want the clash", err)
	}
	if after := definition(t, d, g.ID); after != before {
		t.Errorf("the definition changed:\n%s\nwas\n%s", after, before)
	}

	if err := d.Pause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.DetachInterface(ctx, g.ID, have.ID); !errors.Is(err, ErrPowerState) || !strings.Contains(err.Error(), "paused") {
		t.Errorf("detach from a paused guest: %v, want ErrPowerState", err)
	}
	if err := d.Suspend(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"attach a new port": d.AttachInterface(ctx, g.ID, other),
		"detach a port":     d.DetachInterface(ctx, g.ID, have.ID),
	} {
		if !errors.Is(err, ErrPowerState) || !strings.Contains(err.Error(), "suspended") {
			t.Errorf("%s of a suspended guest: %v, want ErrPowerState", name, err)
		}
	}
	if err := d.AttachInterface(ctx, g.ID, have); err != nil {
		t.Errorf("attach of the port a suspended guest has: %v", err)
	}
	if err := d.DetachInterface(ctx, g.ID, other.ID); err != nil {
		t.Errorf("detach of a port a suspended guest lacks: %v", err)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	for _, s := range []struct {
		name      string
		err, want error
	}{
		{"attach to no guest", d.AttachInterface(ctx, uuid.NewString(), other), ErrNoGuest},
		{"detach from no guest", d.DetachInterface(ctx, uuid.NewString(), other.ID), ErrNoGuest},
		{"attach to a domain not ours", d.AttachInterface(ctx, testDomainUUID, other), ErrNotOurs},
		{"detach from a domain not ours", d.DetachInterface(ctx, testDomainUUID, other.ID), ErrNotOurs},
		{"attach, context ended", d.AttachInterface(ended, g.ID, have), context.Canceled},
		{"detach, context ended", d.DetachInterface(ended, g.ID, other.ID), context.Canceled},
	} {
		if !errors.Is(s.err, s.want) {
			t.Errorf("%s: %v, want %v", s.name, s.err, s.want)
		}
	}
}

// definition is a guest's persistent XML.
func definition(t *testing.T, d *Driver, id string) string {
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
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestVolumeTestDriver: libvirt's test driver has no secrets and no
// device attach, which is its virt.ErrNotSupported for a volume, iscsi
// with or without CHAP, rbd with or without cephx; an rbd volume
// without a connection is ErrBadVolume; a volume the guest lacks is
// detached already; the definition is left as it was.
func TestVolumeTestDriver(t *testing.T) {
	d := fakeDriver(t)
	ctx := context.Background()
	g := fakeGuest()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, g.ID)
	before := definition(t, d, g.ID)
	v := testVolume(uuid.NewString())
	if err := virt.AttachVolume(ctx, d, g.ID, v); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach with CHAP on the test driver: %v, want virt.ErrNotSupported", err)
	}
	v.Connection["auth_method"] = "None"
	if err := virt.AttachVolume(ctx, d, g.ID, v); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach without CHAP on the test driver: %v, want virt.ErrNotSupported", err)
	}
	if err := virt.DetachVolume(ctx, d, g.ID, v.Serial); err != nil {
		t.Errorf("detach of a volume the guest lacks: %v", err)
	}
	if err := d.AttachVolume(ctx, g.ID, virt.Disk{Protocol: "nbd", Serial: "n1"}); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of an nbd volume: %v, want virt.ErrNotSupported", err)
	}
	if err := d.AttachVolume(ctx, g.ID, virt.Disk{Protocol: "rbd", Serial: "r1"}); !errors.Is(err, virt.ErrBadVolume) {
		t.Errorf("attach of an rbd volume without a connection: %v, want virt.ErrBadVolume", err)
	}
	r := rbdVolume(uuid.NewString())
	if err := virt.AttachVolume(ctx, d, g.ID, r); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of an rbd volume on the test driver: %v, want virt.ErrNotSupported", err)
	}
	r.Connection["auth_enabled"] = "false"
	if err := virt.AttachVolume(ctx, d, g.ID, r); !errors.Is(err, virt.ErrNotSupported) {
		t.Errorf("attach of an rbd volume without cephx on the test driver: %v, want virt.ErrNotSupported", err)
	}
	if after := definition(t, d, g.ID); after != before {
		t.Errorf("the definition changed:\n%s\nwas\n%s", after, before)
	}
}
