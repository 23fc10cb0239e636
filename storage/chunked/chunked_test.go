package chunked_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// mem is a volume in memory: a ReaderAt, and a WriterAt a restore
// writes into; with extents set, an Extenter; zeroed counts what its
// Zero was asked to zero.
type mem struct {
	b       []byte
	extents []chunked.Extent
	zeroed  int64
	reads   int
	fail    error
}

func (m *mem) ReadAt(p []byte, off int64) (int, error) {
	m.reads++
	if m.fail != nil {
		return 0, m.fail
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *mem) WriteAt(p []byte, off int64) (int, error) { return copy(m.b[off:], p), nil }

type extentMem struct{ *mem }

func (m extentMem) Extents(context.Context, int64) ([]chunked.Extent, error) { return m.extents, nil }

func (m extentMem) Zero(_ context.Context, off, n int64) error {
	clear(m.b[off : off+n])
	m.zeroed += n
	return nil
}

// A volume read through an io.ReaderAt (as an RBD image is) backs up
// as its file does: the same objects and hashes, the same incremental;
// an Extenter's holes are not read; a Reader shorter than the size is
// zeros past its end; a restore into an io.WriterAt gives the bytes
// back, zeroed by its Zero when it has one; a read that fails fails the
// backup and leaves nothing.
func TestReaderWriterAt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &chunked.Store{Dir: filepath.Join(dir, "backups"), ObjectSize: 1 << 20}
	os.MkdirAll(s.Dir, 0o700)
	const size = 48 << 20
	vol := filepath.Join(dir, "vol")
	write(t, vol, size, 4<<20, 3<<20, 0x5a)
	write(t, vol, size, 30<<20+100, 10, 0x11)
	b, _ := os.ReadFile(vol)
	fromFile, err := s.Backup(ctx, chunked.Job{ID: "file", VolumeID: "v", Source: vol, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	m := &mem{b: bytes.Clone(b), extents: []chunked.Extent{{4 << 20, 4 << 20}, {28 << 20, 4 << 20}}}
	fromExt, err := s.Backup(ctx, chunked.Job{ID: "ext", VolumeID: "v", Reader: extentMem{m}, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if m.reads != 2 {
		t.Errorf("%d reads of two 4 MiB extents", m.reads)
	}
	plain := &mem{b: bytes.Clone(b)}
	fromPlain, err := s.Backup(ctx, chunked.Job{ID: "plain", VolumeID: "v", Reader: plain, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if fromExt != fromFile || fromPlain != fromFile {
		t.Fatalf("backups of the same bytes: file %+v, extents %+v, plain %+v", fromFile, fromExt, fromPlain)
	}
	for _, id := range []string{"ext", "plain"} {
		for _, f := range []string{"sha256file", "backup-00001", "backup-00004"} {
			x, _ := os.ReadFile(filepath.Join(s.Dir, "file", f))
			y, _ := os.ReadFile(filepath.Join(s.Dir, id, f))
			if f == "sha256file" {
				x, y = bytes.ReplaceAll(x, []byte(`"file"`), nil), bytes.ReplaceAll(y, []byte(`"`+id+`"`), nil)
			}
			if len(x) == 0 || !bytes.Equal(x, y) {
				t.Errorf("backup %s's %s is not the file's backup's", id, f)
			}
		}
	}
	// An incremental through the reader, the volume shorter than the
	// backup's size (zeros past its end).
	m.b[5<<20] = 0x01
	inc, err := s.Backup(ctx, chunked.Job{ID: "inc", VolumeID: "v", ParentID: "ext", Reader: &mem{b: m.b[:40<<20]}, Size: size})
	if err != nil || inc.Objects != 1 || inc.Bytes != chunked.BlockSize {
		t.Fatalf("incremental: %+v %v", inc, err)
	}
	dst := extentMem{&mem{b: bytes.Repeat([]byte{0xee}, size+1<<20)}}
	if err := s.RestoreTo(ctx, "inc", dst); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.b[:size], m.b) || dst.zeroed != size || dst.b[size] != 0xee {
		t.Fatalf("restored into a WriterAt: same %v, zeroed %d", bytes.Equal(dst.b[:size], m.b), dst.zeroed)
	}
	plainDst := &mem{b: bytes.Repeat([]byte{0xee}, size)}
	if err := s.RestoreTo(ctx, "inc", plainDst); err != nil || !bytes.Equal(plainDst.b, m.b) {
		t.Fatalf("restored into a WriterAt with no Zero: %v", err)
	}
	broken := &mem{b: m.b, fail: errors.New("the OSD is gone")}
	if _, err := s.Backup(ctx, chunked.Job{ID: "broken", VolumeID: "v", Reader: broken, Size: size}); err == nil ||
		!strings.Contains(err.Error(), "the OSD is gone") {
		t.Fatalf("a failed read: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir, "*broken*")); len(left) != 0 {
		t.Fatalf("a failed backup left %v", left)
	}
	if _, err := s.Backup(ctx, chunked.Job{ID: "both", VolumeID: "v", Source: vol, Reader: plain, Size: size}); err == nil {
		t.Fatal("a job with a file and a reader")
	}
}

// failing is a WriterAt that fails after n writes, as a restore cut
// short by a kill leaves its volume half-written.
type failing struct {
	*mem
	n int
}

func (f *failing) WriteAt(p []byte, off int64) (int, error) {
	if f.n == 0 {
		return 0, errors.New("killed")
	}
	f.n--
	return f.mem.WriteAt(p, off)
}

// A restore cut short, then done again, gives the backup's bytes; a
// restore whose context ends stops with its error.
func TestRestoreAgain(t *testing.T) {
	ctx := context.Background()
	s := &chunked.Store{Dir: t.TempDir(), ObjectSize: 1 << 20}
	const size = 16 << 20
	b := make([]byte, size)
	for i := range 6 {
		copy(b[i*(2<<20):], bytes.Repeat([]byte{byte(i + 1)}, 1<<20))
	}
	if _, err := s.Backup(ctx, chunked.Job{ID: "b", VolumeID: "v", Reader: &mem{b: b}, Size: size}); err != nil {
		t.Fatal(err)
	}
	dst := &mem{b: bytes.Repeat([]byte{0xee}, size)}
	if err := s.RestoreTo(ctx, "b", &failing{mem: dst, n: 5}); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("a restore cut short: %v", err)
	}
	if bytes.Equal(dst.b, b) {
		t.Fatal("the restore cut short wrote everything")
	}
	if err := s.RestoreTo(ctx, "b", dst); err != nil || !bytes.Equal(dst.b, b) {
		t.Fatalf("the restore done again: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.RestoreTo(cctx, "b", dst); !errors.Is(err, context.Canceled) {
		t.Fatalf("a restore whose context ended: %v", err)
	}
	if _, err := s.Backup(cctx, chunked.Job{ID: "c", VolumeID: "v", Reader: &mem{b: b}, Size: size}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a backup whose context ended: %v", err)
	}
	if _, err := s.Metadata("c"); err == nil {
		t.Fatal("a backup whose context ended is there")
	}
}
