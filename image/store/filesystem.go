package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
)

// Filesystem stores objects as files under Dir: objects/<id>, written
// through tmp/ and renamed into place.
type Filesystem struct {
	Dir string
}

var (
	_ Store   = (*Filesystem)(nil)
	_ Lister  = (*Filesystem)(nil)
	_ Locator = (*Filesystem)(nil)
)

// validID keeps ids to names that cannot escape the directory.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (f *Filesystem) path(id string) (string, error) {
	if !validID.MatchString(id) {
		return "", fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return filepath.Join(f.Dir, "objects", id), nil
}

// URL is the object's file:// URL, as Glance's filesystem store names
// its objects.
func (f *Filesystem) URL(id string) string {
	dir, err := filepath.Abs(f.Dir)
	if err != nil {
		dir = f.Dir
	}
	return (&url.URL{Scheme: "file", Path: filepath.Join(dir, "objects", id)}).String()
}

// Put writes a temporary file (with O_DIRECT where the filesystem
// allows it: the data does not pass through the page cache), fsyncs it,
// renames it over objects/<id> and fsyncs the directory. On any failure
// the temporary file is removed.
func (f *Filesystem) Put(ctx context.Context, id string, r io.Reader, opts PutOptions) (Object, error) {
	final, err := f.path(id)
	if err != nil {
		return Object{}, err
	}
	for _, d := range []string{"objects", "tmp"} {
		if err := os.MkdirAll(filepath.Join(f.Dir, d), 0o750); err != nil {
			return Object{}, fmt.Errorf("store: %w", err)
		}
	}
	tmp, direct, err := createTemp(filepath.Join(f.Dir, "tmp"), id)
	if err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	obj, err := copyObject(ctx, &fileWriter{f: tmp, direct: direct}, r, opts)
	if err != nil {
		return Object{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	done = true
	syncDir(filepath.Dir(final))
	return obj, nil
}

// Get opens objects/<id> at offset for length bytes.
func (f *Filesystem) Get(_ context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	p, err := f.path(id)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if offset < 0 || offset > fi.Size() || (offset == fi.Size() && fi.Size() > 0 && length != 0) {
		file.Close()
		return nil, ErrRange
	}
	if length < 0 || offset+length > fi.Size() {
		length = fi.Size() - offset
	}
	return &section{io.NewSectionReader(file, offset, length), file}, nil
}

type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

// Stat returns the size of objects/<id>.
func (f *Filesystem) Stat(_ context.Context, id string) (int64, error) {
	p, err := f.path(id)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return fi.Size(), nil
}

// Delete removes objects/<id>.
func (f *Filesystem) Delete(_ context.Context, id string) error {
	p, err := f.path(id)
	if err != nil {
		return err
	}
	err = os.Remove(p)
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	syncDir(filepath.Dir(p))
	return nil
}

// List returns the ids of the objects, in no particular order.
func (f *Filesystem) List(context.Context) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(f.Dir, "objects"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		if validID.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Clean removes temporary files that a crash left behind (a Put that was
// interrupted by the process dying rather than by an error). Call it at
// start, before any Put.
func (f *Filesystem) Clean() error {
	err := os.RemoveAll(filepath.Join(f.Dir, "tmp"))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
