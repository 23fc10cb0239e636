package chunked

import (
	"bufio"
	"compress/zlib"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Zeroer is a restore's target that makes a part of itself zeros
// without writing them (an RBD image discards it; a file punches a
// hole).
type Zeroer interface {
	Zero(ctx context.Context, off, n int64) error
}

// Restore writes backup id (its chain) into the file dst: its first
// size bytes (the backup's) zeroed, a hole punched where the file
// system can, then every object of the chain in order, each checked
// against its md5; the file is synced.
func (s *Store) Restore(ctx context.Context, id, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("chunked: restore %s: %w", id, err)
	}
	defer out.Close()
	if err := s.RestoreTo(ctx, id, file{out}); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return out.Close()
}

// RestoreTo writes backup id (its chain) into dst, a volume opened
// through its backend's client (an RBD image): its first size bytes
// (the backup's) zeroed — by dst when it is a Zeroer, else written —
// then every object of the chain in order, each checked against its
// md5. Making the writes durable (a flush) is the caller's, with dst.
func (s *Store) RestoreTo(ctx context.Context, id string, dst io.WriterAt) error {
	chain, err := s.Chain(id)
	if err != nil {
		return err
	}
	size := chain[len(chain)-1].Size
	if z, ok := dst.(Zeroer); ok {
		err = z.Zero(ctx, 0, size)
	} else {
		err = writeZeros(dst, 0, size)
	}
	if err != nil {
		return fmt.Errorf("chunked: restore %s: zero the volume: %w", id, err)
	}
	// The next object is read, inflated and checked while one is
	// written; the writes are in the chain's order.
	ctx, cancel := context.WithCancel(ctx)
	objects := make(chan decoded, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.decode(ctx, chain, objects)
	}()
	defer func() { cancel(); <-stopped }()
	for o := range objects {
		if o.err != nil {
			return o.err
		}
		if _, err := dst.WriteAt(o.data, o.off); err != nil {
			return fmt.Errorf("chunked: restore object %s: %w", o.name, err)
		}
	}
	return ctx.Err()
}

// decoded is an object of a chain read back: its data and where it
// goes, or why it could not be read.
type decoded struct {
	name string
	data []byte
	off  int64
	err  error
}

// decode sends the objects of chain in order, read and checked, and
// ends at the last, at one that fails (sent with its err) or when ctx
// ends, closing out.
func (s *Store) decode(ctx context.Context, chain []Metadata, out chan<- decoded) {
	defer close(out)
	for _, m := range chain {
		for _, o := range m.Objects {
			for name, x := range o {
				d := decoded{name: name, off: x.Offset}
				d.data, d.err = s.readObject(m.BackupID, name, x)
				select {
				case out <- d:
				case <-ctx.Done():
					return
				}
				if d.err != nil {
					return
				}
			}
		}
	}
}

// readObject is object name of backup, inflated and checked against its
// length and md5.
func (s *Store) readObject(backup, name string, x Object) ([]byte, error) {
	if strings.ContainsAny(name, "/\x00") || x.Compression != "zlib" || x.Offset < 0 || x.Length < 0 {
		return nil, fmt.Errorf("chunked: backup %s: bad object %q", backup, name)
	}
	f, err := os.Open(filepath.Join(s.dir(backup), name))
	if err != nil {
		return nil, fmt.Errorf("chunked: backup %s: %w", backup, err)
	}
	defer f.Close()
	zr, err := zlib.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("chunked: backup %s object %s: %w", backup, name, err)
	}
	// Read into a buffer of the object's size (within reason: the
	// metadata may lie) plus one byte, so that a longer object shows; a
	// bytes.Buffer would double itself for the last read.
	data := make([]byte, min(x.Length, 64<<20)+1)
	n, err := io.ReadFull(io.LimitReader(zr, x.Length+1), data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("chunked: backup %s object %s: %w", backup, name, err)
	}
	data = data[:n]
	if sum := md5.Sum(data); int64(len(data)) != x.Length || hex.EncodeToString(sum[:]) != x.MD5 {
		return nil, fmt.Errorf("chunked: backup %s object %s: its content is not what the metadata says", backup, name)
	}
	return data, nil
}
