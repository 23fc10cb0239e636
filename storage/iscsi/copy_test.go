package iscsi_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// Snapshots and volumes made from them or from other volumes: the
// source's bytes are copied exactly (up to the size asked; a larger
// volume's rest reads as zeros), holes stay holes, a later write to the
// source does not reach the copy, and every copy is idempotent.
func TestFilesCopies(t *testing.T) {
	ctx := context.Background()
	f := iscsi.Files{Dir: t.TempDir() + "/volumes"}
	const mib = 1 << 20
	path, err := f.Create(ctx, "v1", 64*mib)
	if err != nil {
		t.Fatal(err)
	}
	// Data at the start, in the middle and in the last block; holes
	// between.
	marks := map[int64][]byte{0: []byte("boot sector"), 33*mib + 7: bytes.Repeat([]byte{0xab}, 3*mib), 64*mib - 512: []byte("tail")}
	writeAt(t, path, marks)

	snap, err := f.Snapshot(ctx, "v1", "s1", 64*mib)
	if err != nil {
		t.Fatal(err)
	}
	if snap != f.SnapshotPath("s1") || snap != f.Dir+"/snapshot-s1" {
		t.Errorf("snapshot path %s", snap)
	}
	writeAt(t, path, map[int64][]byte{0: []byte("changed after")})
	same(t, snap, path, 64*mib, 13) // all but the changed first bytes
	if got := readAt(t, snap, 0, 11); string(got) != "boot sector" {
		t.Errorf("the snapshot's first bytes: %q: a write after it reached it", got)
	}
	if blocks := allocated(t, snap); blocks*512 > 8*mib {
		t.Errorf("the snapshot of a volume with 3 MiB of data takes %d KiB: holes were filled", blocks/2)
	}
	// Idempotent: again is no error; another size is ErrExists.
	if _, err := f.Snapshot(ctx, "v1", "s1", 64*mib); err != nil {
		t.Errorf("snapshot again: %v", err)
	}
	if _, err := f.Snapshot(ctx, "v1", "s1", 32*mib); !errors.Is(err, iscsi.ErrExists) {
		t.Errorf("snapshot again at another size: %v, want ErrExists", err)
	}

	// A larger volume from the snapshot: its bytes, then zeros.
	v2, err := f.CreateFrom(ctx, "v2", snap, 64*mib, 128*mib)
	if err != nil {
		t.Fatal(err)
	}
	same(t, v2, snap, 64*mib, 0)
	if fi, _ := os.Stat(v2); fi.Size() != 128*mib {
		t.Errorf("the new volume has %d bytes", fi.Size())
	}
	if !bytes.Equal(readAt(t, v2, 100*mib, 4096), make([]byte, 4096)) {
		t.Error("the new volume's rest is not zeros")
	}
	// A clone of part of a volume (the snapshot size of a volume since
	// extended).
	if err := f.Extend(ctx, "v1", 96*mib); err != nil {
		t.Fatal(err)
	}
	writeAt(t, path, map[int64][]byte{80 * mib: []byte("beyond the snapshot")})
	if _, err := f.Snapshot(ctx, "v1", "s2", 64*mib); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f.SnapshotPath("s2")); fi.Size() != 64*mib {
		t.Errorf("a 64 MiB snapshot of a 96 MiB volume has %d bytes", fi.Size())
	}
	clone, err := f.CreateFrom(ctx, "v3", path, 96*mib, 96*mib)
	if err != nil {
		t.Fatal(err)
	}
	same(t, clone, path, 96*mib, 0)

	// Refusals, and nothing left behind by them.
	if _, err := f.CreateFrom(ctx, "v4", f.SnapshotPath("none"), 64*mib, 64*mib); !errors.Is(err, iscsi.ErrNoVolume) {
		t.Errorf("from a missing snapshot: %v, want ErrNoVolume", err)
	}
	if _, err := f.CreateFrom(ctx, "v4", snap, 64*mib, 32*mib); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("into a smaller volume: %v, want ErrInvalid", err)
	}
	if _, err := f.CreateFrom(ctx, "v4", snap, 128*mib, 128*mib); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("more bytes than the source has: %v, want ErrInvalid", err)
	}
	if _, err := f.Snapshot(ctx, "v1", "../x", mib); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("a snapshot id with a path: %v, want ErrInvalid", err)
	}
	ents, _ := os.ReadDir(f.Dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 5 {
		t.Errorf("files after the refusals: %q, want v1 v2 v3 s1 s2 and nothing else", names)
	}
	for _, id := range []string{"s1", "s1", "s2"} {
		if err := f.DeleteSnapshot(ctx, id); err != nil {
			t.Errorf("delete snapshot %s: %v", id, err)
		}
	}
	if _, err := os.Stat(snap); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted snapshot's file: %v", err)
	}
}

func writeAt(t *testing.T, path string, marks map[int64][]byte) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for off, b := range marks {
		if _, err := fh.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, n)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// same fails unless a and b have the same first n bytes, the first skip
// of them excepted.
func same(t *testing.T, a, b string, n, skip int64) {
	t.Helper()
	x, y := readAt(t, a, 0, int(n)), readAt(t, b, 0, int(n))
	if !bytes.Equal(x[skip:], y[skip:]) {
		i := skip
		for x[i] == y[i] {
			i++
		}
		t.Fatalf("%s and %s differ at byte %d", a, b, i)
	}
}

func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks
}

// Sweep removes what a kill left aside (half-made volumes and copies),
// never a volume or a snapshot.
func TestFilesSweep(t *testing.T) {
	ctx := context.Background()
	f := iscsi.Files{Dir: t.TempDir()}
	if _, err := f.Create(ctx, "v1", 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Snapshot(ctx, "v1", "s1", 1<<20); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".volume-v2.123", ".snapshot-s2.456"} {
		if err := os.WriteFile(f.Dir+"/"+n, []byte("tenant data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(f.Dir+"/.images", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(f.Dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".images snapshot-s1 volume-v1" {
		t.Errorf("after the sweep: %q", names)
	}
}

// Adopt: a raw file on the volumes' file system becomes the volume's
// file without a copy (the same inode, grown to the volume's size, its
// holes kept); again is no error, another size is ErrExists; a file
// longer than its content is copied, only the content.
func TestFilesAdopt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := iscsi.Files{Dir: dir + "/volumes"}
	const mib = 1 << 20
	raw := dir + "/image.raw"
	if err := os.WriteFile(raw, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, 10*mib); err != nil {
		t.Fatal(err)
	}
	writeAt(t, raw, map[int64][]byte{0: []byte("image"), 10*mib - 4: []byte("tail")})
	path, err := f.Adopt(ctx, "v1", raw, 10*mib, 64*mib)
	if err != nil {
		t.Fatal(err)
	}
	var a, b syscall.Stat_t
	if err := syscall.Stat(raw, &a); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(path, &b); err != nil {
		t.Fatal(err)
	}
	if path != f.Path("v1") || a.Ino != b.Ino || b.Size != 64*mib {
		t.Fatalf("adopted %s: inode %d (the file's %d), %d bytes", path, b.Ino, a.Ino, b.Size)
	}
	if got := readAt(t, path, 10*mib-4, 4); string(got) != "tail" {
		t.Errorf("the adopted volume's content: %q", got)
	}
	if blocks := allocated(t, path); blocks*512 > 2*mib {
		t.Errorf("the adopted volume takes %d KiB: holes were filled", blocks/2)
	}
	if _, err := f.Adopt(ctx, "v1", raw, 10*mib, 64*mib); err != nil {
		t.Errorf("adopt again: %v", err)
	}
	if _, err := f.Adopt(ctx, "v1", raw, 10*mib, 32*mib); !errors.Is(err, iscsi.ErrExists) {
		t.Errorf("adopt again at another size: %v, want ErrExists", err)
	}
	if _, err := f.Adopt(ctx, "v2", raw, 65*mib, 64*mib); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("content larger than the volume: %v, want ErrInvalid", err)
	}
	// raw is now 64 MiB (it is v1's file): only its first 10 MiB are
	// v3's content, so it is copied.
	v3, err := f.Adopt(ctx, "v3", raw, 10*mib, 20*mib)
	if err != nil {
		t.Fatal(err)
	}
	var c syscall.Stat_t
	if err := syscall.Stat(v3, &c); err != nil || c.Ino == a.Ino || c.Size != 20*mib {
		t.Fatalf("v3: %v, inode %d, %d bytes", err, c.Ino, c.Size)
	}
	same(t, v3, raw, 10*mib, 0)
}
