// Package iscsitest gives tests a private iSCSI target: a tgtd of their
// own, started through storage/iscsi's Exporter on 127.0.0.1 (a free
// portal port, a random control port, never tgt's default one) and
// stopped by its pid when the test ends, with volumes as files whose
// first bytes the test chooses. It is for tests only: the compute
// drivers' volume tests reach its volumes with QEMU's own initiator.
package iscsitest

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/iscsi"
)

// Target is a private tgtd and the directory of its volumes' files.
type Target struct {
	Exporter *iscsi.Exporter
	Files    iscsi.Files
}

// Options change where the target runs.
type Options struct {
	// Within runs f, which starts tgtd, where initiators must reach it:
	// in a network namespace of the test's (whose 127.0.0.1 is then the
	// portal), for a hypervisor that runs its guests there. Nil: in the
	// test's own.
	Within func(f func() error) error
}

// Start starts a private tgtd, stopped by its pid (Exporter.Stop) when
// the test ends. It needs root, tgt (tgtd, tgtadm) and QEMU's iscsi
// block driver (qemu-block-extra); without them the test is skipped, or
// failed in CI.
func Start(t testing.TB, o Options) *Target {
	t.Helper()
	if os.Geteuid() != 0 {
		if testenv.CI() {
			t.Fatal("a private tgtd needs root [CI=true: integration tests may not skip]")
		}
		t.Skip("a private tgtd needs root")
	}
	tgtd := testenv.LookPath(t, "tgtd", "tgt")
	tgtadm := testenv.LookPath(t, "tgtadm", "tgt")
	if mods, _ := filepath.Glob("/usr/lib/*/qemu/block-iscsi.so"); len(mods) == 0 {
		testenv.Missing(t, "QEMU's iscsi block driver (block-iscsi.so)", "qemu-block-extra")
	}
	dir := t.TempDir()
	tg := &Target{
		Exporter: &iscsi.Exporter{
			Dir:         filepath.Join(dir, "tgt"),
			ControlPort: freeControlPort(t),
			Portal:      netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t)),
			Tgtd:        tgtd,
			Tgtadm:      tgtadm,
		},
		Files: iscsi.Files{Dir: filepath.Join(dir, "volumes")},
	}
	within := o.Within
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
func (tg *Target) Volume(t testing.TB, data []byte, size int64) iscsi.Connection {
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

// ImageVolume is a volume holding the file image (a disk image: boot
// from volume), its size rounded up to 1 MiB.
func (tg *Target) ImageVolume(t testing.TB, image string) iscsi.Connection {
	t.Helper()
	b, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	return tg.Volume(t, b, (int64(len(b))+mib-1)/mib*mib)
}

// freePort is a TCP port free on 127.0.0.1 a moment ago (in the test's
// network namespace: in another one, where Options.Within starts tgtd,
// every port is free).
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
// 20000..32767 (tgt's default is 0; others' tgtds are left alone).
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
	t.Fatal(fmt.Errorf("no free tgtd control port"))
	return 0
}
