package qemu

import (
	"os"
	"testing"

	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestGuestImage is the drivers' shared lifecycle (compute/virt/virttest)
// on this driver, with its own checks: a soft reboot is a new QEMU, a
// suspend leaves no QEMU and a saved state file, a destroy leaves no
// directory.
func TestGuestImage(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	d := newDriver(t, "")
	var pid int
	virttest.Lifecycle(t, d, t.TempDir(), virttest.Hooks{
		Spawned: func(t *testing.T, id string) { pid = pidOf(t, d, id) },
		SoftRebooted: func(t *testing.T, id string) {
			if p := pidOf(t, d, id); p == pid || p == 0 {
				t.Fatalf("pid %d after a soft reboot, was %d: not a fresh start", p, pid)
			}
		},
		Suspended: func(t *testing.T, id string) {
			if guestLeft(id) {
				t.Fatal("QEMU still runs after suspend")
			}
			fi, err := os.Stat(guestFiles(d.cfg.StateDir, id).state)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("saved state: %d KiB", fi.Size()>>10)
		},
		Destroyed: func(t *testing.T, id string) {
			if _, err := os.Stat(guestFiles(d.cfg.StateDir, id).dir); !os.IsNotExist(err) {
				t.Fatalf("guest directory after destroy: %v", err)
			}
		},
	})
}
