package convert_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/image/convert"
	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	bin := testenv.LookPath(t, "qemu-img", "qemu-utils")
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v %s", args, err, out)
	}
}

func TestConvert(t *testing.T) {
	testenv.LookPath(t, "prlimit", "util-linux")
	ctx := context.Background()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	qemuImg(t, "create", "-f", "qcow2", p("disk.qcow2"), "64M")
	qemuImg(t, "create", "-f", "qcow2", p("base.qcow2"), "64M")
	qemuImg(t, "create", "-f", "qcow2", "-b", p("base.qcow2"), "-F", "qcow2", p("child.qcow2"))
	qemuImg(t, "create", "-f", "vmdk", p("disk.vmdk"), "16M")
	var c convert.Converter

	res, err := c.Convert(ctx, p("disk.qcow2"), format.QCOW2, p("disk.raw"), format.Raw)
	if err != nil || res.Format != format.Raw || res.VirtualSize != 64<<20 {
		t.Fatalf("qcow2 -> raw: %+v %v", res, err)
	}
	res, err = c.Convert(ctx, p("disk.vmdk"), format.VMDK, p("back.qcow2"), format.QCOW2)
	if err != nil || res.Format != format.QCOW2 || res.VirtualSize != 16<<20 {
		t.Fatalf("vmdk -> qcow2: %+v %v", res, err)
	}
	refused := []struct {
		name, src, from, to string
		want                error
	}{
		{"backing file", "child.qcow2", format.QCOW2, format.Raw, format.ErrUnsafe},
		{"declared wrong", "disk.vmdk", format.QCOW2, format.Raw, format.ErrMismatch},
		{"unknown source format", "disk.qcow2", "ploop", format.Raw, convert.ErrNotSupported},
		{"unknown target format", "disk.qcow2", format.QCOW2, "vmdk", convert.ErrNotSupported},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			dst := p("out-" + r.name)
			_, err := c.Convert(ctx, p(r.src), r.from, dst, r.to)
			if !errors.Is(err, r.want) || fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("err = %v, want %v (400)", err, r.want)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Fatal("output left behind")
			}
		})
	}
	// The limits are real: 16 MiB of address space is too little for qemu-img.
	tight := convert.Converter{AddrSpace: 16 << 20}
	if _, err := tight.Convert(ctx, p("disk.qcow2"), format.QCOW2, p("tight.raw"), format.Raw); err == nil {
		t.Fatal("qemu-img ran within 16 MiB of address space: limits not applied")
	}
	if _, err := os.Stat(p("tight.raw")); !os.IsNotExist(err) {
		t.Fatal("output of a failed conversion left behind")
	}
}

// FromRaw reads a volume's bytes as raw whatever they hold: a guest's
// disk that holds a qcow2 with a backing file (an attack on a probing
// reader) becomes a qcow2 image whose content is those bytes, with no
// backing file.
func TestFromRaw(t *testing.T) {
	testenv.LookPath(t, "prlimit", "util-linux")
	ctx := context.Background()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	qemuImg(t, "create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", p("evil.qcow2"), "1M")
	evil, err := os.ReadFile(p("evil.qcow2"))
	if err != nil {
		t.Fatal(err)
	}
	vol := make([]byte, 4<<20)
	copy(vol, evil)
	if err := os.WriteFile(p("volume"), vol, 0o600); err != nil {
		t.Fatal(err)
	}
	var c convert.Converter
	res, err := c.FromRaw(ctx, p("volume"), p("image.qcow2"), format.QCOW2)
	if err != nil || res.Format != format.QCOW2 || res.VirtualSize != 4<<20 {
		t.Fatalf("a volume to qcow2: %+v %v", res, err)
	}
	qemuImg(t, "convert", "-f", "qcow2", "-O", "raw", p("image.qcow2"), p("back.raw"))
	back, err := os.ReadFile(p("back.raw"))
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != string(vol) {
		t.Fatal("the qcow2 image's content is not the volume's bytes")
	}
	if _, err := c.FromRaw(ctx, p("volume"), p("out.vmdk"), format.VMDK); !errors.Is(err, convert.ErrNotSupported) {
		t.Fatalf("to vmdk: %v, want ErrNotSupported", err)
	}
}
