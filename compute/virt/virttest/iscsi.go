package virttest

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/storage/iscsi"
)

// ISCSI is a private iSCSI target for a driver's volume steps
// (Hooks.Volume, Hooks.BootVolume) and its own volume tests: a tgtd of
// the test's, started through storage/iscsi's Exporter on 127.0.0.1 at
// a free port with a random control port (never tgt's default one, so
// the host's tgt service and other tests' tgtds are left alone), and
// stopped by its pid when the test ends; its volumes are files.
type ISCSI struct {
	Exporter *iscsi.Exporter
	Files    iscsi.Files
}

// StartISCSI starts the private target. within, if not nil, runs the
// start of tgtd where the driver's QEMUs reach it: in the network
// namespace a test's libvirtd runs its guests in, whose 127.0.0.1 is
// then the portal. It needs root, tgt (tgtd, tgtadm) and QEMU's iscsi
// block driver (qemu-block-extra); without them the test is skipped, or
// failed under CI=true.
func StartISCSI(t testing.TB, within func(func() error) error) *ISCSI {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "root (a private tgtd)", "")
	}
	tgtd, tgtadm := lookPath(t, "tgtd", "tgt"), lookPath(t, "tgtadm", "tgt")
	if mods, _ := filepath.Glob("/usr/lib/*/qemu/block-iscsi.so"); len(mods) == 0 {
		missing(t, "QEMU's iscsi block driver (block-iscsi.so)", "qemu-block-extra")
	}
	dir := t.TempDir()
	tg := &ISCSI{
		Exporter: &iscsi.Exporter{
			Dir:         filepath.Join(dir, "tgt"),
			ControlPort: freeControlPort(t),
			Portal:      netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t)),
			Tgtd:        tgtd,
			Tgtadm:      tgtadm,
		},
		Files: iscsi.Files{Dir: filepath.Join(dir, "volumes")},
	}
	if within == nil {
		within = func(f func() error) error { return f() }
	}
	start := time.Now()
	if err := within(func() error { return tg.Exporter.Start(context.Background()) }); err != nil {
		t.Fatalf("private tgtd: %v", err)
	}
	t.Logf("private tgtd on %s (control port %d) in %v", tg.Exporter.Portal, tg.Exporter.ControlPort, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pid, _ := tg.Exporter.PID()
		if err := tg.Exporter.Stop(ctx); err != nil {
			t.Errorf("stop the private tgtd %d: %v", pid, err)
		}
		if pid, ok := tg.Exporter.PID(); ok {
			t.Errorf("the private tgtd %d still runs after Stop", pid)
		}
	})
	return tg
}

// Volume makes a volume of size bytes (a multiple of 512) whose start
// is data, exports it with fresh CHAP credentials, and returns its
// connection (Connection.Info is what Nova receives from Cinder).
func (tg *ISCSI) Volume(t testing.TB, data []byte, size int64) iscsi.Connection {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	path, err := tg.Files.Create(ctx, id, size)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(data, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := tg.Exporter.Export(ctx, iscsi.Export{VolumeID: id, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Grow makes volume v (one of Volume's) size bytes and exports it again
// with its credentials, as the volume agent's extend does: tgtd makes
// its LUN again at the new size.
func (tg *ISCSI) Grow(t testing.TB, v virt.Disk, size int64) {
	t.Helper()
	ctx := context.Background()
	id := v.VolumeID()
	if err := tg.Files.Extend(ctx, id, size); err != nil {
		t.Fatal(err)
	}
	chap := iscsi.CHAP{Username: v.Connection["auth_username"], Password: v.Connection["auth_password"]}
	if _, err := tg.Exporter.Export(ctx, iscsi.Export{VolumeID: id, Path: tg.Files.Path(id), CHAP: chap}); err != nil {
		t.Fatal(err)
	}
}

// Disk is a new 1 MiB volume whose first bytes are data, as the network
// disk a driver attaches (virt.VolumeDisk of its connection info).
func (tg *ISCSI) Disk(t testing.TB, data []byte) virt.Disk {
	t.Helper()
	return disk(t, tg.Volume(t, data, 1<<20))
}

// ImageDisk is a new volume holding the disk image at image (its size
// rounded up to 1 MiB), to boot from.
func (tg *ISCSI) ImageDisk(t testing.TB, image string) virt.Disk {
	t.Helper()
	b, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	return disk(t, tg.Volume(t, b, (int64(len(b))+mib-1)/mib*mib))
}

func disk(t testing.TB, c iscsi.Connection) virt.Disk {
	t.Helper()
	d, err := virt.VolumeDisk(c.Info())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// missing skips the test for want of what (in Debian package pkg), or
// fails it under CI=true, where integration tests may not skip.
func missing(t testing.TB, what, pkg string) {
	t.Helper()
	msg := what + " is missing"
	if pkg != "" {
		msg = fmt.Sprintf("%s not found: install the Debian package %q", what, pkg)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: integration tests may not skip]")
	}
	t.Skip(msg)
}

// lookPath finds a program on PATH or in /usr/sbin.
func lookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); isExecutable(p) {
		return p
	}
	missing(t, name, pkg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// freePort is a TCP port free on 127.0.0.1 a moment ago (in the test's
// network namespace: in another one, where within starts tgtd, every
// port is free).
func freePort(t testing.TB) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// freeControlPort is a tgtd control port no tgtd answers on: random in
// 20000..32767.
func freeControlPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(12768))
		if err != nil {
			t.Fatal(err)
		}
		port := 20000 + int(n.Int64())
		if c, err := net.Dial("unix", "/var/run/tgtd/socket."+strconv.Itoa(port)); err == nil {
			c.Close()
			continue
		}
		return port
	}
	t.Fatal("no free tgtd control port")
	return 0
}
