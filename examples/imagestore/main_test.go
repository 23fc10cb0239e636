package main

import (
	"bytes"
	"context"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// The hashes are md5sum's and sha512sum's of the same 64 KiB.
	want := `stored img-1: 65536 bytes
  checksum (md5) ea2e4a9d8add947abc90705d59d34a74
  sha512 f231de0525d27de3c15d605aaa1bf6d2...
bytes 40-55: 89abcdef01234567
img-2 over a 32 KiB limit: too large: true
objects: [img-1]
after delete, img-1 not found: true
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
