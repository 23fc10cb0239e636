package iscsitest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/iscsi/iscsitest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestVolume: a volume's first bytes are what the test chose, read back
// through QEMU's initiator with the volume's credentials.
func TestVolume(t *testing.T) {
	qemuImg := testenv.LookPath(t, "qemu-img", "qemu-utils")
	tg := iscsitest.Start(t, iscsitest.Options{})
	data := []byte("iscsitest: the first bytes of a volume")
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
}
