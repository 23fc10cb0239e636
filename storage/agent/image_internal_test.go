package agent

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// writeSparse keeps every byte and leaves whole zero chunks (and a
// zero tail) as holes.
func TestWriteSparse(t *testing.T) {
	const mib = 1 << 20
	data := make([]byte, 5*mib+100)
	copy(data, "head")
	copy(data[3*mib+5:], "middle") // chunk 3 has data; 1, 2 and 4 do not
	path := filepath.Join(t.TempDir(), "image.part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A reader that gives short reads, as a network body does.
	n, err := writeSparse(f, io.LimitReader(&chunky{b: data}, int64(len(data))))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n != int64(len(data)) {
		t.Fatalf("writeSparse: %d bytes, %v", n, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file differs from what was read (%d bytes, %v)", len(got), err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 2*mib+64<<10 {
		t.Errorf("%d KiB allocated for two chunks of data: zeros were written", st.Blocks/2)
	}
}

// chunky reads at most 1000 bytes at a time.
type chunky struct{ b []byte }

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1000)], c.b)
	c.b = c.b[n:]
	return n, nil
}
