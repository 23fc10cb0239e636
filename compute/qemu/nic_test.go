package qemu

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/virt"
)

func TestFillSlots(t *testing.T) {
	ports := func(ids ...string) []virt.GuestPort {
		var out []virt.GuestPort
		for _, id := range ids {
			out = append(out, virt.GuestPort{ID: id})
		}
		return out
	}
	disk, iso := virt.Disk{Path: "/d.qcow2"}, "/config.iso"
	for _, c := range []struct {
		name string
		g    definition
		want map[string]int
		err  string
	}{
		{name: "a guest.json without slots gets QEMU's old ones",
			g:    definition{Guest: virt.Guest{Disk: disk, ConfigISO: iso, Ports: ports("a", "b")}},
			want: map[string]int{"a": 4, "b": 5}},
		{name: "no disk, no config drive",
			g:    definition{Guest: virt.Guest{Ports: ports("a")}},
			want: map[string]int{"a": 2}},
		{name: "a root disk only",
			g:    definition{Guest: virt.Guest{Disk: disk, Ports: ports("a", "b")}},
			want: map[string]int{"a": 3, "b": 4}},
		{name: "the others keep theirs; a new port takes the lowest free",
			g:    definition{Guest: virt.Guest{Disk: disk, ConfigISO: iso, Ports: ports("b", "c")}, Slots: map[string]int{"b": 5}},
			want: map[string]int{"b": 5, "c": 4}},
		{name: "a detached port's slot is forgotten",
			g:    definition{Guest: virt.Guest{Ports: ports("a")}, Slots: map[string]int{"a": 7, "gone": 2}},
			want: map[string]int{"a": 7}},
		{name: "no ports",
			g:    definition{Guest: virt.Guest{Disk: disk}},
			want: map[string]int{}},
		{name: "a slot a disk has",
			g:   definition{Guest: virt.Guest{Disk: disk, ConfigISO: iso, Ports: ports("a")}, Slots: map[string]int{"a": 3}},
			err: "taken or out of range"},
		{name: "a slot past the bus",
			g:   definition{Guest: virt.Guest{Ports: ports("a")}, Slots: map[string]int{"a": 32}},
			err: "taken or out of range"},
		{name: "one slot twice",
			g:   definition{Guest: virt.Guest{Ports: ports("a", "b")}, Slots: map[string]int{"a": 6, "b": 6}},
			err: "taken or out of range"},
		{name: "the bus full",
			g:   definition{Guest: virt.Guest{Ports: ports(strings.Split("abcdefghijklmnopqrstuvwxyzABCDEF", "")...)}},
			err: "no free PCI slot"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.g.fillSlots()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("fillSlots: %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(c.g.Slots, c.want) {
				t.Fatalf("slots %v, want %v", c.g.Slots, c.want)
			}
		})
	}
}

func TestLiveNIC(t *testing.T) {
	p := virt.GuestPort{ID: "3f8a2c1e-5b7d-4e0f-9a61-2d4c8b7e6f10"}
	for _, c := range []struct {
		name string
		devs []pciDevice
		slot int
		want string
	}{
		{"named for the port", []pciDevice{{Slot: 2, QdevID: "root"}, {Slot: 6, QdevID: nicID(p.ID)}}, 6, nicID(p.ID)},
		{"named for the port, whatever its slot", []pciDevice{{Slot: 9, QdevID: nicID(p.ID)}}, 6, nicID(p.ID)},
		{"named by position, in the port's slot", []pciDevice{{Slot: 4, QdevID: "net0"}, {Slot: 5, QdevID: "net1"}}, 5, "net1"},
		{"named by position, in another slot", []pciDevice{{Slot: 4, QdevID: "net0"}}, 5, ""},
		{"a disk in the port's slot", []pciDevice{{Slot: 3, QdevID: "config"}}, 3, ""},
		{"another port's NIC in the slot", []pciDevice{{Slot: 3, QdevID: "net-other"}}, 3, ""},
		{"an unnamed device in the slot", []pciDevice{{Slot: 3}}, 3, ""},
		{"none", nil, 3, ""},
	} {
		if got := liveNIC(c.devs, p, c.slot); got != c.want {
			t.Errorf("%s: liveNIC = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestNICOptions(t *testing.T) {
	p := virt.GuestPort{ID: "3f8a2c1e-5b7d-4e0f-9a61-2d4c8b7e6f10", MAC: "fa:16:3e:11:22:33", MTU: 1450}
	if got, want := keyval(netdev(p)), "tap,downscript=no,id=net-"+p.ID+",ifname=tap3f8a2c1e-5b,script=no"; got != want {
		t.Errorf("-netdev %s, want %s", got, want)
	}
	if got, want := device(nic(p, 17)), `{"addr":"0x11","csum":false,"driver":"virtio-net-pci","guest_csum":false,"host_mtu":1450,"id":"net-`+p.ID+`","mac":"fa:16:3e:11:22:33","netdev":"net-`+p.ID+`"}`; got != want {
		t.Errorf("-device %s, want %s", got, want)
	}
}

// offGuest is a guest whose guest.json is there and whose QEMU never
// ran: the state of a spawned guest that is off, as far as the
// interface operations look.
func offGuest(t *testing.T, d *Driver, ports ...virt.GuestPort) (virt.Guest, files) {
	t.Helper()
	g := tinyGuest()
	g.Ports = ports
	f := guestFiles(d.cfg.StateDir, g.ID)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	def := &definition{Guest: g}
	if err := def.fillSlots(); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(f, def); err != nil {
		t.Fatal(err)
	}
	return g, f
}

func loaded(t *testing.T, f files) *definition {
	t.Helper()
	g, err := loadGuest(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func portIDs(g *definition) []string {
	var out []string
	for _, p := range g.Ports {
		out = append(out, p.ID)
	}
	return out
}

// hooks records Config.Plug and Config.Unplug calls by port id; Plug
// fails for a port in failPlug.
type hooks struct {
	plugged, unplugged []string
	failPlug           map[string]bool
}

func (h *hooks) config(c *Config) {
	c.Plug = func(_ context.Context, p virt.GuestPort, tap string) error {
		h.plugged = append(h.plugged, p.ID)
		if h.failPlug[p.ID] {
			return errors.New("the network did not come up")
		}
		return nil
	}
	c.Unplug = func(_ context.Context, p virt.GuestPort, tap string) error {
		h.unplugged = append(h.unplugged, p.ID)
		return nil
	}
}

// TestInterfaceOff: interfaces of a guest that is off are its
// definition's: an attach plugs the port and writes it (with a slot
// that stays), a second one is nothing, a detach unplugs it and takes
// it out, a second one is nothing; a failed plug leaves nothing; what
// cannot name a NIC is refused before anything is done.
func TestInterfaceOff(t *testing.T) {
	requireNetAdmin(t)
	h := &hooks{failPlug: map[string]bool{}}
	d := newDriver(t, "", h.config)
	a, b, c := testPort(), testPort(), testPort()
	g, f := offGuest(t, d, a)
	t.Cleanup(func() { leaveNothing(t, d.cfg.StateDir, virt.Guest{ID: g.ID, Ports: []virt.GuestPort{a, b, c}}) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if err := d.AttachInterface(ctx, g.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachInterface(ctx, g.ID, b); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	if !slices.Equal(h.plugged, []string{b.ID}) || !tapExists(b) {
		t.Fatalf("plugged %v (tap there: %v), want %s once", h.plugged, tapExists(b), b.ID)
	}
	def := loaded(t, f)
	if !slices.Equal(portIDs(def), []string{a.ID, b.ID}) || def.Slots[a.ID] != 2 || def.Slots[b.ID] != 3 {
		t.Fatalf("after attach: ports %v, slots %v", portIDs(def), def.Slots)
	}
	wantState(t, d, g.ID, virt.PowerShutdown)

	if err := d.DetachInterface(ctx, g.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.DetachInterface(ctx, g.ID, a.ID); err != nil {
		t.Fatalf("detach again: %v", err)
	}
	if !slices.Equal(h.unplugged, []string{a.ID}) {
		t.Fatalf("unplugged %v, want %s once", h.unplugged, a.ID)
	}
	def = loaded(t, f)
	if !slices.Equal(portIDs(def), []string{b.ID}) || def.Slots[b.ID] != 3 {
		t.Fatalf("after detach: ports %v, slots %v (the other NIC must keep its slot)", portIDs(def), def.Slots)
	}

	// A plug that fails: the port goes again (unplugged, its tap
	// deleted, out of the definition).
	h.failPlug[c.ID] = true
	err := d.AttachInterface(ctx, g.ID, c)
	if err == nil || !strings.Contains(err.Error(), "did not come up") {
		t.Fatalf("attach with a failing plug: %v", err)
	}
	if tapExists(c) || h.unplugged[len(h.unplugged)-1] != c.ID || slices.Contains(portIDs(loaded(t, f)), c.ID) {
		t.Fatalf("a failed attach left its port: tap %v, unplugged %v, ports %v", tapExists(c), h.unplugged, portIDs(loaded(t, f)))
	}
	h.failPlug[c.ID] = false
	if err := d.AttachInterface(ctx, g.ID, c); err != nil {
		t.Fatal(err)
	}
	if def := loaded(t, f); def.Slots[c.ID] != 2 {
		t.Fatalf("the new port's slot %d, want 2 (the lowest free)", def.Slots[c.ID])
	}

	for _, bad := range []virt.GuestPort{{ID: "a,b", MAC: a.MAC}, {ID: "a/b", MAC: a.MAC}, {ID: "", MAC: a.MAC}, {ID: "p1", MAC: "nope"}} {
		if err := d.AttachInterface(ctx, g.ID, bad); err == nil {
			t.Errorf("attach of port %+v accepted", bad)
		}
	}
	if err := d.AttachInterface(ctx, tinyGuest().ID, testPort()); !errors.Is(err, ErrNoGuest) {
		t.Errorf("attach to no guest: %v", err)
	}
	if err := d.DetachInterface(ctx, tinyGuest().ID, a.ID); !errors.Is(err, ErrNoGuest) {
		t.Errorf("detach from no guest: %v", err)
	}
}

// TestInterfaceSuspended: a suspended guest refuses an interface
// change and is left as it was; what is already so (a port it has
// attached, one it has not detached) is nothing.
func TestInterfaceSuspended(t *testing.T) {
	h := &hooks{}
	d := newDriver(t, "", h.config)
	a, b := testPort(), testPort()
	g, f := offGuest(t, d, a)
	if err := os.WriteFile(f.state, []byte("saved memory"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(f.guest)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.AttachInterface(ctx, g.ID, b); !errors.Is(err, ErrSuspended) {
		t.Fatalf("attach to a suspended guest: %v", err)
	}
	if err := d.DetachInterface(ctx, g.ID, a.ID); !errors.Is(err, ErrSuspended) {
		t.Fatalf("detach from a suspended guest: %v", err)
	}
	if err := d.AttachInterface(ctx, g.ID, a); err != nil {
		t.Fatalf("attach of a port the suspended guest has: %v", err)
	}
	if err := d.DetachInterface(ctx, g.ID, b.ID); err != nil {
		t.Fatalf("detach of a port the suspended guest lacks: %v", err)
	}
	after, err := os.ReadFile(f.guest)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) || len(h.plugged)+len(h.unplugged) > 0 {
		t.Fatalf("a suspended guest changed: plugged %v, unplugged %v, guest.json\n%s", h.plugged, h.unplugged, after)
	}
	wantState(t, d, g.ID, virt.PowerSuspended)
}

// layout is the running guest's PCI devices, QEMU id to slot.
func layout(t *testing.T, d *Driver, id string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var devs []pciDevice
	err := withMonitor(ctx, guestFiles(d.cfg.StateDir, id).qmp, func(m *monitor) (err error) {
		devs, err = m.pciDevices(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, dev := range devs {
		if dev.QdevID != "" {
			out[dev.QdevID] = dev.Slot
		}
	}
	return out
}

// TestInterfaceHotplug: a running guest's NICs under a QEMU whose
// guest (SeaBIOS, no OS) never acts on a hot-plug: a NIC is added at
// once (running or paused) in the port's slot, with its MAC, once; an
// attach that stopped after writing guest.json (and after netdev_add)
// is finished by the next; a detach the guest does not answer ends at
// ctx's deadline with the NIC and the port as they were, and a paused
// guest's is refused at once.
func TestInterfaceHotplug(t *testing.T) {
	requireNetAdmin(t)
	h := &hooks{}
	d := newDriver(t, "", h.config)
	a, b, c, p := testPort(), testPort(), testPort(), testPort()
	g := tinyGuest()
	g.Ports = []virt.GuestPort{a}
	spawn(t, d, g)
	t.Cleanup(func() { leaveNothing(t, d.cfg.StateDir, virt.Guest{ID: g.ID, Ports: []virt.GuestPort{b, c, p}}) })
	waitRunning(t, d, g.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := guestFiles(d.cfg.StateDir, g.ID)

	start := time.Now()
	if err := d.AttachInterface(ctx, g.ID, b); err != nil {
		t.Fatal(err)
	}
	t.Logf("hot-plug: %v", time.Since(start))
	if err := d.AttachInterface(ctx, g.ID, b); err != nil {
		t.Fatalf("attach again: %v", err)
	}
	want := map[string]int{nicID(a.ID): 2, nicID(b.ID): 3}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}
	var filters []struct {
		Name string `json:"name"`
		MAC  string `json:"main-mac"`
	}
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, "query-rx-filter", nil, &filters) }); err != nil {
		t.Fatal(err)
	}
	if len(filters) != 2 || filters[1].Name != nicID(b.ID) || filters[1].MAC != b.MAC {
		t.Fatalf("QEMU's NICs %+v", filters)
	}
	if !slices.Equal(h.plugged, []string{a.ID, b.ID}) {
		t.Fatalf("plugged %v", h.plugged)
	}

	// An attach of c that died after writing guest.json, plugging the
	// tap and adding the netdev: the next attach finishes it.
	def := loaded(t, f)
	def.Ports = append(def.Ports, c)
	if err := def.fillSlots(); err != nil {
		t.Fatal(err)
	}
	if err := saveGuest(f, def); err != nil {
		t.Fatal(err)
	}
	if err := d.plugPorts(ctx, []virt.GuestPort{c}); err != nil {
		t.Fatal(err)
	}
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error { return m.run(ctx, "netdev_add", netdev(c), nil) }); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachInterface(ctx, g.ID, c); err != nil {
		t.Fatalf("attach after a half-way one: %v", err)
	}
	want[nicID(c.ID)] = 4
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}

	// Paused: a NIC goes in; none can go out.
	if err := d.Pause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachInterface(ctx, g.ID, p); err != nil {
		t.Fatalf("attach to a paused guest: %v", err)
	}
	want[nicID(p.ID)] = 5
	err := d.DetachInterface(ctx, g.ID, p.ID)
	t.Logf("detach from a paused guest: %v", err)
	if err == nil || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("detach from a paused guest: %v", err)
	}
	if err := d.Unpause(ctx, g.ID); err != nil {
		t.Fatal(err)
	}

	// SeaBIOS does not let a NIC go.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	start = time.Now()
	err = d.DetachInterface(short, g.ID, b.ID)
	t.Logf("detach the guest does not answer: %v after %v", err, time.Since(start))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("detach the guest does not answer: %v", err)
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a failed detach, want %v", got, want)
	}
	if !slices.Equal(portIDs(loaded(t, f)), []string{a.ID, b.ID, c.ID, p.ID}) || !tapExists(b) || len(h.unplugged) != 0 {
		t.Fatalf("a failed detach changed the guest: ports %v, tap %v, unplugged %v", portIDs(loaded(t, f)), tapExists(b), h.unplugged)
	}
	wantState(t, d, g.ID, virt.PowerRunning)
}

// TestInterfaceSlots: NICs keep their PCI slots through detaches and
// attaches, a power off and on, and a suspend and resume, whose saved
// state names devices by slot: the resumed machine is the one saved.
func TestInterfaceSlots(t *testing.T) {
	requireNetAdmin(t)
	d := newDriver(t, "")
	a, b, c := testPort(), testPort(), testPort()
	g := tinyGuest()
	g.Ports = []virt.GuestPort{a, b}
	spawn(t, d, g)
	t.Cleanup(func() { leaveNothing(t, d.cfg.StateDir, virt.Guest{ID: g.ID, Ports: []virt.GuestPort{c}}) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.DetachInterface(ctx, g.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, g.ID)
	if err := d.AttachInterface(ctx, g.ID, c); err != nil {
		t.Fatal(err)
	}
	// b stays in slot 3; c takes a's, 2. A command line in Ports' order
	// with slots left to QEMU would swap them.
	want := map[string]int{nicID(b.ID): 3, nicID(c.ID): 2}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v, want %v", got, want)
	}
	if err := d.Suspend(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.AttachInterface(ctx, g.ID, a); !errors.Is(err, ErrSuspended) {
		t.Fatalf("attach to a suspended guest: %v", err)
	}
	if err := d.Resume(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after resume, want %v", got, want)
	}
	if err := d.PowerOff(ctx, g.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOn(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := layout(t, d, g.ID); !maps.Equal(got, want) {
		t.Fatalf("PCI devices %v after a restart, want %v", got, want)
	}
	wantState(t, d, g.ID, virt.PowerRunning)
}

// TestDetachAtBoot: a detach sent as the guest starts, before its OS
// can take the request, still ends with the NIC gone once the OS is
// up: the request is sent again.
func TestDetachAtBoot(t *testing.T) {
	requireNetAdmin(t)
	img := guesttest.Image(t)
	d := newDriver(t, "")
	g := tinyGuest()
	g.MemoryMB = 256
	g.Disk = virt.Disk{Path: filepath.Join(t.TempDir(), "disk.raw"), Format: "raw"}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.Disk.Path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := testPort()
	g.Ports = []virt.GuestPort{p}
	spawn(t, d, g)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := d.DetachInterface(ctx, g.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("detach sent at the start: done after %v", time.Since(start))
	if got := layout(t, d, g.ID); got[nicID(p.ID)] != 0 {
		t.Fatalf("PCI devices %v after the detach", got)
	}
	if tapExists(p) || len(loaded(t, guestFiles(d.cfg.StateDir, g.ID)).Ports) != 0 {
		t.Fatal("the detached port is left")
	}
}
