// Package guesttest gives tests the tiny guest image (package
// guestimage), built once per machine and shared by every test binary.
// It is for tests only.
package guesttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage"
)

// Dir is where Image keeps the image and what it is built from, shared
// by every test binary on the machine (Build locks it, and rebuilds
// only when an input changed).
var Dir = filepath.Join(os.TempDir(), "gostack-guest")

var guest struct {
	once sync.Once
	img  guestimage.Image
	err  error
}

// Image returns the path of the tiny guest image: a raw disk that boots
// under QEMU, prints lines starting "gostack-guest: " on its serial
// console, the last of a boot being "gostack-guest: ready ...", and
// powers off on the ACPI power button. Tests must not write to it (boot
// it with snapshot=on, or an overlay). Without the tools it is built
// with, the test is skipped, or failed in CI.
func Image(t testing.TB) string {
	t.Helper()
	for _, tool := range []struct{ bin, pkg string }{
		{"mkfs.vfat", "dosfstools"}, {"mcopy", "mtools"}, {"syslinux", "syslinux"}, {"apt-get", "apt"}, {"dpkg-deb", "dpkg"},
	} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", tool.bin)); err == nil {
				continue
			}
			msg := tool.bin + " not found: install the Debian package " + tool.pkg + " (make test installs it)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + " [CI=true: integration tests may not skip]")
			}
			t.Skip(msg)
		}
	}
	guest.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		guest.img, guest.err = guestimage.Build(ctx, guestimage.Options{Dir: Dir})
	})
	if guest.err != nil {
		t.Fatalf("tiny guest image: %v", guest.err)
	}
	return guest.img.Path
}
