package format_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gostack/gostack/image/format"
)

// qcow2Header returns the first sector of a qcow2 v3 image of the given
// virtual size, with a backing file if backing is set.
func qcow2Header(size uint64, backing bool) []byte {
	h := make([]byte, 512)
	copy(h, "QFI\xfb")
	binary.BigEndian.PutUint32(h[4:], 3)
	if backing {
		binary.BigEndian.PutUint64(h[8:], 0x200)
	}
	binary.BigEndian.PutUint64(h[24:], size)
	binary.BigEndian.PutUint32(h[100:], 104)
	return h
}

// An upload is inspected while it is copied to the store. An unsafe image
// stops the copy at the chunk that proves it unsafe.
func Example() {
	for _, backing := range []bool{false, true} {
		upload := io.MultiReader(bytes.NewReader(qcow2Header(1<<30, backing)), bytes.NewReader(make([]byte, 1<<20)))
		in := format.NewInspector()
		var store bytes.Buffer
		n, err := io.Copy(&store, io.TeeReader(upload, in))
		if err != nil {
			var unsafe *format.SafetyError
			errors.As(err, &unsafe)
			fmt.Printf("refused after %d bytes: %s (%s)\n", n, unsafe.Check, unsafe.Reason)
			continue
		}
		r, err := in.Result()
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		warn, err := format.Matches("qcow2", r)
		fmt.Printf("%s %s, virtual size %d, matches qcow2: %v (warn %v)\n", r.Format, r.Variant, r.VirtualSize, err == nil, warn)
	}
	// Output:
	// qcow2 v3, virtual size 1073741824, matches qcow2: true (warn false)
	// refused after 512 bytes: backing_file (image has a backing file)
}

// Inspect reads a whole stream; content without a known signature is raw.
func ExampleInspect() {
	r, err := format.Inspect(context.Background(), bytes.NewReader(make([]byte, 1<<20)))
	fmt.Println(r.Format, r.VirtualSize, err)
	// Output: raw 1048576 <nil>
}
