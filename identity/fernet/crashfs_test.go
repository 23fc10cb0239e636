package fernet

import (
	"errors"
	"os"
	"path/filepath"
)

var errCrash = errors.New("simulated crash")

// crashFS is the disk for its first budget operations; the next one and
// every one after fail without touching the disk, as if the process had
// died there (nothing after that point happens); a negative budget never
// runs out. Every operation of fsys counts, and so do a file's Write and
// Sync; done lists those that happened.
//
// With powerLoss the crash is the machine's: it also takes away what the
// disk had not been told to keep — every directory change (create,
// rename, remove) since the last syncDir, undone newest first, and the
// content of files written but not synced. With both modes the test sees
// the two ends of what a crash may leave: everything done so far, or
// only what was made durable.
type crashFS struct {
	budget    int
	powerLoss bool

	done     []string
	crashed  bool
	undo     []undoEntry     // directory changes not yet synced, oldest first
	unsynced map[string]bool // files whose content is not durable, by current name
}

var _ fsys = (*crashFS)(nil)

// step spends one operation, or crashes. op names it, with base names.
func (c *crashFS) step(op string, paths ...string) error {
	if c.crashed {
		return errCrash
	}
	if len(c.done) == c.budget {
		c.crash()
		return errCrash
	}
	for _, p := range paths {
		op += " " + filepath.Base(p)
	}
	c.done = append(c.done, op)
	return nil
}

func (c *crashFS) crash() {
	c.crashed = true
	if !c.powerLoss {
		return
	}
	for name, lost := range c.unsynced {
		if lost {
			os.Truncate(name, 0) // gone already if its create is undone below
		}
	}
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i].fn()
	}
	c.undo = nil
}

// undoEntry takes back one change to the entries of dir.
type undoEntry struct {
	dir string
	fn  func()
}

// restorer returns what puts name back as it is now (absent or with its
// current content).
func restorer(name string) func() {
	b, err := os.ReadFile(name)
	if err != nil {
		return func() { os.Remove(name) }
	}
	return func() { os.WriteFile(name, b, 0o600) }
}

func (c *crashFS) mkdirAll(dir string) error {
	if err := c.step("mkdir", dir); err != nil {
		return err
	}
	return osFS{}.mkdirAll(dir) // durable when it returns: it syncs the parent
}

func (c *crashFS) create(name string) (fsFile, error) {
	if err := c.step("create", name); err != nil {
		return nil, err
	}
	undo := restorer(name)
	f, err := osFS{}.create(name)
	if err != nil {
		return nil, err
	}
	c.undo = append(c.undo, undoEntry{filepath.Dir(name), undo})
	if c.unsynced == nil {
		c.unsynced = map[string]bool{}
	}
	c.unsynced[name] = true
	return &crashFile{fs: c, f: f, name: name}, nil
}

func (c *crashFS) rename(oldname, newname string) error {
	if err := c.step("rename", oldname, newname); err != nil {
		return err
	}
	restoreNew := restorer(newname)
	if err := os.Rename(oldname, newname); err != nil {
		return err
	}
	c.undo = append(c.undo, undoEntry{filepath.Dir(newname), func() {
		os.Rename(newname, oldname)
		restoreNew()
	}})
	if lost, ok := c.unsynced[oldname]; ok {
		delete(c.unsynced, oldname)
		c.unsynced[newname] = lost
	}
	return nil
}

func (c *crashFS) remove(name string) error {
	if err := c.step("remove", name); err != nil {
		return err
	}
	undo := restorer(name)
	if err := os.Remove(name); err != nil {
		return err
	}
	c.undo = append(c.undo, undoEntry{filepath.Dir(name), undo})
	delete(c.unsynced, name)
	return nil
}

func (c *crashFS) syncDir(dir string) error {
	if err := c.step("sync dir"); err != nil {
		return err
	}
	if err := (osFS{}).syncDir(dir); err != nil {
		return err
	}
	// The entries of dir become durable; other directories' do not.
	kept := c.undo[:0]
	for _, u := range c.undo {
		if u.dir != filepath.Clean(dir) {
			kept = append(kept, u)
		}
	}
	c.undo = kept
	return nil
}

// crashFile is a file written through crashFS.
type crashFile struct {
	fs   *crashFS
	f    fsFile
	name string
}

func (f *crashFile) Write(p []byte) (int, error) {
	if err := f.fs.step("write", f.name); err != nil {
		return 0, err
	}
	return f.f.Write(p)
}

func (f *crashFile) Sync() error {
	if err := f.fs.step("sync", f.name); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		return err
	}
	f.fs.unsynced[f.name] = false
	return nil
}

// Close is not a step: after a crash it only releases the descriptor, as
// the kernel would.
func (f *crashFile) Close() error { return f.f.Close() }
