package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage"
)

// GuestDir is where GuestImage keeps the tiny guest image and what it is
// built from, shared by every test binary on the machine (Build locks
// it, and rebuilds only when an input changed).
var GuestDir = filepath.Join(os.TempDir(), "gostack-guest")

var guest struct {
	once sync.Once
	img  guestimage.Image
	err  error
}

// GuestImage returns the path of the tiny guest image (package
// guestimage): a raw disk that boots under QEMU, prints lines starting
// "gostack-guest: " on its serial console, the last of a boot being
// "gostack-guest: ready ...", and powers off on the ACPI power button.
// Tests must not write to it (boot it with snapshot=on or a copy).
// Without the tools it is built with, the test is skipped, or failed in
// CI.
func GuestImage(t testing.TB) string {
	t.Helper()
	for _, tool := range []struct{ bin, pkg string }{
		{"mkfs.vfat", "dosfstools"}, {"mcopy", "mtools"}, {"syslinux", "syslinux"}, {"apt-get", "apt"}, {"dpkg-deb", "dpkg"},
	} {
		LookPath(t, tool.bin, tool.pkg, "/usr/sbin", "/sbin")
	}
	guest.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		guest.img, guest.err = guestimage.Build(ctx, guestimage.Options{Dir: GuestDir})
	})
	if guest.err != nil {
		t.Fatalf("tiny guest image: %v", guest.err)
	}
	return guest.img.Path
}
