package store

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileWriter: whole aligned chunks go direct where the filesystem
// allows it, a short chunk turns the file to the page cache for good,
// and the file holds every byte in order either way — on the test's
// disk and on tmpfs (which refused O_DIRECT before Linux 6.6: the file
// is then a plain one from the start).
func TestFileWriter(t *testing.T) {
	dirs := map[string]string{"disk": t.TempDir()}
	var st syscall.Statfs_t
	if syscall.Statfs("/dev/shm", &st) == nil && st.Type == 0x01021994 { // TMPFS_MAGIC
		d, err := os.MkdirTemp("/dev/shm", "store-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dirs["tmpfs"] = d
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			f, direct, err := createTemp(dir, "obj")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Logf("direct: %v", direct)
			w := &fileWriter{f: f, direct: direct}
			var want []byte
			chunk := alignedBuffer(3 * directAlign)
			rnd := rand.New(rand.NewPCG(1, 2))
			for i, n := range []int{len(chunk), len(chunk), 1000, len(chunk)} {
				for j := range chunk {
					chunk[j] = byte(rnd.Uint32())
				}
				if k, err := w.Write(chunk[:n]); err != nil || k != n {
					t.Fatalf("write %d: %d %v", i, k, err)
				}
				want = append(want, chunk[:n]...)
				if i == 1 && w.direct != direct {
					t.Fatalf("aligned writes left direct mode")
				}
				if i == 2 && w.direct {
					t.Fatal("a short write stayed direct")
				}
			}
			// An unaligned buffer of whole blocks is not written direct either.
			odd := make([]byte, directAlign+1)[1:]
			w2f, direct2, err := createTemp(dir, "odd")
			if err != nil {
				t.Fatal(err)
			}
			defer w2f.Close()
			w2 := &fileWriter{f: w2f, direct: direct2}
			if _, err := w2.Write(odd); err != nil || w2.direct {
				t.Fatalf("unaligned buffer: %v direct=%v", err, w2.direct)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("file holds %d bytes (%v), want %d", len(got), err, len(want))
			}
		})
	}
}

// TestAlignedBuffer: the buffers copyObject reads into start on a block
// boundary and hold exactly what was asked.
func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{1, directAlign, copyChunk, copyChunk + 17} {
		b := alignedBuffer(n)
		if len(b) != n || cap(b) != n || addr(b)%directAlign != 0 {
			t.Errorf("alignedBuffer(%d): len %d cap %d at %#x", n, len(b), cap(b), addr(b))
		}
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCopyStopsAtFailure: a write failure stops the copy within the
// chunks already in flight, and is the error returned; the hashes of a
// whole copy are those of the data, whatever the chunking.
func TestCopyStopsAtFailure(t *testing.T) {
	data := make([]byte, 64*copyChunk+123)
	rand.NewChaCha8([32]byte{3}).Read(data)
	src := &countingReader{r: bytes.NewReader(data)}
	_, err := copyObject(context.Background(), &failingWriter{after: 2 * copyChunk}, src, PutOptions{})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want the writer's", err)
	}
	if src.n > int64(3+copySlots)*copyChunk {
		t.Fatalf("read %d bytes after the writer failed at %d", src.n, 2*copyChunk)
	}

	obj, err := copyObject(context.Background(), io.Discard, iotestHalf{bytes.NewReader(data)}, PutOptions{Size: int64(len(data)), SizeKnown: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data)
	if obj.Size != int64(len(data)) || obj.HashValue != hexOf(sum[:]) {
		t.Fatalf("copy: %+v", obj)
	}
}

// iotestHalf reads at most half of what is asked, as a network body
// hands data over in pieces.
type iotestHalf struct{ r io.Reader }

func (h iotestHalf) Read(p []byte) (int, error) { return h.r.Read(p[:max(1, len(p)/2)]) }

// TestPutLargeDirect: an object of many chunks and a ragged end, written
// direct, reads back whole.
func TestPutLargeDirect(t *testing.T) {
	data := make([]byte, 10*copyChunk+4095)
	rand.NewChaCha8([32]byte{5}).Read(data)
	fs := &Filesystem{Dir: t.TempDir()}
	if _, err := fs.Put(context.Background(), "big", bytes.NewReader(data), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(fs.Dir, "objects", "big"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}
