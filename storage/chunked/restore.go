package chunked

import (
	"compress/zlib"
	"context"
	"crypto/md5"
	"encoding/hex"
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
	for _, m := range chain {
		for _, o := range m.Objects {
			for name, x := range o {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := s.restoreObject(dst, m.BackupID, name, x); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Store) restoreObject(out io.WriterAt, backup, name string, x Object) error {
	if strings.ContainsAny(name, "/\x00") || x.Compression != "zlib" || x.Offset < 0 || x.Length < 0 {
		return fmt.Errorf("chunked: backup %s: bad object %q", backup, name)
	}
	f, err := os.Open(filepath.Join(s.dir(backup), name))
	if err != nil {
		return fmt.Errorf("chunked: backup %s: %w", backup, err)
	}
	defer f.Close()
	zr, err := zlib.NewReader(f)
	if err != nil {
		return fmt.Errorf("chunked: backup %s object %s: %w", backup, name, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, x.Length+1))
	if err != nil {
		return fmt.Errorf("chunked: backup %s object %s: %w", backup, name, err)
	}
	if sum := md5.Sum(data); int64(len(data)) != x.Length || hex.EncodeToString(sum[:]) != x.MD5 {
		return fmt.Errorf("chunked: backup %s object %s: its content is not what the metadata says", backup, name)
	}
	if _, err := out.WriteAt(data, x.Offset); err != nil {
		return fmt.Errorf("chunked: restore object %s: %w", name, err)
	}
	return nil
}
