package store

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"
)

// directAlign is what O_DIRECT asks of a write's buffer address, length
// and file offset: the largest logical block size of today's disks.
const directAlign = 4096

// alignedBuffer returns n bytes starting at a directAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(addr(b) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n : off+n]
}

// createTemp creates a new file dir/prefix.<random> for writing, direct
// where the filesystem allows it (createDirect).
func createTemp(dir, prefix string) (*os.File, bool, error) {
	for range 100 {
		f, direct, err := createDirect(filepath.Join(dir, prefix+"."+strconv.FormatUint(rand.Uint64(), 36)))
		if !errors.Is(err, os.ErrExist) {
			return f, direct, err
		}
	}
	return nil, false, &os.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+".*"), Err: os.ErrExist}
}

// fileWriter writes an object's file: directly while every write is
// whole aligned blocks from an aligned buffer (copyObject's chunks),
// through the page cache from the first one that is not (the last,
// short chunk) or that the filesystem refuses direct.
type fileWriter struct {
	f      *os.File
	direct bool
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.direct && (len(p)%directAlign != 0 || addr(p)%directAlign != 0) {
		if err := w.buffered(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	if w.direct && n == 0 && directRefused(err) {
		if err := w.buffered(); err != nil {
			return 0, err
		}
		return w.f.Write(p)
	}
	return n, err
}

func (w *fileWriter) buffered() error {
	w.direct = false
	return clearDirect(w.f)
}

// addr is where b's data starts.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
