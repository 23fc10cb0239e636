package qemu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/compute/virt/virttest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestGuestImage is the drivers' shared lifecycle (compute/virt/virttest)
// on this driver, with its own checks: a soft reboot is a new QEMU, a
// suspend leaves no QEMU and a saved state file, a destroy leaves no
// directory, a guest spawned stopped has no QEMU and no pid file. Its
// ports are bare taps (Config.Plug is nil), made as root, and its
// volumes are on a private tgtd (virttest.StartISCSI); without root
// the interface and volume steps are skipped.
func TestGuestImage(t *testing.T) {
	testenv.LookPath(t, "genisoimage", "genisoimage")
	d := newDriver(t, "")
	var pid int
	var port func(*testing.T) virt.GuestPort
	var ports []virt.GuestPort
	if os.Geteuid() == 0 {
		port = func(*testing.T) virt.GuestPort {
			p := virt.GuestPort{ID: uuid.NewString(), MAC: fmt.Sprintf("52:54:00:%02x:%02x:%02x", rand.IntN(256), rand.IntN(256), rand.IntN(256))}
			ports = append(ports, p)
			return p
		}
		// Runs after the suite's own clean-up (a destroy), registered
		// before it: a test that failed half-way leaves no tap either.
		t.Cleanup(func() {
			for _, p := range ports {
				deleteTap(tapName(p.ID))
			}
		})
	}
	var volume func(*testing.T) (virt.Disk, []byte)
	var bootVolume func(*testing.T, string) virt.Disk
	var grow func(*testing.T, virt.Disk, int64)
	if os.Geteuid() == 0 {
		tg := virttest.StartISCSI(t, nil)
		grow = func(t *testing.T, v virt.Disk, size int64) { tg.Grow(t, v, size) }
		volume = func(t *testing.T) (virt.Disk, []byte) {
			data := []byte(uuid.NewString())
			return tg.Disk(t, data), data
		}
		bootVolume = func(t *testing.T, image string) virt.Disk { return tg.ImageDisk(t, image) }
	}
	virttest.Lifecycle(t, d, t.TempDir(), virttest.Hooks{
		Port:       port,
		Volume:     volume,
		BootVolume: bootVolume,
		Grow:       grow,
		Spawned:    func(t *testing.T, id string) { pid = pidOf(t, d, id) },
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
		SpawnedStopped: func(t *testing.T, id string) {
			if pids := guestPids(id); len(pids) > 0 || exists(guestFiles(d.cfg.StateDir, id).pid) {
				t.Fatalf("a guest spawned stopped has QEMU %v or a pid file", pids)
			}
		},
		Destroyed: func(t *testing.T, id string) {
			if _, err := os.Stat(guestFiles(d.cfg.StateDir, id).dir); !os.IsNotExist(err) {
				t.Fatalf("guest directory after destroy: %v", err)
			}
			for _, p := range ports {
				if tapExists(p) {
					t.Errorf("tap %s of a detached port left", tapName(p.ID))
				}
			}
		},
	})
}
