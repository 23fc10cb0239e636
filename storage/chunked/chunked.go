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
// A backup reads a volume file (its holes skipped, found with SEEK_DATA)
// or any io.ReaderAt of a known size — a volume read through its
// backend's client, as Cinder's chunked drivers read any backend through
// its connector (an RBD image through librbd) — which may say where its
// data is (Extenter); it reads 8 MiB at a time, the next read under way
// while one is hashed, and an object is deflated and written while the
// next is gathered. A restore writes into a file or
// any io.WriterAt, zeroed first by its Zeroer when it has one (an RBD
// image discards).
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
	"bufio"
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
)

// compressionLevel is zlib's level of the objects: its fastest. Cinder
// compresses at zlib's default (6), which deflates about 40 MB/s of
// incompressible data on this machine's cores and 26 MB/s of binaries
// (to 28%); the fastest level deflates 280 MB/s and 128 MB/s (to 33%),
// so a backup is not held to a fraction of what the volume reads at.
// Any zlib reads either.
const compressionLevel = zlib.BestSpeed

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
	// Source is the file to back up, its first Size bytes; its holes
	// (SEEK_DATA, SEEK_HOLE) are not read.
	Source string
	// Reader, when Source is "", is what is backed up instead, its first
	// Size bytes: a volume read through its backend's client (an RBD
	// image). What it does not have (a short read, io.EOF) is zeros. A
	// Reader that is an Extenter is read only where it says data may be.
	Reader io.ReaderAt
	Size   int64
}

// Extent is a part of a volume: Length bytes from Offset.
type Extent struct{ Offset, Length int64 }

// Extenter is a Job's Reader that tells which parts of its first size
// bytes may hold data, in order (an RBD image's allocated objects); the
// rest reads as zeros and is not read.
type Extenter interface {
	Extents(ctx context.Context, size int64) ([]Extent, error)
}

// source is what j reads, and how to let it go.
func (j Job) source() (io.ReaderAt, func(), error) {
	switch {
	case j.Source != "" && j.Reader != nil:
		return nil, nil, errors.New("a job has a Source file and a Reader")
	case j.Source != "":
		f, err := os.Open(j.Source)
		if err != nil {
			return nil, nil, err
		}
		return file{f}, func() { f.Close() }, nil
	case j.Reader != nil:
		return j.Reader, func() {}, nil
	}
	return nil, nil, errors.New("a job has no Source file and no Reader")
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
	src, closeSrc, err := j.source()
	if err != nil {
		os.RemoveAll(tmp)
		return Result{}, fmt.Errorf("chunked: backup %s: %w", j.ID, err)
	}
	defer closeSrc()
	w := &writer{store: s, dir: tmp, max: s.objectSize()}
	hashes, err := w.scan(ctx, src, j.Size, parent)
	if werr := w.wait(); err == nil {
		err = werr
	}
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

// writer gathers the blocks to store into objects. An object is
// deflated, summed and written in a goroutine of its own while the
// next one is gathered; objects are written one at a time, in order.
type writer struct {
	store         *Store
	dir           string
	max           int64
	objects       []map[string]Object
	pending       []byte // the current extent
	at            int64  // its offset
	bytes, stored int64
	busy          chan written // the object being written, nil for none
	spare         []byte       // the buffer of the last object written
}

// written is how writing an object went.
type written struct {
	object map[string]Object
	stored int64
	buf    []byte
	err    error
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
	if w.pending == nil {
		w.pending = make([]byte, 0, w.max)
	}
	w.pending = append(w.pending, b...)
	if int64(len(w.pending)) >= w.max {
		return w.flush()
	}
	return nil
}

// flush starts writing the current extent as the next object, once
// the previous one is written.
func (w *writer) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	name := fmt.Sprintf("backup-%05d", len(w.objects)+1)
	data, at := w.pending, w.at
	w.bytes += int64(len(data))
	w.pending, w.spare = w.spare[:0], nil
	done := make(chan written, 1)
	w.busy = done
	go func() {
		obj, stored, err := writeObject(filepath.Join(w.dir, name), data)
		obj.Offset = at
		done <- written{object: map[string]Object{name: obj}, stored: stored, buf: data, err: err}
	}()
	return nil
}

// wait waits for the object being written, and lists it.
func (w *writer) wait() error {
	if w.busy == nil {
		return nil
	}
	r := <-w.busy
	w.busy, w.spare = nil, r.buf
	if r.err != nil {
		return r.err
	}
	w.objects = append(w.objects, r.object)
	w.stored += r.stored
	return nil
}

// writeObject deflates data into the file at path, synced: the object
// (but its offset) and how many bytes it takes.
func writeObject(path string, data []byte) (Object, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Object{}, 0, err
	}
	defer f.Close()
	out := &counter{w: bufio.NewWriterSize(f, 1<<20)}
	zw, err := zlib.NewWriterLevel(out, compressionLevel)
	if err != nil {
		return Object{}, 0, err
	}
	if _, err := zw.Write(data); err != nil {
		return Object{}, 0, err
	}
	if err := zw.Close(); err != nil {
		return Object{}, 0, err
	}
	if err := out.w.Flush(); err != nil {
		return Object{}, 0, err
	}
	if err := f.Sync(); err != nil {
		return Object{}, 0, err
	}
	if err := f.Close(); err != nil {
		return Object{}, 0, err
	}
	sum := md5.Sum(data)
	return Object{Compression: "zlib", Length: int64(len(data)), MD5: hex.EncodeToString(sum[:])}, out.n, nil
}

// counter counts what is written through it.
type counter struct {
	w *bufio.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
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
