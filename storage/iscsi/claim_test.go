package iscsi_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// TestCreateClaimed: a migration's copy as a file. Made fresh it is
// marked with its claim, and made again with the same claim taken as it
// is (an interrupted create); a file of the same id made by anyone else
// (a plain Create: another pool's volume in the same directory) or by
// another claim is refused, ErrNotClaimed, and left as it was; nothing
// half-made is left in the directory.
func TestCreateClaimed(t *testing.T) {
	f := iscsi.Files{Dir: t.TempDir()}
	ctx := context.Background()
	const size = 1 << 20
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", size); err != nil {
		t.Fatalf("again: %v", err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-1"); !ok || err != nil {
		t.Fatalf("claimed: %v %v", ok, err)
	}
	if ok, err := f.Claimed(ctx, "mine", "claim-2"); ok || err != nil {
		t.Fatalf("claimed by another: %v %v", ok, err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-2", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("another claim: %v", err)
	}
	if _, err := f.CreateClaimed(ctx, "mine", "claim-1", 2*size); !errors.Is(err, iscsi.ErrExists) {
		t.Fatalf("another size: %v", err)
	}

	p, err := f.Create(ctx, "theirs", size)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateClaimed(ctx, "theirs", "claim-1", 6); err == nil {
		t.Fatal("a size tgt refuses taken")
	}
	if _, err := f.CreateClaimed(ctx, "theirs", "claim-1", size); !errors.Is(err, iscsi.ErrNotClaimed) {
		t.Fatalf("over another's file: %v", err)
	}
	if ok, err := f.Claimed(ctx, "theirs", "claim-1"); ok || err != nil {
		t.Fatalf("another's file claimed: %v %v", ok, err)
	}
	if ok, err := f.Claimed(ctx, "none", "claim-1"); ok || err != nil {
		t.Fatalf("no file claimed: %v %v", ok, err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "theirs" {
		t.Fatalf("another's file after the refusal: %q %v", b, err)
	}
	left, _ := filepath.Glob(filepath.Join(f.Dir, ".*"))
	if len(left) != 0 {
		t.Fatalf("half-made files left: %v", left)
	}
}
