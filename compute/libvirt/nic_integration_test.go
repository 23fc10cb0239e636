//go:build cgo

package libvirt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// nicSwitch is an Open vSwitch bridge the system libvirtd plugs guest
// NICs into, and a client of the switch's database, where libvirt's
// ovs-vsctl writes the ports. When this binary started libvirtd, the
// switch is a private one beside it in its namespace (daemons), and the
// bridge is br-int on the userspace datapath, where the taps are really
// attached. The machine's own libvirtd plugs into the host's Open
// vSwitch: the bridge is then a test bridge there. The bridge is
// deleted at the end.
func nicSwitch(t *testing.T) (bridge string, sw *ovs.Client) {
	t.Helper()
	if why := noSwitch(); why != "" {
		if testenv.CI() {
			t.Fatal(why + " [CI=true: integration tests may not skip]")
		}
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var db string
	opts := ovs.BridgeOptions{}
	if daemons.dir != "" {
		o, err := daemons.startSwitch()
		if err != nil {
			t.Fatalf("Open vSwitch beside libvirtd: %v", err)
		}
		db, bridge, opts.DatapathType = o.DB, "br-int", "netdev"
	} else {
		sys, _ := ovs.System()
		db, bridge = sys.DB, fmt.Sprintf("gslv%04x", rand.IntN(1<<16))
	}
	sw, err := ovs.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	if err := sw.EnsureBridge(ctx, bridge, opts); err != nil {
		t.Fatal(err)
	}
	// libvirtd reads the bridge's MTU from its device, which
	// ovs-vswitchd makes after the database has the bridge: wait for
	// both, or a spawn right after can fail with "Cannot get interface
	// MTU on 'br-int': No such device" (seen in CI).
	if _, err := sw.WaitOFPort(ctx, bridge); err != nil {
		t.Fatalf("bridge %s: %v", bridge, err)
	}
	bridgeDevice(ctx, t, bridge)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sw.DeleteBridge(ctx, bridge); err != nil {
			t.Errorf("delete bridge %s: %v", bridge, err)
		}
	})
	return bridge, sw
}

// bridgeDevice waits until the bridge's network device exists where
// libvirtd makes its guests' taps (the daemons' namespace, or the host).
func bridgeDevice(ctx context.Context, t *testing.T, bridge string) {
	t.Helper()
	h, err := netlink.NewHandle()
	if daemons.dir != "" {
		h, err = netlink.NewHandleAt(daemons.ns)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for {
		_, err := h.LinkByName(bridge)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no device for bridge %s: %v", bridge, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// noSwitch says why nicSwitch cannot make a bridge for the system
// libvirtd (call systemLibvirt first); "" when it can.
func noSwitch() string {
	if daemons.dir == "" {
		if _, ok := ovs.System(); !ok {
			return "the machine's own libvirtd plugs NICs into the host's Open vSwitch, and none runs"
		}
		return ""
	}
	for _, p := range ovstest.Programs {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Sprintf("Open vSwitch is not installed (%s: %v): apt-get install openvswitch-switch", p, err)
		}
	}
	return ""
}

// switchPort is the switch's interface of port p (its tap), once it
// has one, up to 10 s.
func switchPort(t *testing.T, sw *ovs.Client, bridge string, p virt.GuestPort, want bool) ovs.Interface {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found *ovs.Interface
		for _, ifc := range sw.Interfaces(bridge) {
			if ifc.Name == tapName(p.ID) {
				found = &ifc
			}
		}
		if (found != nil) == want {
			if found == nil {
				return ovs.Interface{}
			}
			return *found
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s on %s: found %v after 10 s, want %v (%+v)", p.ID, bridge, found != nil, want, sw.Interfaces(bridge))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// domainXMLOf is a guest's running domain (live) or definition.
func domainXMLOf(t *testing.T, d *Driver, id string, live bool) string {
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
	flags := libvirt.DOMAIN_XML_INACTIVE
	if live {
		flags = 0
	}
	doc, err := dom.GetXMLDesc(flags)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// hasNIC says whether a guest's running domain (live) or definition has
// port p's NIC.
func hasNIC(t *testing.T, d *Driver, id string, p virt.GuestPort, live bool) bool {
	t.Helper()
	dom, err := parseDomain(domainXMLOf(t, d, id, live))
	if err != nil {
		t.Fatal(err)
	}
	return portNIC(dom, p.ID) != nil
}

func testPort(bridge string) virt.GuestPort {
	id := uuid.NewString()
	return virt.GuestPort{ID: id, MAC: fmt.Sprintf("fa:16:3e:%s:%s:%s", id[0:2], id[2:4], id[4:6]), Bridge: bridge, MTU: 1450}
}

// TestInterfaceStopped: a stopped guest's NICs are attached to and
// detached from its definition alone (no switch needed: libvirt plugs
// nothing until the guest starts), each call twice.
func TestInterfaceStopped(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	ctx := context.Background()
	g := virt.Guest{ID: uuid.NewString(), Name: "nics", VCPUs: 1, MemoryMB: 64,
		Disk: virt.Disk{Path: filepath.Join(dir, "empty.raw"), Format: "raw"}, Properties: map[string]string{"hw_vif_model": "e1000"}}
	doc, err := domainXML(g, d.DomainType(), d.cfg.StateDir, reach{})
	if err != nil {
		t.Fatal(err)
	}
	leaveNothing(t, d, g.ID)
	c, done, err := d.connect()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := c.DomainDefineXMLFlags(doc, libvirt.DOMAIN_DEFINE_VALIDATE)
	done()
	if err != nil {
		t.Fatal(err)
	}
	dom.Free()

	p := testPort("br-int")
	do(t, "attach", func() error { return virt.AttachInterface(ctx, d, g.ID, p) })
	defined := domainXMLOf(t, d, g.ID, false)
	for _, want := range []string{
		"<source bridge='br-int'/>", "<virtualport type='openvswitch'>", "interfaceid='" + p.ID + "'",
		"<target dev='" + tapName(p.ID) + "'/>", "<mac address='" + p.MAC + "'/>", "<model type='e1000'/>", "<mtu size='1450'/>",
	} {
		if !strings.Contains(defined, want) {
			t.Errorf("the definition lacks %q:\n%s", want, defined)
		}
	}
	do(t, "attach again", func() error { return virt.AttachInterface(ctx, d, g.ID, p) })
	if again := domainXMLOf(t, d, g.ID, false); again != defined {
		t.Errorf("a second attach changed the definition:\n%s", again)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)
	do(t, "detach", func() error { return virt.DetachInterface(ctx, d, g.ID, p.ID) })
	if hasNIC(t, d, g.ID, p, false) {
		t.Errorf("the definition keeps the NIC after detach:\n%s", domainXMLOf(t, d, g.ID, false))
	}
	do(t, "detach again", func() error { return virt.DetachInterface(ctx, d, g.ID, p.ID) })
	wantState(t, d, g.ID, virt.PowerShutdown)
}

// TestInterfaceHotplugNoOS: NICs hot-plugged into a running guest with
// no operating system (SeaBIOS on an empty disk), which therefore never
// lets go of one: attach puts the NIC in the running guest and its
// definition and libvirt's port on the switch, once however often it is
// asked; a detach the guest does not answer ends at the context's
// deadline with ErrStillAttached and keeps the NIC; a paused guest gets
// a NIC at once and refuses to lose one (it cannot let go); a stopped
// one loses a NIC from its definition (so not at its next start), and a
// suspended one refuses both.
func TestInterfaceHotplugNoOS(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	bridge, sw := nicSwitch(t)
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
	p1, p2 := testPort(bridge), testPort(bridge)

	start := time.Now()
	do(t, "attach", func() error { return d.AttachInterface(ctx, id, p1) })
	t.Logf("attach to a running guest: %v", time.Since(start).Round(time.Millisecond))
	if !hasNIC(t, d, id, p1, true) || !hasNIC(t, d, id, p1, false) {
		t.Fatalf("after attach: running %v, defined %v", hasNIC(t, d, id, p1, true), hasNIC(t, d, id, p1, false))
	}
	ifc := switchPort(t, sw, bridge, p1, true)
	if ifc.ExternalIDs["iface-id"] != p1.ID || ifc.ExternalIDs["attached-mac"] != p1.MAC {
		t.Errorf("switch port %+v: want iface-id %s, attached-mac %s", ifc, p1.ID, p1.MAC)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if _, err := sw.WaitOFPort(wctx, tapName(p1.ID)); err != nil {
		t.Errorf("the tap is not on the bridge: %v", err)
	}
	cancel()
	live := domainXMLOf(t, d, id, true)
	do(t, "attach again", func() error { return d.AttachInterface(ctx, id, p1) })
	if again := domainXMLOf(t, d, id, true); strings.Count(again, "<interface ") != 1 {
		t.Fatalf("a second attach changed the running guest:\n%s\nwas\n%s", again, live)
	}

	start = time.Now()
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := d.DetachInterface(dctx, id, p1.ID)
	cancel()
	t.Logf("detach from a guest with no OS: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if !errors.Is(err, ErrStillAttached) {
		t.Fatalf("detach that the guest does not answer: %v, want ErrStillAttached", err)
	}
	if !hasNIC(t, d, id, p1, true) || !hasNIC(t, d, id, p1, false) {
		t.Errorf("after a detach the guest did not answer: running %v, defined %v; want both", hasNIC(t, d, id, p1, true), hasNIC(t, d, id, p1, false))
	}

	do(t, "pause", func() error { return d.Pause(ctx, id) })
	do(t, "attach to a paused guest", func() error { return d.AttachInterface(ctx, id, p2) })
	if !hasNIC(t, d, id, p2, true) || !hasNIC(t, d, id, p2, false) {
		t.Errorf("after attach to a paused guest: running %v, defined %v", hasNIC(t, d, id, p2, true), hasNIC(t, d, id, p2, false))
	}
	switchPort(t, sw, bridge, p2, true)
	if err := d.DetachInterface(ctx, id, p2.ID); !errors.Is(err, ErrPowerState) {
		t.Errorf("detach from a paused guest: %v, want ErrPowerState", err)
	}
	if !hasNIC(t, d, id, p2, true) || !hasNIC(t, d, id, p2, false) {
		t.Error("a refused detach from a paused guest changed it")
	}
	do(t, "unpause", func() error { return d.Unpause(ctx, id) })

	do(t, "power off", func() error { return d.PowerOff(ctx, id, false) })
	do(t, "detach from a stopped guest", func() error { return d.DetachInterface(ctx, id, p1.ID) })
	if hasNIC(t, d, id, p1, false) {
		t.Error("a stopped guest's definition keeps a detached NIC")
	}
	do(t, "power on", func() error { return d.PowerOn(ctx, id) })
	if hasNIC(t, d, id, p1, true) || !hasNIC(t, d, id, p2, true) {
		t.Errorf("started again: port 1's NIC %v (want none), port 2's %v (want it)", hasNIC(t, d, id, p1, true), hasNIC(t, d, id, p2, true))
	}
	switchPort(t, sw, bridge, p1, false)
	switchPort(t, sw, bridge, p2, true)

	do(t, "suspend", func() error { return d.Suspend(ctx, id) })
	if err := d.AttachInterface(ctx, id, p1); !errors.Is(err, ErrPowerState) {
		t.Errorf("attach to a suspended guest: %v, want ErrPowerState", err)
	}
	if err := d.DetachInterface(ctx, id, p2.ID); !errors.Is(err, ErrPowerState) {
		t.Errorf("detach from a suspended guest: %v, want ErrPowerState", err)
	}
	do(t, "resume", func() error { return d.Resume(ctx, id) })
	if !hasNIC(t, d, id, p2, true) || hasNIC(t, d, id, p1, true) {
		t.Errorf("resumed: port 1's NIC %v (want none), port 2's %v (want it)", hasNIC(t, d, id, p1, true), hasNIC(t, d, id, p2, true))
	}
	do(t, "destroy", func() error { return d.Destroy(ctx, id) })
	switchPort(t, sw, bridge, p2, false)
}

// TestDetachEarly: a detach asked as soon as the guest started, before
// its OS could take the request, is asked again until the guest lets
// go; the call returns once the NIC has gone from the running guest
// and its definition, and libvirt's port from the switch.
func TestDetachEarly(t *testing.T) {
	dir := guestDirForQEMU(t)
	d := qemuDriver(t, dir)
	bridge, sw := nicSwitch(t)
	img, err := os.ReadFile(guesttest.Image(t))
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(disk, img, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := testPort(bridge)
	id := uuid.NewString()
	leaveNothing(t, d, id)
	do(t, "spawn", func() error {
		return d.Spawn(ctx, virt.Guest{ID: id, VCPUs: 1, MemoryMB: 256, Disk: virt.Disk{Path: disk, Format: "raw"}, Ports: []virt.GuestPort{p}})
	})
	switchPort(t, sw, bridge, p, true)
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	do(t, "detach at once", func() error { return d.DetachInterface(dctx, id, p.ID) })
	t.Logf("detach as the guest starts: %v", time.Since(start).Round(10*time.Millisecond))
	if hasNIC(t, d, id, p, true) || hasNIC(t, d, id, p, false) {
		t.Errorf("after detach: running %v, defined %v; want neither", hasNIC(t, d, id, p, true), hasNIC(t, d, id, p, false))
	}
	switchPort(t, sw, bridge, p, false)
}
