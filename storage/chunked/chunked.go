// Package chunked keeps volume backups as files, in the spirit of
// Cinder's chunked backup driver with its posix store: a backup is a
// directory holding its objects (extents of the volume, zlib-compressed,
// at most ObjectSize bytes each), a sha256file (the sha256 of every
// 32 KiB block of the volume, as Cinder's sha_block_size_bytes) and a
// metadata file listing the objects (name, offset, length, md5,
// compression) and the parent of an incremental backup. A full backup
// writes the blocks that hold data; an incremental one the blocks whose
// sha256 differs from its parent's. A restore zeroes the volume's first
// size bytes, then writes the objects of the chain, full backup first.
//
// A backup is made in a directory of its own (".partial-<id>") and
// renamed into place once every file is synced: a backup directory is
// always whole. Everything is idempotent: a backup made again is found
// made, a restore writes the same bytes again, a delete of what is gone
// is no error.
//
// What it does not do: Swift, Ceph or other object stores; the
// metadata file's volume_meta (volume metadata and Glance properties)
// and encryption of backups; cleaning up partial directories of other
// agents (each agent removes its own backup's before making it).
package chunked

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Cinder's chunked driver's defaults: the sha block, and (posix's
// backup_file_size is 1999994880) our smaller object.
const (
	BlockSize         = 32768
	DefaultObjectSize = 32 << 20
	metadataVersion   = "1.0.0"
	metadataFile      = "metadata"
	shaFile           = "sha256file"
)

// Store is a directory of backups.
type Store struct {
	Dir string
	// ObjectSize is the most bytes one object holds (DefaultObjectSize
	// when 0); a multiple of BlockSize.
	ObjectSize int64
}

// Object is one stored extent, as Cinder's metadata lists it.
type Object struct {
	Compression string `json:"compression"`
	Length      int64  `json:"length"`
	Offset      int64  `json:"offset"`
	MD5         string `json:"md5"`
}

// Metadata is a backup's metadata file (Cinder's form: objects is a
// list of one-key maps, name → Object).
type Metadata struct {
	Version   string              `json:"version"`
	BackupID  string              `json:"backup_id"`
	VolumeID  string              `json:"volume_id"`
	ParentID  *string             `json:"parent_id"`
	CreatedAt string              `json:"created_at"`
	Size      int64               `json:"size"`
	Objects   []map[string]Object `json:"objects"`
}

// shas is a backup's sha256file.
type shas struct {
	BackupID  string   `json:"backup_id"`
	VolumeID  string   `json:"volume_id"`
	ChunkSize int64    `json:"chunk_size"`
	SHA256s   []string `json:"sha256s"`
}

// Job is a backup to make.
type Job struct {
	ID, VolumeID string
	// ParentID is the backup an incremental one builds on ("" for a full
	// backup).
	ParentID string
	// Source is the file to back up, its first Size bytes.
	Source string
	Size   int64
}

// Result is what a backup wrote.
type Result struct {
	Objects int64
	// Bytes is how many bytes of the volume the objects hold, Stored
	// what they take compressed.
	Bytes, Stored int64
}

func (s *Store) objectSize() int64 {
	if s.ObjectSize > 0 {
		return s.ObjectSize
	}
	return DefaultObjectSize
}

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") || strings.HasPrefix(id, ".") {
		return fmt.Errorf("chunked: bad backup id %q", id)
	}
	return nil
}

func (s *Store) dir(id string) string     { return filepath.Join(s.Dir, id) }
func (s *Store) partial(id string) string { return filepath.Join(s.Dir, ".partial-"+id) }

// Metadata reads backup id's metadata file.
func (s *Store) Metadata(id string) (Metadata, error) {
	var m Metadata
	if err := checkID(id); err != nil {
		return m, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir(id), metadataFile))
	if err != nil {
		return m, fmt.Errorf("chunked: backup %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("chunked: backup %s metadata: %w", id, err)
	}
	return m, nil
}

func (s *Store) shas(id string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir(id), shaFile))
	if err != nil {
		return nil, fmt.Errorf("chunked: backup %s: %w", id, err)
	}
	var f shas
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("chunked: backup %s sha256file: %w", id, err)
	}
	if f.ChunkSize != BlockSize {
		return nil, fmt.Errorf("chunked: backup %s: sha block of %d bytes, not %d", id, f.ChunkSize, BlockSize)
	}
	return f.SHA256s, nil
}

var zeroBlock = make([]byte, BlockSize)

// zeroSHA is the sha256 of a block of zeros (a hole's).
var zeroSHA = func() string { h := sha256.Sum256(zeroBlock); return hex.EncodeToString(h[:]) }()

// Backup makes backup j (once: a backup already made answers what its
// metadata lists). The parent, for an incremental one, must be made.
func (s *Store) Backup(ctx context.Context, j Job) (Result, error) {
	if err := checkID(j.ID); err != nil {
		return Result{}, err
	}
	if m, err := s.Metadata(j.ID); err == nil {
		r := Result{Objects: int64(len(m.Objects))}
		for _, o := range m.Objects {
			for _, x := range o {
				r.Bytes += x.Length
			}
		}
		return r, nil
	}
	var parent []string
	if j.ParentID != "" {
		if err := checkID(j.ParentID); err != nil {
			return Result{}, err
		}
		var err error
		if parent, err = s.shas(j.ParentID); err != nil {
			return Result{}, fmt.Errorf("chunked: the parent of %s: %w", j.ID, err)
		}
	}
	tmp := s.partial(j.ID)
	if err := os.RemoveAll(tmp); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return Result{}, err
	}
	in, err := os.Open(j.Source)
	if err != nil {
		return Result{}, fmt.Errorf("chunked: backup %s: %w", j.ID, err)
	}
	defer in.Close()
	w := &writer{store: s, dir: tmp, max: s.objectSize()}
	hashes, err := w.scan(ctx, in, j.Size, parent)
	if err != nil {
		os.RemoveAll(tmp)
		return Result{}, err
	}
	meta := Metadata{Version: metadataVersion, BackupID: j.ID, VolumeID: j.VolumeID, CreatedAt: time.Now().UTC().Format(time.RFC3339),
		Size: j.Size, Objects: w.objects}
	if meta.Objects == nil {
		meta.Objects = []map[string]Object{}
	}
	if j.ParentID != "" {
		meta.ParentID = &j.ParentID
	}
	for _, f := range []struct {
		name string
		v    any
	}{{shaFile, shas{BackupID: j.ID, VolumeID: j.VolumeID, ChunkSize: BlockSize, SHA256s: hashes}}, {metadataFile, meta}} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return Result{}, err
		}
		if err := writeSynced(filepath.Join(tmp, f.name), b); err != nil {
			os.RemoveAll(tmp)
			return Result{}, err
		}
	}
	if err := syncDir(tmp); err != nil {
		return Result{}, err
	}
	if err := os.Rename(tmp, s.dir(j.ID)); err != nil {
		return Result{}, fmt.Errorf("chunked: backup %s: %w", j.ID, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return Result{}, err
	}
	return Result{Objects: int64(len(w.objects)), Bytes: w.bytes, Stored: w.stored}, nil
}

// writer gathers the blocks to store into objects.
type writer struct {
	store         *Store
	dir           string
	max           int64
	objects       []map[string]Object
	pending       []byte // the current extent
	at            int64  // its offset
	bytes, stored int64
}

// scan reads the first size bytes of in block by block (blocks wholly
// in holes are zeros, not read), hashes each, and stores those to keep:
// with no parent the blocks that are not zeros, else those whose hash
// differs from the parent's (a block past the parent's end differs
// unless it is zeros).
func (w *writer) scan(ctx context.Context, in *os.File, size int64, parent []string) ([]string, error) {
	extents := dataExtents(in, size)
	n := (size + BlockSize - 1) / BlockSize
	hashes := make([]string, 0, n)
	buf := make([]byte, BlockSize)
	e := 0
	for i := int64(0); i < n; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		off := i * BlockSize
		k := min(int64(BlockSize), size-off)
		for e < len(extents) && extents[e][1] <= off {
			e++
		}
		b := buf[:k]
		if e < len(extents) && extents[e][0] < off+k { // the block holds data
			got, err := in.ReadAt(b, off)
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			clear(b[got:]) // a file shorter than the volume: zeros
		} else {
			clear(b)
		}
		h := zeroSHA
		if k != BlockSize || !bytes.Equal(b, zeroBlock) {
			sum := sha256.Sum256(b)
			h = hex.EncodeToString(sum[:])
		}
		hashes = append(hashes, h)
		keep := !bytes.Equal(b, zeroBlock[:k])
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
	return hashes, w.flush()
}

// dataExtents are the [start, end) extents of in's first size bytes
// that may hold data (SEEK_DATA and SEEK_HOLE; the whole when the file
// system cannot tell).
func dataExtents(in *os.File, size int64) [][2]int64 {
	var out [][2]int64
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break
		} else if err != nil {
			return append(out, [2]int64{off, size})
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil || hole > size {
			hole = size
		}
		out = append(out, [2]int64{data, hole})
		off = hole
	}
	return out
}

// add appends block b at off to the current extent when kept, else ends
// the extent; an extent reaching the object size is written.
func (w *writer) add(b []byte, off int64, keep bool) error {
	if !keep {
		return w.flush()
	}
	if len(w.pending) > 0 && w.at+int64(len(w.pending)) != off {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if len(w.pending) == 0 {
		w.at = off
	}
	w.pending = append(w.pending, b...)
	if int64(len(w.pending)) >= w.max {
		return w.flush()
	}
	return nil
}

// flush writes the current extent as the next object.
func (w *writer) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	name := fmt.Sprintf("backup-%05d", len(w.objects)+1)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(w.pending); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(w.dir, name), z.Bytes()); err != nil {
		return err
	}
	sum := md5.Sum(w.pending)
	w.objects = append(w.objects, map[string]Object{name: {Compression: "zlib", Length: int64(len(w.pending)), Offset: w.at,
		MD5: hex.EncodeToString(sum[:])}})
	w.bytes += int64(len(w.pending))
	w.stored += int64(z.Len())
	w.pending = w.pending[:0]
	return nil
}

// Chain is backup id and its parents, full backup first.
func (s *Store) Chain(id string) ([]Metadata, error) {
	var out []Metadata
	for cur := id; ; {
		m, err := s.Metadata(cur)
		if err != nil {
			return nil, err
		}
		out = append([]Metadata{m}, out...)
		if m.ParentID == nil {
			return out, nil
		}
		if len(out) > 10000 {
			return nil, fmt.Errorf("chunked: backup %s: a parent loop", id)
		}
		cur = *m.ParentID
	}
}

// Restore writes backup id (its chain) into the file dst: its first
// size bytes (the backup's) zeroed, then every object of the chain in
// order, each checked against its md5.
func (s *Store) Restore(ctx context.Context, id, dst string) error {
	chain, err := s.Chain(id)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("chunked: restore %s: %w", id, err)
	}
	defer out.Close()
	size := chain[len(chain)-1].Size
	if err := zeroRange(out, size); err != nil {
		return fmt.Errorf("chunked: restore %s: %w", id, err)
	}
	for _, m := range chain {
		for _, o := range m.Objects {
			for name, x := range o {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := s.restoreObject(out, m.BackupID, name, x); err != nil {
					return err
				}
			}
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return out.Close()
}

func (s *Store) restoreObject(out *os.File, backup, name string, x Object) error {
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

// zeroRange makes f's first n bytes zeros: a hole punched where the
// file system can, else zeros written.
func zeroRange(f *os.File, n int64) error {
	if n == 0 {
		return nil
	}
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, n); err == nil {
		return nil
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < n; off += int64(len(buf)) {
		k := min(int64(len(buf)), n-off)
		if _, err := f.WriteAt(buf[:k], off); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes backup id (and a partial one); what is gone is no
// error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	for _, d := range []string{s.partial(id), s.dir(id)} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("chunked: delete %s: %w", id, err)
		}
	}
	return syncDir(s.Dir)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
