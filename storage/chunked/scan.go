package chunked

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readSize is how much of a volume one read asks for (a multiple of
// BlockSize): a read of an RBD image waits for an OSD round trip, and
// librbd reads the objects of one request in parallel (two of its 4 MB
// objects here), so reads are large and one is under way while the
// previous one is hashed and compressed.
const readSize = 8 << 20

// window is one read of the volume: size bytes from off; buf is nil
// when nothing of it may hold data (zeros, not read).
type window struct {
	off, size int64
	buf       []byte
	err       error
}

// scan reads the first size bytes of in block by block (blocks wholly
// outside in's data extents are zeros, not read), hashes each, and
// stores those to keep: with no parent the blocks that are not zeros,
// else those whose hash differs from the parent's (a block past the
// parent's end differs unless it is zeros).
func (w *writer) scan(ctx context.Context, in io.ReaderAt, size int64, parent []string) ([]string, error) {
	extents, err := dataExtents(ctx, in, size)
	if err != nil {
		return nil, fmt.Errorf("chunked: the extents of the volume: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	windows, free := make(chan window, 1), make(chan []byte, 2)
	for range cap(free) {
		free <- make([]byte, readSize)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		read(ctx, in, size, extents, windows, free)
	}()
	// The reader is stopped before scan returns: the caller may close
	// in then.
	defer func() { cancel(); <-stopped }()
	n := (size + BlockSize - 1) / BlockSize
	hashes := make([]string, 0, n)
	for win := range windows {
		if win.err != nil {
			return nil, win.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for off := win.off; off < win.off+win.size; off += BlockSize {
			k := min(int64(BlockSize), size-off)
			b := zeroBlock[:k]
			if win.buf != nil {
				b = win.buf[off-win.off : off-win.off+k]
			}
			h := zeroSHA
			if k != BlockSize || (win.buf != nil && !bytes.Equal(b, zeroBlock)) {
				sum := sha256.Sum256(b)
				h = hex.EncodeToString(sum[:])
			}
			i := int64(len(hashes))
			hashes = append(hashes, h)
			keep := win.buf != nil && !bytes.Equal(b, zeroBlock[:k])
			if parent != nil {
				was := ""
				if i < int64(len(parent)) {
					was = parent[i]
				} else if !keep {
					was = h // zeros past the parent's end: nothing to write
				}
				keep = h != was
			}
			if err := w.add(b, off, keep); err != nil {
				return nil, err
			}
		}
		if win.buf != nil {
			free <- win.buf
		}
	}
	if int64(len(hashes)) != n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("chunked: read %d blocks of the volume's %d", len(hashes), n)
	}
	return hashes, w.flush()
}

// read sends the first size bytes of in as windows of readSize, in
// order, each read into a buffer from free (the part of it no extent
// touches is zeros); a window no extent touches is not read. It ends at
// the last window, at a failed read (sent as the window's err), or when
// ctx ends, closing windows.
func read(ctx context.Context, in io.ReaderAt, size int64, extents []Extent, windows chan<- window, free chan []byte) {
	defer close(windows)
	e := 0
	for off := int64(0); off < size; off += readSize {
		win := window{off: off, size: min(readSize, size-off)}
		end := off + win.size
		for e < len(extents) && extents[e].Offset+extents[e].Length <= off {
			e++
		}
		// The span of the window that may hold data, in whole blocks.
		lo, hi := int64(-1), int64(-1)
		for x := e; x < len(extents) && extents[x].Offset < end; x++ {
			if lo < 0 {
				lo = max(extents[x].Offset, off) / BlockSize * BlockSize
			}
			hi = min(extents[x].Offset+extents[x].Length, end)
		}
		if lo >= 0 {
			hi = min((hi+BlockSize-1)/BlockSize*BlockSize, end)
			select {
			case win.buf = <-free:
			case <-ctx.Done():
				return
			}
			win.buf = win.buf[:win.size]
			clear(win.buf[:lo-off])
			clear(win.buf[hi-off:])
			got, err := in.ReadAt(win.buf[lo-off:hi-off], lo)
			if err != nil && !errors.Is(err, io.EOF) {
				win.err = fmt.Errorf("chunked: read the volume at %d: %w", lo, err)
			}
			clear(win.buf[lo-off+int64(got) : hi-off]) // a volume shorter than its size: zeros
		}
		select {
		case windows <- win:
		case <-ctx.Done():
			return
		}
		if win.err != nil {
			return
		}
	}
}

// dataExtents are the parts of in's first size bytes that may hold
// data: an Extenter's, a file's (SEEK_DATA and SEEK_HOLE), else the
// whole.
func dataExtents(ctx context.Context, in io.ReaderAt, size int64) ([]Extent, error) {
	if x, ok := in.(Extenter); ok {
		return x.Extents(ctx, size)
	}
	return []Extent{{0, size}}, nil
}

// file is a volume file, which says where its data is.
type file struct{ *os.File }

// Extents are the file's data extents (SEEK_DATA and SEEK_HOLE; the
// whole when the file system cannot tell).
func (f file) Extents(_ context.Context, size int64) ([]Extent, error) {
	var out []Extent
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break
		} else if err != nil {
			return append(out, Extent{off, size - off}), nil
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil || hole > size {
			hole = size
		}
		out = append(out, Extent{data, hole - data})
		off = hole
	}
	return out, nil
}

// Zero punches a hole over n bytes from off where the file system can,
// else writes zeros.
func (f file) Zero(_ context.Context, off, n int64) error {
	if n == 0 {
		return nil
	}
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err == nil {
		return nil
	}
	return writeZeros(f, off, n)
}

// writeZeros writes n zeros from off.
func writeZeros(w io.WriterAt, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for end := off + n; off < end; {
		k := min(int64(len(buf)), end-off)
		if _, err := w.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off += k
	}
	return nil
}
