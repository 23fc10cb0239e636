package virttest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/compute/virt/virttest"
)

// TestISCSI: a volume of the private target holds the first bytes the
// test chose, read back through QEMU's initiator with the volume's
// credentials, and its disk is the connection info a driver attaches.
func TestISCSI(t *testing.T) {
	tg := virttest.StartISCSI(t, nil)
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img not found: install the Debian package qemu-utils")
	}
	data := []byte("virttest: the first bytes of a volume")
	c := tg.Volume(t, data, 1<<20)
	out := filepath.Join(t.TempDir(), "read.raw")
	if b, err := exec.Command(qemuImg, "convert", "-f", "raw", "-O", "raw", c.URL(), out).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert from %s: %v: %s", c, err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1<<20 || !bytes.HasPrefix(got, data) {
		t.Fatalf("read %d bytes starting %q, want 1 MiB starting %q", len(got), got[:min(len(got), len(data))], data)
	}
	d := tg.Disk(t, data)
	target, err := d.ISCSI()
	if err != nil || d.Protocol != "iscsi" || d.VolumeID() == "" || target.Username == "" || target.Portal() != tg.Exporter.Portal.String() {
		t.Fatalf("disk %v (%v): want an iscsi volume with CHAP on %s", d, err, tg.Exporter.Portal)
	}
}
