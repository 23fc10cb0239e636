// Command imagestore keeps image data in image/store's Filesystem store:
// a Put streams the data in and computes Glance's two hashes (md5, the
// legacy "checksum", and sha512, os_hash_value) in the same pass, a Get
// reads a byte range back, and an object over the size limit is refused
// with nothing left behind.
//
//	cd examples && go run ./imagestore
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gostack/gostack/image/store"
)

func main() {
	dir, err := os.MkdirTemp("", "imagestore-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = run(context.Background(), os.Stdout, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagestore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, dir string) error {
	fs := &store.Filesystem{Dir: dir}
	if err := fs.Clean(); err != nil { // temporary files a crash left
		return err
	}
	var s store.Store = fs // what an image service holds

	data := strings.Repeat("0123456789abcdef", 4096) // a 64 KiB image
	obj, err := s.Put(ctx, "img-1", strings.NewReader(data), store.PutOptions{
		MaxSize:  1 << 20,
		HashAlgo: "sha512", // Glance's default os_hash_algo
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored img-1: %d bytes\n  checksum (md5) %s\n  %s %s...\n",
		obj.Size, obj.Checksum, obj.HashAlgo, obj.HashValue[:32])

	// A Range request: 16 bytes from offset 40.
	r, err := s.Get(ctx, "img-1", 40, 16)
	if err != nil {
		return err
	}
	part, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bytes 40-55: %s\n", part)

	_, err = s.Put(ctx, "img-2", strings.NewReader(data), store.PutOptions{MaxSize: 32 << 10})
	fmt.Fprintf(out, "img-2 over a 32 KiB limit: too large: %v\n", errors.Is(err, store.ErrTooLarge))
	ids, err := fs.List(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "objects: %v\n", ids)

	if err := s.Delete(ctx, "img-1"); err != nil {
		return err
	}
	_, err = s.Stat(ctx, "img-1")
	fmt.Fprintf(out, "after delete, img-1 not found: %v\n", errors.Is(err, store.ErrNotFound))
	return nil
}
