package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
)

func hexOf(h []byte) string { return hex.EncodeToString(h) }

func TestDigest(t *testing.T) {
	data := []byte("hello image")
	d, err := NewDigest("")
	if err != nil {
		t.Fatal(err)
	}
	d.Write(data[:5])
	d.Write(data[5:])
	m, s := md5.Sum(data), sha512.Sum512(data)
	obj := d.Object()
	if obj.Checksum != hexOf(m[:]) || obj.HashAlgo != "sha512" || obj.HashValue != hexOf(s[:]) {
		t.Fatalf("digest: %+v", obj)
	}
	if _, err := NewDigest("md4"); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("unknown algorithm: %v", err)
	}
}

// leftovers lists files under dir/tmp and dir/objects.
func leftovers(t *testing.T, dir string) []string {
	var out []string
	for _, sub := range []string{"tmp", "objects"} {
		es, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range es {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}

type failingReader struct {
	data []byte
	fail error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.fail
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

type refuser struct{ after int }

func (r *refuser) Write(p []byte) (int, error) {
	if r.after -= len(p); r.after < 0 {
		return 0, errors.New("inspector: qcow2 backing file")
	}
	return len(p), nil
}

func TestFilesystem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := &Filesystem{Dir: dir}
	data := bytes.Repeat([]byte("0123456789"), 300000) // 3 MB, several copy buffers
	obj, err := fs.Put(ctx, "img-1", bytes.NewReader(data), PutOptions{Size: int64(len(data)), SizeKnown: true, MaxSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m := md5.Sum(data)
	if obj.Size != int64(len(data)) || obj.Checksum != hexOf(m[:]) {
		t.Fatalf("put: %+v", obj)
	}
	if n, err := fs.Stat(ctx, "img-1"); err != nil || n != int64(len(data)) {
		t.Fatalf("stat: %d %v", n, err)
	}
	for _, rg := range []struct{ off, n int64 }{{0, -1}, {5, 10}, {2999990, -1}, {2999990, 100}, {0, 0}} {
		rc, err := fs.Get(ctx, "img-1", rg.off, rg.n)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		end := int64(len(data))
		if rg.n >= 0 && rg.off+rg.n < end {
			end = rg.off + rg.n
		}
		if !bytes.Equal(got, data[rg.off:end]) {
			t.Fatalf("range %v: %d bytes", rg, len(got))
		}
	}
	if _, err := fs.Get(ctx, "img-1", int64(len(data))+1, -1); !errors.Is(err, ErrRange) {
		t.Fatalf("range past the end: %v", err)
	}

	failures := []struct {
		name string
		r    io.Reader
		opts PutOptions
		want error
	}{
		{"over the limit", bytes.NewReader(data), PutOptions{MaxSize: 1 << 20}, ErrTooLarge},
		{"announced over the limit", bytes.NewReader(data), PutOptions{MaxSize: 1 << 20, Size: 2 << 20, SizeKnown: true}, ErrTooLarge},
		{"longer than announced", bytes.NewReader(data), PutOptions{Size: 100, SizeKnown: true}, ErrSizeMismatch},
		{"shorter than announced", bytes.NewReader(data), PutOptions{Size: int64(len(data)) + 1, SizeKnown: true}, ErrSizeMismatch},
		{"client went away", &failingReader{data: data[:1<<20], fail: io.ErrUnexpectedEOF}, PutOptions{}, io.ErrUnexpectedEOF},
		{"inspector refused", bytes.NewReader(data), PutOptions{Tee: &refuser{after: 1 << 20}}, nil},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			_, err := fs.Put(ctx, "img-2", f.r, f.opts)
			if err == nil || (f.want != nil && !errors.Is(err, f.want)) {
				t.Fatalf("err = %v, want %v", err, f.want)
			}
			if got := leftovers(t, dir); len(got) != 1 || got[0] != "objects/img-1" {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
	for _, bad := range []string{"", "../etc/passwd", "a/b", ".hidden", strings.Repeat("x", 200)} {
		if _, err := fs.Put(ctx, bad, strings.NewReader("x"), PutOptions{}); !errors.Is(err, ErrBadID) {
			t.Errorf("id %q: %v", bad, err)
		}
	}
	if err := fs.Delete(ctx, "img-1"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Delete(ctx, "img-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := fs.Get(ctx, "img-1", 0, -1); !errors.Is(err, ErrNotFound) || fault.KindOf(err) != fault.NotFound {
		t.Fatalf("get after delete: %v", err)
	}
}

// BenchmarkPut: a 64 MiB object through Put (md5 + sha512 + fsync) vs a
// plain copy of the same bytes to a file (the "cat" baseline).
func BenchmarkPut(b *testing.B) {
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 8<<20)
	dir := b.TempDir()
	b.Run("store", func(b *testing.B) {
		fs := &Filesystem{Dir: dir}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := fs.Put(context.Background(), "bench", bytes.NewReader(data), PutOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			f, _ := os.Create(filepath.Join(dir, "plain"))
			io.Copy(f, bytes.NewReader(data))
			f.Sync()
			f.Close()
		}
	})
}
