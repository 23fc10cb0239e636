// Command inspect streams disk images through image/format's inspector, as
// an image service does with an upload on its way to the store: the format
// and virtual size come out at the end, and an unsafe image (here a qcow2
// with a backing file, which would make the hypervisor open a file of the
// host) stops the copy at the chunk that proves it unsafe.
//
//	cd examples && go run ./inspect
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gostack/gostack/image/format"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "inspect:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	uploads := []struct {
		name, declared string
		data           io.Reader
	}{
		{"raw disk", "raw", bytes.NewReader(make([]byte, 4<<20))},
		{"qcow2 disk", "qcow2", io.MultiReader(bytes.NewReader(qcow2Header(10<<30, "")), bytes.NewReader(make([]byte, 1<<20)))},
		{"qcow2 declared vmdk", "vmdk", bytes.NewReader(qcow2Header(10<<30, ""))},
		{"qcow2 on /etc/shadow", "qcow2", io.MultiReader(bytes.NewReader(qcow2Header(1<<30, "/etc/shadow")), bytes.NewReader(make([]byte, 1<<20)))},
	}
	for _, u := range uploads {
		fmt.Fprintf(out, "%s: %s\n", u.name, upload(u.data, u.declared))
	}
	return nil
}

// upload copies an image to a store (io.Discard here) through an
// Inspector and says what it found.
func upload(data io.Reader, declared string) string {
	in := format.NewInspector()
	n, err := io.Copy(io.Discard, io.TeeReader(data, in))
	if err != nil {
		var unsafe *format.SafetyError
		if errors.As(err, &unsafe) {
			return fmt.Sprintf("refused after %d bytes: %s (%s)", n, unsafe.Check, unsafe.Reason)
		}
		return err.Error()
	}
	r, err := in.Result() // the stream has ended: footers are checked here
	if err != nil {
		return err.Error()
	}
	// Glance's rule for the declared disk_format against the content.
	if _, err := format.Matches(declared, r); err != nil {
		return err.Error()
	}
	found := r.Format
	if r.Variant != "" {
		found += " " + r.Variant
	}
	return fmt.Sprintf("%s, %d bytes, virtual size %d MiB", found, r.Size, r.VirtualSize>>20)
}

// qcow2Header returns the first sector of a qcow2 version 3 image of the
// given virtual size, pointing to a backing file if backing is set.
func qcow2Header(size uint64, backing string) []byte {
	h := make([]byte, 512)
	copy(h, "QFI\xfb")                       // magic
	binary.BigEndian.PutUint32(h[4:], 3)     // version
	binary.BigEndian.PutUint64(h[24:], size) // virtual size
	binary.BigEndian.PutUint32(h[100:], 104) // header length
	if backing != "" {
		binary.BigEndian.PutUint64(h[8:], 0x200) // backing file name offset
		binary.BigEndian.PutUint32(h[16:], uint32(len(backing)))
		h = append(h, backing...)
	}
	return h
}
