package virttest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/compute/virt"
)

// MultiattachHooks are a driver's own checks in Multiattach.
type MultiattachHooks struct {
	// Both checks the storage while both guests have the volume's disk
	// (its target's sessions, say); nil skips it.
	Both func(t *testing.T, v virt.Disk)
	// Attached fails the test unless guest id's hypervisor has volume
	// v's disk now (after the other guest's detach); nil skips it.
	Attached func(t *testing.T, id string, v virt.Disk)
}

// Multiattach is one multiattach volume v (Disk.Shareable, its first
// bytes data) in two guests of the tiny image on d at once, as Nova
// attaches a multiattach volume to two servers: guest A, whose user data
// writes a pattern at the start of the volume's disk once it appears
// (through the page cache, then fsync), and guest B, attached after A
// said it wrote, which reads the pattern at its disk's appearance (the
// guest agent's first bytes); then A's detach leaves B's disk in B (B
// says nothing of it going, and h.Attached checks the hypervisor), and
// B's own detach takes it. Both guests are destroyed at the end.
func Multiattach(t *testing.T, d virt.Driver, dir string, v virt.Disk, data []byte, h MultiattachHooks) {
	if !v.Shareable {
		t.Fatal("Multiattach needs a shareable (multiattach) volume")
	}
	img := guesttest.Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	pattern := []byte("multiattach " + uuid.NewString()[:18])
	serial := guestSerial(v)
	// Busybox's shell: wait for the disk of the volume's serial, write
	// the pattern into its first sector (zero-padded: conv=sync) and
	// flush it to the device (conv=fsync), in the background so the
	// guest goes on to ready.
	script := fmt.Sprintf(`#!/bin/sh
(
while :; do
	for s in /sys/block/vd*/serial; do
		[ "$(cat "$s" 2>/dev/null)" = %q ] || continue
		n=${s%%/serial}; n=${n##*/}
		[ -b /dev/$n ] || continue
		if printf '%%s' %q | dd of=/dev/$n bs=512 count=1 conv=sync,fsync 2>/dev/null; then
			echo "gostack-guest: multiattach wrote /dev/$n"
		else
			echo "gostack-guest: multiattach write to /dev/$n failed"
		fi
		exit 0
	done
	sleep 1
done
) &
`, serial, pattern)
	guest := func(name string, userData []byte) (virt.Guest, *console) {
		t.Helper()
		id := uuid.NewString()
		root := virt.Disk{Path: filepath.Join(dir, name+"-disk.raw"), Format: "raw"}
		if err := os.WriteFile(root.Path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		g := virt.Guest{ID: id, Name: name, VCPUs: 1, MemoryMB: 256, Disk: root, ConfigISO: filepath.Join(dir, name+"-config.iso")}
		if err := metadata.ConfigDrive(ctx, g.ConfigISO, metadata.Drive{MetaData: metadata.MetaData{UUID: id, Name: name, Hostname: name},
			UserData: userData}); err != nil {
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
	ga, ca := guest("virttest-multi-a", []byte(script))
	gb, cb := guest("virttest-multi-b", nil)
	start := time.Now()
	for _, g := range []virt.Guest{ga, gb} {
		if err := d.Spawn(ctx, g); err != nil {
			t.Fatalf("spawn %s: %v", g.Name, err)
		}
	}
	ca.wait("gostack-guest: ready", 3*time.Minute)
	cb.wait("gostack-guest: ready", 3*time.Minute)
	t.Logf("two guests spawned → ready: %v", time.Since(start).Round(10*time.Millisecond))

	// Guest A: its agent says the disk appeared and its script says it
	// wrote, in either order (the agent's first bytes are the volume's
	// or the pattern, by which looked first).
	ca.mark()
	start = time.Now()
	if err := virt.AttachVolume(ctx, d, ga.ID, v); err != nil {
		t.Fatalf("attach volume %s to guest A: %v", v.VolumeID(), err)
	}
	out := ca.wait("appeared serial="+serial, time.Minute)
	if !bytes.Contains(out, []byte("gostack-guest: multiattach ")) {
		out = append(out, ca.wait("gostack-guest: multiattach ", time.Minute)...)
	}
	m := regexp.MustCompile(`gostack-guest: disk (\S+) appeared serial=` + regexp.QuoteMeta(serial) + ` `).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no line for guest A's disk:\n%s", out)
	}
	nameA := string(m[1])
	if !bytes.Contains(out, []byte("gostack-guest: multiattach wrote /dev/"+nameA)) {
		t.Fatalf("guest A did not write its disk %s:\n%s", nameA, out)
	}
	t.Logf("guest A saw its disk %s and wrote the pattern %v after the attach", nameA, time.Since(start).Round(10*time.Millisecond))
	written := make([]byte, 16)
	copy(written, pattern)
	nameB := attachVolume(ctx, t, d, cb, gb.ID, v, written)
	t.Logf("guest B's disk %s reads %s, what guest A wrote to its %s", nameB, hex.EncodeToString(written), nameA)
	if h.Both != nil {
		h.Both(t, v)
	}

	cb.mark()
	detachVolume(ctx, t, d, ca, ga.ID, v, nameA)
	time.Sleep(1500 * time.Millisecond) // the guest looks every second
	if out := cb.since(); bytes.Contains(out, []byte("gone serial="+serial)) {
		t.Fatalf("guest B lost the volume when A detached it:\n%s", out)
	}
	if h.Attached != nil {
		h.Attached(t, gb.ID, v)
	}
	detachVolume(ctx, t, d, cb, gb.ID, v, nameB)
}

// SharedDisk is a new 1 MiB volume whose first bytes are data, as the
// disk of a multiattach volume: its connection info with Nova's
// "multiattach": true, through virt.VolumeDisk (Disk.Shareable).
func (tg *ISCSI) SharedDisk(t testing.TB, data []byte) virt.Disk {
	t.Helper()
	info := tg.Volume(t, data, 1<<20).Info()
	info["multiattach"] = true
	d, err := virt.VolumeDisk(info)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Shareable {
		t.Fatal("a multiattach volume's disk is not shareable")
	}
	return d
}
