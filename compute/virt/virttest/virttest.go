// Package virttest is the lifecycle every compute/virt driver is held
// to: one guest of the tiny guest image (compute/guestimage), booted
// with a config drive, taken through each operation of the contract as
// the compute agent uses them, its console read back through the
// driver. compute/qemu and compute/libvirt both run it, so the two
// drivers behave as one. StartISCSI gives their tests a private iSCSI
// target for the volume steps; Volumes runs those steps on their own for
// any kind of volume, and RBD makes rbd ones on a test's Ceph.
package virttest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/compute/virt"
)

// Hooks are a driver's own checks between the suite's steps (its
// processes, its files); each gets the guest's id.
type Hooks struct {
	Spawned      func(t *testing.T, id string)
	SoftRebooted func(t *testing.T, id string)
	Suspended    func(t *testing.T, id string)
	PoweredOff   func(t *testing.T, id string)
	Destroyed    func(t *testing.T, id string)
	// SpawnedStopped runs after a spawn with virt.Guest.Stopped and
	// after a second one: the guest must be defined and not running.
	SpawnedStopped func(t *testing.T, id string)
	// Port makes a new port for the interface steps (a fresh id and
	// MAC, on whatever the driver's test plugs NICs into); it is called
	// twice. Nil skips those steps, for a driver that cannot make one
	// in its test.
	Port func(t *testing.T) virt.GuestPort
	// Volume makes a new volume for the volume steps: a network disk
	// (Protocol "iscsi", its Connection as the volume service gives it,
	// with CHAP) whose first bytes are the ones returned (16 or more);
	// it is called twice. Nil skips those steps, for a driver whose test
	// has no target to export one from.
	Volume func(t *testing.T) (virt.Disk, []byte)
	// BootVolume makes a volume holding the disk image at image, for the
	// boot-from-volume step; nil skips it.
	BootVolume func(t *testing.T, image string) virt.Disk
	// Grow makes volume v (one of Volume's) size bytes on its target,
	// for the extend step (the driver's ResizeVolume); nil skips it.
	Grow func(t *testing.T, v virt.Disk, size int64)
}

func (h Hooks) run(t *testing.T, f func(*testing.T, string), id string) {
	if f != nil {
		f(t, id)
	}
}

// Lifecycle boots the tiny guest image on d from a copy of its disk in
// dir (a directory the driver's QEMU can read) with a config drive, and
// takes it through: a second spawn (nothing happens), pause and unpause,
// a soft reboot (the guest's own shut-down, then a new boot), suspend
// and resume (the guest goes on where it was: no new boot), interface
// hot-plug (virt.InterfaceAttacher: a port attached, the guest sees its
// NIC appear; attached again, nothing; detached, the guest sees it go;
// detached again, nothing; attached once more), volume hot-plug
// (virt.VolumeAttacher: a volume attached with a wrong CHAP password is
// refused and leaves nothing; attached, the guest sees its disk appear
// with the volume id as serial and the volume's first bytes; attached
// again, nothing; detached, the guest sees it go; detached again,
// nothing), a clean power off (the guest's own), a second port and a
// volume attached while the guest is off, power on (a new boot, with
// both NICs and the volume's disk, read at boot), the volume and both
// ports detached from the running guest, a hard reboot (a new boot),
// List, and destroy (nothing left); then the guest is spawned again,
// Stopped (virt.Guest.Stopped: no boot on its console, shutdown in
// State and List, a second Stopped spawn leaves it off), powered on (it
// boots to its ready line) and destroyed; last, a second guest boots
// from a volume holding the image (its root disk's serial is the
// volume's) and is destroyed. The interface steps need Hooks.Port, the
// volume steps Hooks.Volume, the boot from a volume Hooks.BootVolume;
// each is skipped without its hook. A suspended guest's power state is
// shutdown or suspended (libvirt reports a managed save as shutoff, the
// QEMU driver as suspended); everything else is the same for every
// driver.
func Lifecycle(t *testing.T, d virt.Driver, dir string, h Hooks) {
	img := guesttest.Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	id := uuid.NewString()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	g := virt.Guest{ID: id, Name: "virttest", VCPUs: 1, MemoryMB: 256,
		Disk: virt.Disk{Path: filepath.Join(dir, "disk.raw"), Format: "raw"}, ConfigISO: filepath.Join(dir, "config.iso")}
	if err := os.WriteFile(g.Disk.Path, b, 0o644); err != nil { // the guest writes to its disk
		t.Fatal(err)
	}
	if err := metadata.ConfigDrive(ctx, g.ConfigISO, metadata.Drive{MetaData: metadata.MetaData{UUID: id, Name: g.Name, Hostname: "virttest-1"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Destroy(cctx, id); err != nil {
			t.Errorf("destroy at the end: %v", err)
		}
	})
	c := &console{t: t, d: d, id: id}
	var ports []virt.GuestPort // attached by the interface steps
	var boot2 []byte           // the console of the boot after power on
	var offVolume virt.Disk    // attached while the guest was off
	var offData []byte         // its first bytes
	state := func(want ...virt.PowerState) {
		t.Helper()
		p, err := d.State(ctx, id)
		if err != nil || !slices.Contains(want, p) {
			t.Fatalf("state %v, %v; want one of %v", p, err, want)
		}
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	start := time.Now()
	must("spawn", d.Spawn(ctx, g))
	state(virt.PowerRunning)
	boot := c.wait("gostack-guest: ready", 3*time.Minute)
	t.Logf("spawn → ready: %v", time.Since(start).Round(10*time.Millisecond))
	for _, want := range []string{"gostack-guest: metadata from config drive: uuid " + id, "gostack-guest: hostname virttest-1"} {
		if !bytes.Contains(boot, []byte(want)) {
			t.Errorf("console lacks %q:\n%s", want, boot)
		}
	}
	h.run(t, h.Spawned, id)

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"spawn again is nothing", func(t *testing.T) {
			c.mark()
			must("spawn", d.Spawn(ctx, g))
			state(virt.PowerRunning)
			time.Sleep(time.Second)
			if out := c.since(); booted(out) {
				t.Fatalf("a second spawn booted the guest again:\n%s", out)
			}
		}},
		{"pause and unpause", func(t *testing.T) {
			must("pause", virt.Pause(ctx, d, id))
			state(virt.PowerPaused)
			must("unpause", virt.Unpause(ctx, d, id))
			state(virt.PowerRunning)
		}},
		{"soft reboot", func(t *testing.T) {
			c.mark()
			start := time.Now()
			rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			must("soft reboot", d.Reboot(rctx, id, false))
			out := c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("soft reboot → ready: %v", time.Since(start).Round(10*time.Millisecond))
			if !bytes.Contains(out, []byte("gostack-guest: power button: powering off")) {
				t.Fatalf("the soft reboot was not the guest's own shut-down:\n%s", out)
			}
			state(virt.PowerRunning)
			h.run(t, h.SoftRebooted, id)
		}},
		{"suspend and resume", func(t *testing.T) {
			start := time.Now()
			must("suspend", virt.Suspend(ctx, d, id))
			t.Logf("suspend of a %d MiB guest: %v", g.MemoryMB, time.Since(start).Round(time.Millisecond))
			state(virt.PowerShutdown, virt.PowerSuspended)
			h.run(t, h.Suspended, id)
			c.mark()
			start = time.Now()
			must("resume", virt.Resume(ctx, d, id))
			t.Logf("resume: %v", time.Since(start).Round(time.Millisecond))
			state(virt.PowerRunning)
			time.Sleep(2 * time.Second)
			if out := c.since(); booted(out) {
				t.Fatalf("the resumed guest booted again:\n%s", out)
			}
		}},
		{"attach and detach an interface", func(t *testing.T) {
			if h.Port == nil {
				t.Skip("no Hooks.Port: this driver's test makes no ports")
			}
			p := h.Port(t)
			attach(ctx, t, d, c, id, p)
			must("attach again", virt.AttachInterface(ctx, d, id, p))
			time.Sleep(1500 * time.Millisecond) // the guest looks every second
			if out := c.since(); bytes.Contains(out, []byte("appeared "+p.MAC)) {
				t.Fatalf("a second attach added the NIC again:\n%s", out)
			}
			detach(ctx, t, d, c, id, p)
			must("detach again", virt.DetachInterface(ctx, d, id, p.ID))
			attach(ctx, t, d, c, id, p) // it can come back; it stays for the next steps
			ports = append(ports, p)
		}},
		{"attach and detach a volume", func(t *testing.T) {
			if h.Volume == nil {
				t.Skip("no Hooks.Volume: this driver's test has no volumes")
			}
			v, data := h.Volume(t)
			// A wrong password first: refused, and nothing of it is left,
			// or the right attach below would be nothing.
			wrong := v
			wrong.Connection = maps.Clone(v.Connection)
			wrong.Connection["auth_password"] = v.Connection["auth_password"] + "X"
			err := virt.AttachVolume(ctx, d, id, wrong)
			t.Logf("attach with a wrong password: %v", err)
			if err == nil {
				t.Fatal("an attach with a wrong CHAP password succeeded")
			}
			if strings.Contains(err.Error(), v.Connection["auth_password"]) {
				t.Fatal("the attach's error holds the password")
			}
			state(virt.PowerRunning)
			name := attachVolume(ctx, t, d, c, id, v, data)
			if h.Grow != nil {
				// Extended while attached: grown on its target, then the
				// guest told; it sees the new size.
				h.Grow(t, v, 2<<20)
				c.mark()
				start := time.Now()
				must("resize volume", virt.ResizeVolume(ctx, d, id, v.VolumeID(), 2<<20))
				c.wait(fmt.Sprintf("disk %s resized serial=%s size=%d", name, guestSerial(v), 2<<20), 30*time.Second)
				t.Logf("resize volume: the guest saw the new size %v after the call", time.Since(start).Round(10*time.Millisecond))
			}
			must("attach again", virt.AttachVolume(ctx, d, id, v))
			time.Sleep(1500 * time.Millisecond) // the guest looks every second
			if out := c.since(); bytes.Contains(out, []byte("appeared serial="+guestSerial(v))) {
				t.Fatalf("a second attach added the disk again:\n%s", out)
			}
			detachVolume(ctx, t, d, c, id, v, name)
			must("detach again", virt.DetachVolume(ctx, d, id, v.VolumeID()))
		}},
		{"clean power off", func(t *testing.T) {
			c.mark()
			start := time.Now()
			pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			must("power off", d.PowerOff(pctx, id, true))
			t.Logf("clean power off: %v", time.Since(start).Round(10*time.Millisecond))
			state(virt.PowerShutdown)
			c.wait("gostack-guest: power button: powering off", 10*time.Second)
			h.run(t, h.PoweredOff, id)
		}},
		{"attach an interface while off", func(t *testing.T) {
			if h.Port == nil {
				t.Skip("no Hooks.Port: this driver's test makes no ports")
			}
			p := h.Port(t)
			must("attach", virt.AttachInterface(ctx, d, id, p))
			must("attach again", virt.AttachInterface(ctx, d, id, p))
			state(virt.PowerShutdown)
			ports = append(ports, p)
		}},
		{"attach a volume while off", func(t *testing.T) {
			if h.Volume == nil {
				t.Skip("no Hooks.Volume: this driver's test has no volumes")
			}
			offVolume, offData = h.Volume(t)
			must("attach", virt.AttachVolume(ctx, d, id, offVolume))
			must("attach again", virt.AttachVolume(ctx, d, id, offVolume))
			state(virt.PowerShutdown)
		}},
		{"power on", func(t *testing.T) {
			c.mark()
			start := time.Now()
			must("power on", d.PowerOn(ctx, id))
			boot2 = c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("power on → ready: %v (%d NICs, volume attached while off: %v)", time.Since(start).Round(10*time.Millisecond), len(ports), offData != nil)
			state(virt.PowerRunning)
		}},
		{"the volume at the next boot, then detached", func(t *testing.T) {
			if h.Volume == nil {
				t.Skip("no Hooks.Volume: this driver's test has no volumes")
			}
			name, err := diskLine(boot2, "at boot", offVolume, offData)
			if err != nil {
				t.Fatalf("the boot after power on: %v:\n%s", err, boot2)
			}
			detachVolume(ctx, t, d, c, id, offVolume, name)
		}},
		{"both interfaces at the next boot, then detached", func(t *testing.T) {
			if h.Port == nil {
				t.Skip("no Hooks.Port: this driver's test makes no ports")
			}
			// The one hot-plugged before the power off, and the one
			// attached while off.
			for _, p := range ports {
				if !bytes.Contains(boot2, []byte(" at boot "+p.MAC)) {
					t.Errorf("the boot after power on lacks the NIC of port %s (%s):\n%s", p.ID, p.MAC, boot2)
				}
			}
			if n := bytes.Count(boot2, []byte("gostack-guest: dhcp on ")); n != len(ports) {
				t.Errorf("%d DHCP lines at boot, want %d:\n%s", n, len(ports), boot2)
			}
			for _, p := range ports {
				detach(ctx, t, d, c, id, p)
			}
		}},
		{"hard reboot", func(t *testing.T) {
			c.mark()
			start := time.Now()
			must("hard reboot", d.Reboot(ctx, id, true))
			c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("hard reboot → ready: %v", time.Since(start).Round(10*time.Millisecond))
			state(virt.PowerRunning)
		}},
		{"list", func(t *testing.T) {
			list, err := d.List(ctx)
			must("list", err)
			if !slices.ContainsFunc(list, func(s virt.GuestState) bool { return s.ID == id && s.Power == virt.PowerRunning }) {
				t.Fatalf("List = %+v, want %s running", list, id)
			}
		}},
		{"destroy", func(t *testing.T) {
			must("destroy", d.Destroy(ctx, id))
			state(virt.PowerNoState)
			list, err := d.List(ctx)
			must("list", err)
			if slices.ContainsFunc(list, func(s virt.GuestState) bool { return s.ID == id }) {
				t.Fatalf("List after destroy: %+v", list)
			}
			must("destroy again", d.Destroy(ctx, id))
			h.run(t, h.Destroyed, id)
		}},
		{"spawn stopped, then power on", func(t *testing.T) {
			stopped := g
			stopped.Stopped = true
			off := func(what string) {
				t.Helper()
				state(virt.PowerShutdown)
				list, err := d.List(ctx)
				must("list", err)
				if !slices.ContainsFunc(list, func(s virt.GuestState) bool { return s.ID == id && s.Power == virt.PowerShutdown }) {
					t.Fatalf("%s: List = %+v, want %s shutdown", what, list, id)
				}
				if out := c.read(); booted(out) {
					t.Fatalf("%s: the guest booted:\n%s", what, out)
				}
				h.run(t, h.SpawnedStopped, id)
			}
			start := time.Now()
			must("spawn stopped", d.Spawn(ctx, stopped))
			t.Logf("spawn stopped: %v", time.Since(start).Round(time.Millisecond))
			off("spawned stopped")
			must("spawn stopped again", d.Spawn(ctx, stopped))
			off("spawned stopped again")
			c.mark()
			start = time.Now()
			must("power on", d.PowerOn(ctx, id))
			out := c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("power on → ready: %v", time.Since(start).Round(10*time.Millisecond))
			if want := "gostack-guest: metadata from config drive: uuid " + id; !bytes.Contains(out, []byte(want)) {
				t.Errorf("console lacks %q:\n%s", want, out)
			}
			state(virt.PowerRunning)
			must("destroy", d.Destroy(ctx, id))
			state(virt.PowerNoState)
		}},
	}
	steps = append(steps, struct {
		name string
		do   func(t *testing.T)
	}{"boot from a volume", func(t *testing.T) { bootFromVolume(ctx, t, d, dir, h, img) }})
	for _, s := range steps {
		if !t.Run(s.name, s.do) {
			return
		}
	}
}

// bootFromVolume spawns a second guest whose root disk is a volume
// holding the image (Nova's boot from volume), waits for its ready line
// (its root disk's serial is the volume's) and destroys it.
func bootFromVolume(ctx context.Context, t *testing.T, d virt.Driver, dir string, h Hooks, img string) {
	if h.BootVolume == nil {
		t.Skip("no Hooks.BootVolume: this driver's test has no volumes")
	}
	root := h.BootVolume(t, img)
	id := uuid.NewString()
	g := virt.Guest{ID: id, Name: "virttest-bfv", VCPUs: 1, MemoryMB: 256, Disk: root, ConfigISO: filepath.Join(dir, "config-bfv.iso")}
	if err := metadata.ConfigDrive(ctx, g.ConfigISO, metadata.Drive{MetaData: metadata.MetaData{UUID: id, Name: g.Name, Hostname: "virttest-bfv"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Destroy(cctx, id); err != nil {
			t.Errorf("destroy the guest booted from a volume: %v", err)
		}
	})
	c := &console{t: t, d: d, id: id}
	start := time.Now()
	if err := d.Spawn(ctx, g); err != nil {
		t.Fatalf("spawn from a volume: %v", err)
	}
	out := c.wait("gostack-guest: ready", 3*time.Minute)
	t.Logf("spawn from a volume → ready: %v", time.Since(start).Round(10*time.Millisecond))
	if want := "gostack-guest: disk vda at boot serial=" + guestSerial(root) + " "; !bytes.Contains(out, []byte(want)) {
		t.Errorf("console lacks %q:\n%s", want, out)
	}
	if want := "gostack-guest: metadata from config drive: uuid " + id; !bytes.Contains(out, []byte(want)) {
		t.Errorf("console lacks %q:\n%s", want, out)
	}
	if err := d.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if p, err := d.State(ctx, id); err != nil || p != virt.PowerNoState {
		t.Fatalf("after destroy: %v, %v", p, err)
	}
}

// guestSerial is the serial the guest sees of a volume: virtio-blk keeps
// 20 bytes of it.
func guestSerial(v virt.Disk) string {
	s := v.VolumeID()
	return s[:min(len(s), 20)]
}

// diskLine finds, in console output, the guest agent's line saying
// volume v's disk (how: "appeared", "at boot"), checks that it read
// the volume's first bytes, and returns the disk's name in the guest.
func diskLine(out []byte, how string, v virt.Disk, data []byte) (string, error) {
	re := regexp.MustCompile(`gostack-guest: disk (\S+) ` + how + ` serial=` + regexp.QuoteMeta(guestSerial(v)) + ` size=(\d+) first=(\S*)`)
	m := re.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no line for the disk of volume %s (%s)", v.VolumeID(), how)
	}
	if want := hex.EncodeToString(data[:min(len(data), 16)]); string(m[3]) != want {
		return "", fmt.Errorf("the guest read %s at the start of volume %s, not %s", m[3], v.VolumeID(), want)
	}
	return string(m[1]), nil
}

// attachVolume attaches v to the running guest and waits for the guest
// to say its disk appeared with the volume's first bytes; the disk's
// name in the guest.
func attachVolume(ctx context.Context, t *testing.T, d virt.Driver, c *console, id string, v virt.Disk, data []byte) string {
	t.Helper()
	c.mark()
	start := time.Now()
	if err := virt.AttachVolume(ctx, d, id, v); err != nil {
		t.Fatalf("attach volume %s: %v", v.VolumeID(), err)
	}
	took := time.Since(start)
	out := c.wait("appeared serial="+guestSerial(v), time.Minute)
	name, err := diskLine(out, "appeared", v, data)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	t.Logf("attach volume: %v; the guest saw its disk %s %v after the call", took.Round(time.Millisecond), name, time.Since(start).Round(10*time.Millisecond))
	return name
}

// detachVolume detaches v from the running guest, which must have let
// its disk go when the call returns, and waits for the guest to say so.
func detachVolume(ctx context.Context, t *testing.T, d virt.Driver, c *console, id string, v virt.Disk, name string) {
	t.Helper()
	c.mark()
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := virt.DetachVolume(dctx, d, id, v.VolumeID()); err != nil {
		t.Fatalf("detach volume %s: %v", v.VolumeID(), err)
	}
	took := time.Since(start)
	c.wait("gostack-guest: disk "+name+" gone serial="+guestSerial(v), 30*time.Second)
	t.Logf("detach volume: %v; the guest said its disk went %v after the call", took.Round(time.Millisecond), time.Since(start).Round(10*time.Millisecond))
}

// booted says whether console output has a boot in it: the firmware's
// banner or the guest's kernel.
func booted(out []byte) bool {
	return bytes.Contains(out, []byte("gostack-guest: kernel")) || bytes.Contains(out, []byte("SeaBIOS"))
}

// attach attaches p to the running guest and waits for the guest to
// say its NIC appeared.
func attach(ctx context.Context, t *testing.T, d virt.Driver, c *console, id string, p virt.GuestPort) {
	t.Helper()
	c.mark()
	start := time.Now()
	if err := virt.AttachInterface(ctx, d, id, p); err != nil {
		t.Fatalf("attach interface %s: %v", p.ID, err)
	}
	took := time.Since(start)
	c.wait("appeared "+p.MAC, time.Minute)
	t.Logf("attach interface: %v; the guest saw its NIC %v after the call", took.Round(time.Millisecond), time.Since(start).Round(10*time.Millisecond))
}

// detach detaches p from the running guest, which must have let its
// NIC go when the call returns, and waits for the guest to say so.
func detach(ctx context.Context, t *testing.T, d virt.Driver, c *console, id string, p virt.GuestPort) {
	t.Helper()
	c.mark()
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := virt.DetachInterface(dctx, d, id, p.ID); err != nil {
		t.Fatalf("detach interface %s: %v", p.ID, err)
	}
	took := time.Since(start)
	c.wait("gone "+p.MAC, 30*time.Second)
	t.Logf("detach interface: %v; the guest said its NIC went %v after the call", took.Round(time.Millisecond), time.Since(start).Round(10*time.Millisecond))
}

// console reads the guest's console through the driver, from a mark on.
type console struct {
	t    *testing.T
	d    virt.Driver
	id   string
	seen []byte // the console at the mark
}

func (c *console) read() []byte {
	c.t.Helper()
	b, err := virt.ConsoleLog(context.Background(), c.d, c.id)
	if err != nil {
		c.t.Fatalf("console log: %v", err)
	}
	return b
}

// mark notes where the console is now.
func (c *console) mark() { c.seen = c.read() }

// since is the console after the mark: the log is only appended to, so
// what was there at the mark is its beginning (all of it, once the log
// outgrew the tail the driver keeps).
func (c *console) since() []byte {
	b := c.read()
	if bytes.HasPrefix(b, c.seen) {
		return b[len(c.seen):]
	}
	return b
}

// wait waits until the console after the mark holds want, returns that,
// and marks the console.
func (c *console) wait(want string, limit time.Duration) []byte {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out := c.since()
		if bytes.Contains(out, []byte(want)) {
			c.mark()
			return out
		}
		if time.Now().After(deadline) {
			all := c.read()
			c.t.Fatalf("no %q on the console after %v; since the mark:\n%s\n(the console's last 2 KiB of %d bytes:\n%s)", want, limit, out,
				len(all), all[max(0, len(all)-2048):])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
