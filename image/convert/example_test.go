package convert_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/image/convert"
	"github.com/gostack/gostack/image/format"
)

// Convert inspects the source before qemu-img ever sees it: a source
// that is not what it is declared to be, or that is unsafe (a qcow2 whose
// backing file would make qemu-img read a file of the host), is refused
// and nothing is written. A safe source is converted with qemu-img under
// prlimit:
//
//	res, err := c.Convert(ctx, "disk.raw", format.Raw, "disk.qcow2", format.QCOW2)
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "convert-example")
	defer os.RemoveAll(dir)
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name string, data []byte) {
		if err := os.WriteFile(path(name), data, 0o600); err != nil {
			panic(err)
		}
	}

	write("disk.raw", make([]byte, 1<<20))
	backed := make([]byte, 1<<20)
	copy(backed, "QFI\xfb")
	binary.BigEndian.PutUint32(backed[4:], 3)
	binary.BigEndian.PutUint64(backed[8:], 0x200) // backing file name offset
	binary.BigEndian.PutUint32(backed[16:], 11)   // and length
	copy(backed[0x200:], "/etc/shadow")
	binary.BigEndian.PutUint64(backed[24:], 1<<30)
	binary.BigEndian.PutUint32(backed[100:], 104)
	write("backed.qcow2", backed)

	var c convert.Converter
	for _, job := range []struct{ src, from, to string }{
		{"disk.raw", format.QCOW2, format.Raw},     // declared wrong
		{"backed.qcow2", format.QCOW2, format.Raw}, // unsafe
		{"disk.raw", format.Raw, format.VMDK},      // a target it does not write
	} {
		_, err := c.Convert(ctx, path(job.src), job.from, path("out"), job.to)
		_, statErr := os.Stat(path("out"))
		fmt.Printf("%s as %s to %s: mismatch %v, unsafe %v, not supported %v, written %v\n", job.src, job.from, job.to,
			errors.Is(err, format.ErrMismatch), errors.Is(err, format.ErrUnsafe), errors.Is(err, convert.ErrNotSupported), statErr == nil)
	}
	// Output:
	// disk.raw as qcow2 to raw: mismatch true, unsafe false, not supported false, written false
	// backed.qcow2 as qcow2 to raw: mismatch false, unsafe true, not supported false, written false
	// disk.raw as raw to vmdk: mismatch false, unsafe false, not supported true, written false
}
