package iscsi_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// Volume files: sparse, created whole and idempotently, grown, never
// shrunk, deleted (twice is fine).
func TestFiles(t *testing.T) {
	ctx := context.Background()
	f := iscsi.Files{Dir: t.TempDir() + "/volumes"}
	const size = 1 << 30
	path, err := f.Create(ctx, "v1", size)
	if err != nil {
		t.Fatal(err)
	}
	if path != f.Path("v1") || path != f.Dir+"/volume-v1" {
		t.Errorf("path %s", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size {
		t.Errorf("size %d", fi.Size())
	}
	if blocks := fi.Sys().(*syscall.Stat_t).Blocks; blocks != 0 {
		t.Errorf("a new volume takes %d blocks: not sparse", blocks)
	}
	if _, err := f.Create(ctx, "v1", size); err != nil {
		t.Errorf("create again, same size: %v", err)
	}
	if _, err := f.Create(ctx, "v1", 2*size); !errors.Is(err, iscsi.ErrExists) {
		t.Errorf("create again, other size: %v, want ErrExists", err)
	}
	entries, _ := os.ReadDir(f.Dir)
	if len(entries) != 1 {
		t.Errorf("%d files in Dir, want 1 (no temporary file left)", len(entries))
	}

	if err := f.Extend(ctx, "v1", 2*size); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Size(ctx, "v1"); err != nil || n != 2*size {
		t.Errorf("after extend: %d, %v", n, err)
	}
	if err := f.Extend(ctx, "v1", 2*size); err != nil {
		t.Errorf("extend to the same size: %v", err)
	}
	if err := f.Extend(ctx, "v1", size); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("shrink: %v, want ErrInvalid", err)
	}
	if err := f.Extend(ctx, "v2", size); !errors.Is(err, iscsi.ErrNoVolume) {
		t.Errorf("extend of no volume: %v, want ErrNoVolume", err)
	}
	if _, err := f.Size(ctx, "v2"); !errors.Is(err, iscsi.ErrNoVolume) {
		t.Errorf("size of no volume: %v, want ErrNoVolume", err)
	}
	for _, bad := range []int64{0, -512, 1000} {
		if _, err := f.Create(ctx, "v3", bad); !errors.Is(err, iscsi.ErrInvalid) {
			t.Errorf("create of size %d: %v, want ErrInvalid", bad, err)
		}
	}
	for _, id := range []string{"", "../x", "A", ".hidden"} {
		if _, err := f.Create(ctx, id, size); !errors.Is(err, iscsi.ErrInvalid) {
			t.Errorf("create of id %q: %v, want ErrInvalid", id, err)
		}
	}
	if _, err := (iscsi.Files{}).Create(ctx, "v1", size); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("no Dir: %v, want ErrInvalid", err)
	}

	if err := f.Delete(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if err := f.Delete(ctx, "v1"); err != nil {
		t.Errorf("delete again: %v", err)
	}
}
