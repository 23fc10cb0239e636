package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/image/store"
)

// Put streams an object in and returns Glance's two hashes; Get reads a
// byte range back.
func ExampleFilesystem() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	fs := &store.Filesystem{Dir: dir}

	obj, err := fs.Put(ctx, "img-1", strings.NewReader("hello, image"), store.PutOptions{Size: 12, SizeKnown: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(obj.Size, obj.Checksum, obj.HashAlgo, obj.HashValue[:16])

	r, err := fs.Get(ctx, "img-1", 7, 5)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("%s\n", b)

	_, err = fs.Put(ctx, "img-2", strings.NewReader("hello, image"), store.PutOptions{Size: 100, SizeKnown: true})
	fmt.Println(errors.Is(err, store.ErrSizeMismatch))
	// Output:
	// 12 87a83bec3da797da33b0344e7096cc70 sha512 b0b9d58c2ce87e0c
	// image
	// true
}

// The Tee of a Put sees every byte on its way to the store: an inspector
// there refuses an unsafe image mid-stream, and nothing is stored.
func ExamplePutOptions_tee() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	fs := &store.Filesystem{Dir: dir}

	// A qcow2 header naming a backing file.
	h := make([]byte, 512)
	copy(h, "QFI\xfb")
	binary.BigEndian.PutUint32(h[4:], 3)
	binary.BigEndian.PutUint64(h[8:], 0x200)
	binary.BigEndian.PutUint64(h[24:], 1<<30)
	binary.BigEndian.PutUint32(h[100:], 104)

	_, err := fs.Put(ctx, "img-1", io.MultiReader(bytes.NewReader(h), bytes.NewReader(make([]byte, 1<<20))),
		store.PutOptions{Tee: format.NewInspector()})
	fmt.Println(errors.Is(err, format.ErrUnsafe))
	ids, _ := fs.List(ctx)
	fmt.Println(len(ids), "objects")
	// Output:
	// true
	// 0 objects
}

// A Digest computes both hashes of data that does not go through a Put.
func ExampleDigest() {
	d, err := store.NewDigest("sha256")
	if err != nil {
		panic(err)
	}
	io.WriteString(d, "hello, image")
	o := d.Object()
	fmt.Println(o.Checksum, o.HashAlgo, o.HashValue)
	// Output: 87a83bec3da797da33b0344e7096cc70 sha256 550799ec45ad8fa4bd07ab071d2ef9a909108b10282a52497df8942113574d6d
}
