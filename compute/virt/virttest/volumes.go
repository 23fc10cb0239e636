package virttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/compute/virt"
)

// VolumeHooks make the volumes of Volumes.
type VolumeHooks struct {
	// Volume makes a new volume whose first bytes are the ones returned
	// (16 or more) and whose size is the size returned; it is called
	// twice.
	Volume func(t *testing.T) (v virt.Disk, data []byte, size int64)
	// Refused makes a volume whose attach the storage refuses (a cephx
	// key the cluster does not know, say); nil skips that step.
	Refused func(t *testing.T) virt.Disk
	// BootVolume makes a volume holding the disk image at image, for
	// the boot from a volume; nil skips it.
	BootVolume func(t *testing.T, image string) virt.Disk
	// Detached is a driver's own check after each detach from the
	// running guest (what the hypervisor still holds of v); nil skips it.
	Detached func(t *testing.T, id string, v virt.Disk)
}

// Volumes is the volume steps of Lifecycle for a kind of volume on its
// own (Lifecycle's are iSCSI's, with CHAP), in two boots of the tiny
// guest image on d. The first guest boots from a copy of the image's
// disk in dir, with a config drive: an attach the storage refuses
// (VolumeHooks.Refused) fails and leaves nothing, the guest seeing no
// disk; a volume attached to the running guest appears in it with the
// volume id as serial, its size and its first bytes; attached again,
// nothing; detached, the guest sees it go; attached once more, it comes
// back with the same bytes, and goes again; the guest is destroyed. The
// second guest boots from a volume holding the image
// (VolumeHooks.BootVolume; a copy of the disk without it): spawned
// stopped, given a volume while off, powered on, it boots from its root
// volume (vda, the volume's serial) and reads the other at boot, which
// is then detached. Each attach and detach logs how long the call took
// and when the guest said it.
func Volumes(t *testing.T, d virt.Driver, dir string, h VolumeHooks) {
	img := guesttest.Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// guest is a new guest of the image booting from root (a copy of
	// the image's disk when it has no Protocol), with a config drive,
	// destroyed when the test ends.
	guest := func(t *testing.T, name string, root virt.Disk) (virt.Guest, *console) {
		t.Helper()
		id := uuid.NewString()
		if root.Protocol == "" {
			root = virt.Disk{Path: filepath.Join(dir, name+"-disk.raw"), Format: "raw"}
			if err := os.WriteFile(root.Path, b, 0o644); err != nil { // the guest writes to its disk
				t.Fatal(err)
			}
		}
		g := virt.Guest{ID: id, Name: name, VCPUs: 1, MemoryMB: 256, Disk: root, ConfigISO: filepath.Join(dir, name+"-config.iso")}
		if err := metadata.ConfigDrive(ctx, g.ConfigISO, metadata.Drive{MetaData: metadata.MetaData{UUID: id, Name: name, Hostname: name}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := d.Destroy(cctx, id); err != nil {
				t.Errorf("destroy %s at the end: %v", name, err)
			}
		})
		return g, &console{t: t, d: d, id: id}
	}
	detached := func(t *testing.T, id string, v virt.Disk) {
		t.Helper()
		if h.Detached != nil {
			h.Detached(t, id, v)
		}
	}
	must := func(t *testing.T, what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	state := func(t *testing.T, id string, want virt.PowerState) {
		t.Helper()
		if p, err := d.State(ctx, id); err != nil || p != want {
			t.Fatalf("state %v, %v; want %v", p, err, want)
		}
	}

	g, c := guest(t, "virttest-volumes", virt.Disk{})
	id := g.ID
	start := time.Now()
	must(t, "spawn", d.Spawn(ctx, g))
	c.wait("gostack-guest: ready", 3*time.Minute)
	t.Logf("spawn → ready: %v", time.Since(start).Round(10*time.Millisecond))

	type step struct {
		name string
		do   func(t *testing.T)
	}
	var steps []step
	if h.Refused != nil {
		steps = append(steps, step{"an attach the storage refuses", func(t *testing.T) {
			r := h.Refused(t)
			c.mark()
			start := time.Now()
			err := virt.AttachVolume(ctx, d, id, r)
			t.Logf("refused attach: %v after %v", err, time.Since(start).Round(time.Millisecond))
			if err == nil {
				t.Fatal("the attach succeeded")
			}
			time.Sleep(1500 * time.Millisecond) // the guest looks every second
			if out := c.since(); bytes.Contains(out, []byte("gostack-guest: disk ")) {
				t.Fatalf("the guest saw a disk:\n%s", out)
			}
			state(t, id, virt.PowerRunning)
		}})
	}
	steps = append(steps,
		step{"attach, detach, attach again", func(t *testing.T) {
			v, data, size := h.Volume(t)
			name := attachVolume(ctx, t, d, c, id, v, data)
			wantSize(t, c.seen, v, size)
			must(t, "attach again", virt.AttachVolume(ctx, d, id, v))
			time.Sleep(1500 * time.Millisecond) // the guest looks every second
			if out := c.since(); bytes.Contains(out, []byte("appeared serial="+guestSerial(v))) {
				t.Fatalf("a second attach added the disk again:\n%s", out)
			}
			detachVolume(ctx, t, d, c, id, v, name)
			detached(t, id, v)
			must(t, "detach again", virt.DetachVolume(ctx, d, id, v.VolumeID()))
			name = attachVolume(ctx, t, d, c, id, v, data)
			detachVolume(ctx, t, d, c, id, v, name)
			detached(t, id, v)
		}},
		step{"destroy", func(t *testing.T) {
			must(t, "destroy", d.Destroy(ctx, id))
			state(t, id, virt.PowerNoState)
		}},
		step{"boot from a volume with a volume attached while off", func(t *testing.T) {
			var root virt.Disk
			if h.BootVolume != nil {
				root = h.BootVolume(t, img)
			}
			g, c := guest(t, "virttest-volumes-boot", root)
			g.Stopped = true
			must(t, "spawn stopped", d.Spawn(ctx, g))
			off, data, size := h.Volume(t)
			must(t, "attach while off", virt.AttachVolume(ctx, d, g.ID, off))
			state(t, g.ID, virt.PowerShutdown)
			c.mark()
			start := time.Now()
			must(t, "power on", d.PowerOn(ctx, g.ID))
			boot := c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("power on → ready: %v (root disk a volume: %v)", time.Since(start).Round(10*time.Millisecond), root.Protocol != "")
			if root.Protocol != "" {
				if want := "gostack-guest: disk vda at boot serial=" + guestSerial(root) + " "; !bytes.Contains(boot, []byte(want)) {
					t.Errorf("console lacks %q:\n%s", want, boot)
				}
			}
			if want := "gostack-guest: metadata from config drive: uuid " + g.ID; !bytes.Contains(boot, []byte(want)) {
				t.Errorf("console lacks %q:\n%s", want, boot)
			}
			name, err := diskLine(boot, "at boot", off, data)
			if err != nil {
				t.Fatalf("%v:\n%s", err, boot)
			}
			wantSize(t, boot, off, size)
			detachVolume(ctx, t, d, c, g.ID, off, name)
			detached(t, g.ID, off)
			must(t, "destroy", d.Destroy(ctx, g.ID))
			state(t, g.ID, virt.PowerNoState)
		}},
	)
	for _, s := range steps {
		if !t.Run(s.name, s.do) {
			return
		}
	}
}

// wantSize fails unless the guest's line for volume v in out says size
// bytes.
func wantSize(t *testing.T, out []byte, v virt.Disk, size int64) {
	t.Helper()
	m := regexp.MustCompile(`gostack-guest: disk \S+ (?:appeared|at boot) serial=` + regexp.QuoteMeta(guestSerial(v)) + ` size=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no line for the disk of volume %s:\n%s", v.VolumeID(), out)
	}
	if got, _ := strconv.ParseInt(string(m[1]), 10, 64); got != size {
		t.Fatalf("the guest sees volume %s as %d bytes, want %d", v.VolumeID(), got, size)
	}
}
