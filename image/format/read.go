package format

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Inspect reads r to its end through an Inspector and returns the result.
// It stops at the first safety error. The whole stream is read because a
// fixed VHD and a stream-optimized vmdk keep their footer at the end.
func Inspect(ctx context.Context, r io.Reader) (Result, error) {
	in := NewInspector()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("format: %w", err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := in.Write(buf[:n]); err != nil {
				return Result{}, err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return in.Result()
		}
		if rerr != nil {
			return Result{}, fmt.Errorf("format: read: %w", rerr)
		}
	}
}

// InspectFile inspects the image at path. It reads only the ranges the
// formats need (a few KiB for most images, at most about MaxBuffered),
// not the whole file.
func InspectFile(ctx context.Context, path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("format: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return Result{}, fmt.Errorf("format: %s: %w", path, err)
	}
	return InspectAt(ctx, f, size)
}

// InspectAt inspects the size-byte image behind r, reading only the ranges
// the formats need; any random-access source will do (a file, an object
// store with range reads). It finds what an Inspector fed the same bytes
// finds.
func InspectAt(ctx context.Context, r io.ReaderAt, size int64) (Result, error) {
	if size < 0 {
		return Result{}, fmt.Errorf("format: negative image size %d", size)
	}
	var read int64
	fetch := func(s span) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		if s.off >= size {
			return nil, nil
		}
		b := make([]byte, min(int64(s.n), size-s.off))
		n, err := r.ReadAt(b, s.off)
		read += int64(n)
		if n < len(b) {
			return nil, fmt.Errorf("format: read %d bytes at %d: %w", len(b), s.off, err)
		}
		return b, nil
	}
	slots := make([]slot, 0, 16)
	for _, p := range newProbes() {
		s := newSlot(p)
		for s.want.n > 0 {
			b, err := fetch(s.want)
			if err != nil {
				return Result{}, err
			}
			s.deliver(b)
		}
		slots = append(slots, s)
	}
	tail, err := fetch(span{off: max(0, size-tailSize), n: int(min(size, tailSize))})
	if err != nil {
		return Result{}, err
	}
	fs := make([]finding, len(slots))
	for i := range slots {
		slots[i].p.end(size, tail)
		fs[i] = slots[i].finding()
	}
	return decide(fs, size, read, read)
}
