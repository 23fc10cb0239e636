package dhcp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// makeDir creates dir for dnsmasq's files. dnsmasq drops to user nobody
// and rereads its hosts and opts files as that user on SIGHUP (and reads
// them so at start), so dir must be readable by others and every parent
// searchable; a Dir under a private directory would leave dnsmasq
// serving nothing, with only a line in its log to say why.
func makeDir(dir string) error {
	// Check the parents that exist before creating anything, and all of
	// them again after (a umask may have made new ones private).
	if err := searchable(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	return searchable(dir)
}

// searchable checks that the parents of dir that exist are searchable by
// others.
func searchable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%w: Dir %s: its parent %s (mode %v) is not searchable by others, and dnsmasq reads its files as user nobody",
				ErrInvalid, dir, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// writeFile replaces path with data, readable by all, through a rename so
// dnsmasq never reads half a file. A file that already holds data is left
// alone.
func writeFile(path string, data []byte) error {
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, data) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("dhcp: write %s: %w", path, err)
	}
	return nil
}
