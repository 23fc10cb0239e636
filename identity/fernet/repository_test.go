package fernet

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func keyNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := keyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range mapKeys(files) {
		out = append(out, filepath.Base(filepath.Join(dir, itoa(id))))
	}
	slices.Sort(out)
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r, err := Setup(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := keyNames(t, dir); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("after setup: %v, want [0 1]", got)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v", fi.Mode())
	}
	for _, n := range []string{"0", "1"} {
		fi, _ := os.Stat(filepath.Join(dir, n))
		if fi.Mode().Perm() != 0o600 || fi.Size() != 44 {
			t.Fatalf("key %s: mode %v size %d", n, fi.Mode(), fi.Size())
		}
	}
	f := &Formatter{Keys: r}
	tok, err := f.Issue(Payload{UserID: uuidUser, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// max_active_keys 3: the staged key plus two; a token made with the
	// primary survives one rotation (its key becomes secondary) and dies
	// with the second (its key is purged).
	steps := [][]string{{"0", "1", "2"}, {"0", "2", "3"}}
	for i, want := range steps {
		if err := r.Rotate(); err != nil {
			t.Fatal(err)
		}
		if got := keyNames(t, dir); !slices.Equal(got, want) {
			t.Fatalf("rotation %d: %v, want %v", i+1, got, want)
		}
		_, err := f.Parse(tok)
		if i == 0 && err != nil {
			t.Fatalf("token invalid after one rotation: %v", err)
		}
		if i == 1 && err == nil {
			t.Fatal("token still valid after its key was purged")
		}
	}
	// Keys: primary (3) first, staged (0) last, as Keystone's load_keys.
	want := []string{readKey(t, dir, "3"), readKey(t, dir, "2"), readKey(t, dir, "0")}
	for i, k := range r.Keys() {
		if k.String() != want[i] {
			t.Fatalf("key %d out of order", i)
		}
	}
	// Setup on an existing repository changes nothing.
	before := keyNames(t, dir)
	if _, err := Setup(dir, 3); err != nil || !slices.Equal(keyNames(t, dir), before) {
		t.Fatalf("second setup changed the repository: %v", err)
	}
}

func readKey(t *testing.T, dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Keys rotated by another process show up after Reload (or Watch), and
// Reload does not re-read an unchanged directory.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	r, err := Setup(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := r.Reload(); err != nil || changed {
		t.Fatalf("Reload of an unchanged repository: %v %v", changed, err)
	}
	other, err := OpenRepository(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Rotate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watching := make(chan struct{})
	go func() { r.Watch(ctx, 10*time.Millisecond, func(err error) { t.Error(err) }); close(watching) }()
	for i := 0; ; i++ {
		if len(r.Keys()) == 3 && r.Keys()[0].Equal(other.Keys()[0]) {
			break
		}
		if i > 500 {
			t.Fatal("Watch never picked up the rotation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-watching
	// A broken repository keeps the keys in memory and reports an error.
	for _, n := range []string{"0", "1", "2"} {
		os.Remove(filepath.Join(dir, n))
	}
	if _, err := r.Reload(); err == nil || len(r.Keys()) != 3 {
		t.Fatalf("empty repository: err %v, %d keys kept", err, len(r.Keys()))
	}
	if _, err := OpenRepository(t.TempDir(), 3); err == nil {
		t.Fatal("opened an empty repository")
	}
}

// Setup on a repository in Keystone's shape writes nothing, so a daemon
// starts on keys it may only read (a read-only mount, a directory another
// process manages): not even the lock file is created.
func TestSetupSettledWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Setup(dir, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ".rotate.lock")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dir)
	r, err := Setup(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) || len(r.Keys()) != 2 {
		t.Fatalf("second Setup wrote: %d entries before, %d after, %d keys", len(before), len(after), len(r.Keys()))
	}
}
