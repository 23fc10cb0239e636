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
// own (Lifecycle's are iSCSI's, with CHAP): the tiny guest image boots
// on d from a copy of its disk in dir with a config drive; an attach the
// storage refuses (VolumeHooks.Refused) fails and leaves nothing, the
// guest seeing no disk; a volume attached to the running guest appears
// in it with the volume id as serial, its size and its first bytes;
// attached again, nothing; detached, the guest sees it go; attached
// once more, it comes back with the same bytes; a second volume
// attached while the guest is off is read at the next boot, then
// detached; the guest is destroyed; last, a second guest boots from a
// volume holding the image (VolumeHooks.BootVolume). Each attach and
// detach logs how long the call took and when the guest said it.
func Volumes(t *testing.T, d virt.Driver, dir string, h VolumeHooks) {
	img := guesttest.Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	id := uuid.NewString()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	g := virt.Guest{ID: id, Name: "virttest-volumes", VCPUs: 1, MemoryMB: 256,
		Disk: virt.Disk{Path: filepath.Join(dir, "volumes-disk.raw"), Format: "raw"}, ConfigISO: filepath.Join(dir, "volumes-config.iso")}
	if err := os.WriteFile(g.Disk.Path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := metadata.ConfigDrive(ctx, g.ConfigISO, metadata.Drive{MetaData: metadata.MetaData{UUID: id, Name: g.Name, Hostname: "virttest-volumes"}}); err != nil {
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
	start := time.Now()
	must(t, "spawn", d.Spawn(ctx, g))
	c.wait("gostack-guest: ready", 3*time.Minute)
	t.Logf("spawn → ready: %v", time.Since(start).Round(10*time.Millisecond))

	var v, off virt.Disk
	var data, offData []byte
	var size, offSize int64
	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"an attach the storage refuses", func(t *testing.T) {
			if h.Refused == nil {
				t.Skip("no VolumeHooks.Refused")
			}
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
			if p, err := d.State(ctx, id); err != nil || p != virt.PowerRunning {
				t.Fatalf("after a refused attach: %v, %v", p, err)
			}
		}},
		{"attach, detach, attach again", func(t *testing.T) {
			v, data, size = h.Volume(t)
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
		{"attach while off, read at boot", func(t *testing.T) {
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			must(t, "power off", d.PowerOff(pctx, id, false))
			off, offData, offSize = h.Volume(t)
			must(t, "attach while off", virt.AttachVolume(ctx, d, id, off))
			if p, err := d.State(ctx, id); err != nil || p != virt.PowerShutdown {
				t.Fatalf("after an attach while off: %v, %v", p, err)
			}
			c.mark()
			start := time.Now()
			must(t, "power on", d.PowerOn(ctx, id))
			boot := c.wait("gostack-guest: ready", 3*time.Minute)
			t.Logf("power on → ready: %v", time.Since(start).Round(10*time.Millisecond))
			name, err := diskLine(boot, "at boot", off, offData)
			if err != nil {
				t.Fatalf("%v:\n%s", err, boot)
			}
			wantSize(t, boot, off, offSize)
			detachVolume(ctx, t, d, c, id, off, name)
			detached(t, id, off)
		}},
		{"destroy", func(t *testing.T) {
			must(t, "destroy", d.Destroy(ctx, id))
			if p, err := d.State(ctx, id); err != nil || p != virt.PowerNoState {
				t.Fatalf("after destroy: %v, %v", p, err)
			}
		}},
		{"boot from a volume", func(t *testing.T) {
			bootFromVolume(ctx, t, d, dir, Hooks{BootVolume: h.BootVolume}, img)
		}},
	}
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
