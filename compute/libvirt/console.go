package libvirt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxConsoleBytes is how much of the console log ConsoleLog returns, from
// its end: Nova's MAX_CONSOLE_BYTES.
const maxConsoleBytes = 100 << 10

// tail is a file's last max bytes; a file that does not exist (a guest
// that has written nothing yet) is empty.
func tail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("compute/libvirt: console log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("compute/libvirt: console log: %w", err)
	}
	if off := fi.Size() - max; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, fmt.Errorf("compute/libvirt: console log: %w", err)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("compute/libvirt: console log: %w", err)
	}
	return b, nil
}
