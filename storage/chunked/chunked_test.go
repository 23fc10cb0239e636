package chunked_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/storage/chunked"
)

// write puts n bytes of b at off of the file at path (made sparse of
// size when missing).
func write(t *testing.T, path string, size, off, n int64, b byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{b}, int(n)), off); err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s and %s differ at %d: %x %x", a, b, i, x[i], y[i])
			}
		}
	}
}

// A full backup stores the blocks with data only; an incremental one
// the blocks that changed (a block zeroed included); each restores,
// over whatever the target held, to the bytes backed up; a backup made
// again is found made; a delete removes it.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &chunked.Store{Dir: filepath.Join(dir, "backups"), ObjectSize: 1 << 20}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	vol := filepath.Join(dir, "vol")
	write(t, vol, size, 4<<20, 3<<20, 0x5a)    // 3 MiB of data: 3 objects
	write(t, vol, size, size-1000, 1000, 0x11) // the last block, partly
	write(t, vol, size, 20<<20, 1<<20, 0)      // data that is zeros
	full, err := s.Backup(ctx, chunked.Job{ID: "b1", VolumeID: "v", Source: vol, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if full.Bytes != 3<<20+chunked.BlockSize || full.Objects != 4 || full.Stored > 100<<10 {
		t.Fatalf("full backup: %+v", full)
	}
	again, err := s.Backup(ctx, chunked.Job{ID: "b1", VolumeID: "v", Source: vol, Size: size})
	if err != nil || again.Objects != full.Objects || again.Bytes != full.Bytes {
		t.Fatalf("made again: %+v %v", again, err)
	}
	copy1 := filepath.Join(dir, "copy1")
	if err := copyFile(vol, copy1); err != nil {
		t.Fatal(err)
	}
	write(t, vol, size, 5<<20, 100, 0xa5)            // one block changed
	write(t, vol, size, 6<<20, chunked.BlockSize, 0) // one block zeroed
	write(t, vol, size, 40<<20, 10, 0x77)            // one new block
	inc, err := s.Backup(ctx, chunked.Job{ID: "b2", VolumeID: "v", ParentID: "b1", Source: vol, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Bytes != 3*chunked.BlockSize || inc.Objects != 3 {
		t.Fatalf("incremental backup: %+v", inc)
	}
	m, err := s.Metadata("b2")
	if err != nil || m.ParentID == nil || *m.ParentID != "b1" || len(m.Objects) != 3 {
		t.Fatalf("metadata: %+v %v", m, err)
	}
	for _, x := range []struct{ id, want string }{{"b1", copy1}, {"b2", vol}} {
		dst := filepath.Join(dir, "restore-"+x.id)
		write(t, dst, size, 0, size, 0xee) // whatever was there goes
		if err := s.Restore(ctx, x.id, dst); err != nil {
			t.Fatal(err)
		}
		same(t, dst, x.want)
	}
	if err := s.Delete(ctx, "b2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "b2"); err != nil {
		t.Fatalf("a second delete: %v", err)
	}
	if _, err := s.Metadata("b2"); err == nil {
		t.Fatal("b2 is still there")
	}
	if err := s.Restore(ctx, "b2", copy1); err == nil {
		t.Fatal("a deleted backup restored")
	}
}

// A corrupt object is refused at restore, not written.
func TestCorruptObject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &chunked.Store{Dir: dir}
	vol := filepath.Join(dir, "vol")
	write(t, vol, 1<<20, 0, 4096, 0x42)
	if _, err := s.Backup(ctx, chunked.Job{ID: "b", VolumeID: "v", Source: vol, Size: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "b", "backup-00001"), 0, 0, 8, 0)
	if err := s.Restore(ctx, "b", vol); err == nil {
		t.Fatal("a corrupt object restored")
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
