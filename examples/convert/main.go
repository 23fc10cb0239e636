// Command convert converts a raw disk image to qcow2 and back with
// image/convert, which runs qemu-img safely: the source is inspected
// first and must be what it is declared to be, qemu-img is told the
// source format, and it runs under address-space and CPU-time limits
// (prlimit). It needs qemu-img (Debian: qemu-utils).
//
//	cd examples && go run ./convert
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/image/convert"
	"github.com/gostack/gostack/image/format"
)

func main() {
	dir, err := os.MkdirTemp("", "convert-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = run(context.Background(), os.Stdout, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, dir string) error {
	raw := filepath.Join(dir, "disk.raw")
	if err := writeRaw(raw, 64<<20); err != nil {
		return err
	}
	var c convert.Converter // qemu-img and prlimit from PATH, OpenStack's limits

	qcow2 := filepath.Join(dir, "disk.qcow2")
	res, err := c.Convert(ctx, raw, format.Raw, qcow2, format.QCOW2)
	if err != nil {
		return err
	}
	// The result has been inspected too.
	fmt.Fprintf(out, "raw to qcow2: %s %s, virtual size %d MiB\n", res.Format, res.Variant, res.VirtualSize>>20)

	back := filepath.Join(dir, "back.raw")
	if _, err := c.Convert(ctx, qcow2, format.QCOW2, back, format.Raw); err != nil {
		return err
	}
	a, err := os.ReadFile(raw)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(back)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "qcow2 to raw: the same bytes as the original: %v\n", bytes.Equal(a, b))

	// A source that is not what it is declared to be is refused before
	// qemu-img runs, and nothing is written.
	_, err = c.Convert(ctx, raw, format.QCOW2, filepath.Join(dir, "bad.raw"), format.Raw)
	_, statErr := os.Stat(filepath.Join(dir, "bad.raw"))
	fmt.Fprintf(out, "raw declared qcow2: mismatch: %v, output written: %v\n",
		errors.Is(err, format.ErrMismatch), statErr == nil)
	return nil
}

// writeRaw writes a sparse raw image of size bytes with a boot sector's
// worth of data at the start.
func writeRaw(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(bytes.Repeat([]byte("gostack!"), 64)); err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Close()
}
