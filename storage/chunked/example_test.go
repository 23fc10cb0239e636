package chunked_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/storage/chunked"
)

// A full backup of a sparse volume file, an incremental one after a
// change, and a restore of the latter.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "chunked")
	defer os.RemoveAll(dir)
	vol := filepath.Join(dir, "volume")
	f, _ := os.Create(vol)
	f.Truncate(8 << 20)
	f.WriteAt([]byte("hello"), 1<<20)
	s := &chunked.Store{Dir: dir}
	full, _ := s.Backup(ctx, chunked.Job{ID: "full", VolumeID: "v", Source: vol, Size: 8 << 20})
	f.WriteAt([]byte("world"), 3<<20)
	f.Close()
	inc, _ := s.Backup(ctx, chunked.Job{ID: "inc", VolumeID: "v", ParentID: "full", Source: vol, Size: 8 << 20})
	out := filepath.Join(dir, "restored")
	os.WriteFile(out, make([]byte, 8<<20), 0o600)
	err := s.Restore(ctx, "inc", out)
	b, _ := os.ReadFile(out)
	fmt.Println(full.Objects, inc.Objects, err, string(b[1<<20:1<<20+5]), string(b[3<<20:3<<20+5]))
	// Output: 1 1 <nil> hello world
}
