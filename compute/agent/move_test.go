package agent_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/virt"
)

// move takes instance id through a cold move's controller steps, as
// the builder does them, to dest: the destination chosen, the source's
// report waited for, the instance switched to the destination. flavor
// nil is a migration, else a resize. It returns when the destination
// has reported (VERIFY_RESIZE), and how long that took from the
// switch.
func (c *controller) move(id, dest string, flavor *compute.InstanceFlavor) time.Duration {
	c.t.Helper()
	ctx := context.Background()
	if _, _, err := c.store.StartResize(ctx, admin, id, flavor, ""); err != nil {
		c.t.Fatalf("start the move: %v", err)
	}
	if _, err := c.store.PlaceMove(ctx, id, dest, dest); err != nil {
		c.t.Fatalf("place the move: %v", err)
	}
	c.waitFor(id, "resize_migrated", 2*time.Minute, func(i compute.Instance, err error) bool {
		if err == nil && i.TaskState == compute.NoTask {
			c.t.Fatalf("the move's source failed: %+v", brief(i))
		}
		return err == nil && i.TaskState == compute.ResizeMigrated
	})
	start := time.Now()
	if _, err := c.store.SwitchToDest(ctx, id); err != nil {
		c.t.Fatalf("switch to the destination: %v", err)
	}
	c.waitState(id, compute.Resized, compute.PowerShutdown, 2*time.Minute)
	return time.Since(start)
}

// revert reverts id's move and waits until it is back on its source,
// stopped.
func (c *controller) revert(id string) {
	c.t.Helper()
	if _, err := c.store.RevertResize(context.Background(), admin, id); err != nil {
		c.t.Fatalf("revert: %v", err)
	}
	c.waitState(id, compute.Stopped, compute.PowerShutdown, 2*time.Minute)
}

// neverStarted checks that h's driver has guest id defined (guest.json)
// and that it was never started there: no qemu.log (the driver's launch
// makes it before QEMU runs), no pid file, no console log (QEMU opens it
// as it starts), and the console empty through the driver.
func (h *host) neverStarted(id string) {
	t := h.c.t
	t.Helper()
	dir := filepath.Join(h.qemuDir, id)
	if _, err := os.Stat(filepath.Join(dir, "guest.json")); err != nil {
		t.Fatalf("no guest on %s: %v", h.name, err)
	}
	for _, f := range []string{"qemu.log", "qemu.pid", "console.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s of a stopped server's guest on %s: %v (it was started)", f, h.name, err)
		}
	}
	if pid := qemuPid(h.qemuDir, id); pid != 0 {
		t.Errorf("QEMU pid %d runs a stopped server's guest on %s", pid, h.name)
	}
	if b, err := virt.ConsoleLog(context.Background(), h.driver, id); err != nil || len(b) > 0 {
		t.Errorf("console of the guest on %s: %q, %v; want none", h.name, b, err)
	}
}

// TestMoveStopped: a stopped server's guest is never started by a move,
// as Nova's finish_migration with power_on=False. Migrated to another
// host, its guest there is defined and off; reverted, the source's kept
// guest stays off. Resized on one host, its new guest is defined and
// off; reverted, the old guest is built again, defined and off. Started
// at the end, it boots.
func TestMoveStopped(t *testing.T) {
	c := newController(t)
	h1, h2 := c.newHost("cmp1"), c.newHost("cmp2")
	h1.start()
	h2.start()
	i := c.place(h1.name, c.guestImage(), nil, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
	c.waitConsole(i.UUID, "gostack-guest: ready", boot)
	c.action(i.UUID, "stop")
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 2*time.Minute)

	took := c.move(i.UUID, h2.name, nil)
	t.Logf("migrate of a stopped server: switched to the destination → resized: %v", took.Round(time.Millisecond))
	h2.neverStarted(i.UUID)
	c.revert(i.UUID)
	if pid := qemuPid(h1.qemuDir, i.UUID); pid != 0 {
		t.Errorf("the revert started the source's guest: QEMU pid %d", pid)
	}
	eventually(t, "the destination's guest gone", func() bool {
		_, err := os.Stat(filepath.Join(h2.qemuDir, i.UUID))
		return os.IsNotExist(err)
	})

	bigger := i.Flavor
	bigger.ID, bigger.Name, bigger.RootGB = "2", "small", 2
	took = c.move(i.UUID, h1.name, &bigger)
	t.Logf("resize on one host of a stopped server: switched → resized: %v", took.Round(time.Millisecond))
	h1.neverStarted(i.UUID)
	c.revert(i.UUID)
	h1.neverStarted(i.UUID) // the old guest, built again on its disk

	// The controller's console tail still has the first boot's lines:
	// this boot is read from the guest's own console.
	c.action(i.UUID, "start")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	deadline := time.Now().Add(boot)
	for {
		b, err := virt.ConsoleLog(context.Background(), h1.driver, i.UUID)
		if err == nil && bytes.Contains(b, []byte("gostack-guest: ready")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the started guest did not boot to its ready line: %v\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMoveStoppedPlugsAtStart: a stopped server moved to a host whose
// driver plugs ports only as a guest starts (libvirt) is resized at
// once, though its port is not ACTIVE there: its guest is spawned
// Stopped, is not powered on or off, and no wait for the port (the
// whole VIFTimeout) holds the move.
func TestMoveStoppedPlugsAtStart(t *testing.T) {
	c := newController(t)
	src, dst := newFake(), newFake()
	dst.plugsAtStart = true
	h1 := c.newHost("cmp1", func(a *agent.Agent) { a.Driver = src })
	h2 := c.newHost("cmp2", func(a *agent.Agent) { a.Driver = dst; a.Config.VIFTimeout = 5 * time.Minute })
	h1.start()
	h2.start()
	p := testPort()
	c.nets.setStatus(p.ID, "ACTIVE")
	i := c.place(h1.name, c.guestImage(), []compute.InstancePort{p}, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	c.action(i.UUID, "stop")
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, time.Minute)
	c.nets.setStatus(p.ID, "DOWN") // bound to the destination, where nothing plugs it yet

	took := c.move(i.UUID, h2.name, nil)
	t.Logf("switched to the destination → resized: %v", took.Round(time.Millisecond))
	if took > time.Minute {
		t.Errorf("the move waited %v for a port no one plugs", took)
	}
	if n := dst.called("spawn stopped", i.UUID); n != 1 {
		t.Errorf("%d stopped spawns on the destination (calls %v)", n, dst.calls)
	}
	for _, op := range []string{"spawn", "power on", "power off"} {
		if n := dst.called(op, i.UUID); n != 0 {
			t.Errorf("%d calls of %s on the destination (calls %v)", n, op, dst.calls)
		}
	}
}

// TestMoveWithVolumes: a server booted from a volume, with a data volume
// attached, built, migrated to another host and reverted. Its build
// connects the root volume and gives it to the driver as the guest's
// disk, then attaches the data volume; the move sends no disk (there is
// none) and the destination connects both with its own connector; the
// revert connects them again from the source, whose guest runs again.
func TestMoveWithVolumes(t *testing.T) {
	c := newController(t)
	d1 := &nicDriver{fakeDriver: newFake(), nics: map[string][]string{}}
	d2 := &nicDriver{fakeDriver: newFake(), nics: map[string][]string{}}
	h1 := c.newHost("cmp1", func(a *agent.Agent) { a.Driver = d1 })
	h2 := c.newHost("cmp2", func(a *agent.Agent) { a.Driver = d2 })
	h1.start()
	h2.start()
	c.vols.set("att-root", "reserved")
	c.vols.set("att-data", "complete")
	i := c.place(h1.name, "", nil, func(i *compute.Instance) {
		i.ImageRef, i.ConfigDrive = "", false
		i.Volumes = []compute.InstanceVolume{{VolumeID: "root", AttachmentID: "att-root", Device: "/dev/vda", Root: true},
			{VolumeID: "data", AttachmentID: "att-data", Device: "/dev/vdb"}}
	})
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	if r := d1.root(i.UUID); r.Protocol != "iscsi" || r.Serial != "root" || r.Path != "" {
		t.Fatalf("the guest's root disk on %s: %+v", h1.name, r)
	}
	if !slices.Contains(d1.has(i.UUID), "vol:data") {
		t.Fatalf("the data volume on %s: %v", h1.name, d1.has(i.UUID))
	}
	if st := c.vols.get("att-root"); st != "complete" {
		t.Fatalf("the root volume's attachment after the build: %s", st)
	}
	connects := func(host string) int {
		c.reqs.mu.Lock()
		defer c.reqs.mu.Unlock()
		n := 0
		for _, r := range c.reqs.reqs {
			if strings.HasPrefix(r, "PUT /internal/compute/hosts/"+host+"/instances/"+i.UUID+"/volumes/") && strings.HasSuffix(r, "/connect") {
				n++
			}
		}
		return n
	}
	before := connects(h1.name)

	ctx := context.Background()
	if _, _, err := c.store.StartResize(ctx, admin, i.UUID, nil, ""); err != nil {
		t.Fatalf("start the move: %v", err)
	}
	if _, err := c.store.PlaceMove(ctx, i.UUID, h2.name, h2.name); err != nil {
		t.Fatal(err)
	}
	c.waitFor(i.UUID, "resize_migrated", time.Minute, func(i compute.Instance, err error) bool {
		return err == nil && i.TaskState == compute.ResizeMigrated
	})
	if _, err := c.store.SwitchToDest(ctx, i.UUID); err != nil {
		t.Fatal(err)
	}
	c.waitState(i.UUID, compute.Resized, compute.PowerRunning, time.Minute)
	if r := d2.root(i.UUID); r.Serial != "root" || !slices.Contains(d2.has(i.UUID), "vol:data") || connects(h2.name) != 2 {
		t.Fatalf("on the destination: root %+v, volumes %v, connects %d", r, d2.has(i.UUID), connects(h2.name))
	}
	c.reqs.mu.Lock()
	for _, r := range c.reqs.reqs {
		if strings.HasSuffix(r, "/instances/"+i.UUID+"/migration") {
			t.Errorf("a disk moved for a server booted from a volume: %s", r)
		}
	}
	c.reqs.mu.Unlock()

	if _, err := c.store.RevertResize(ctx, admin, i.UUID); err != nil {
		t.Fatal(err)
	}
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	if got := c.waitFor(i.UUID, "back on its source", time.Minute, func(i compute.Instance, err error) bool { return err == nil }); got.Host != h1.name {
		t.Fatalf("after the revert: on %s", got.Host)
	}
	if n := connects(h1.name); n < before+2 {
		t.Errorf("the revert connected %d volumes from the source, want 2", n-before)
	}
	if p, _ := d1.State(ctx, i.UUID); p != virt.PowerRunning {
		t.Errorf("the source's guest after the revert: %v", p)
	}
}
