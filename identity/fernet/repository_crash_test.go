package fernet

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var crashModes = []struct {
	name      string
	powerLoss bool
}{
	{"process", false}, // everything done before the crash is on disk
	{"power", true},    // only what was synced is
}

// The operations of a full rotation, in the order Rotate documents them.
var rotationSteps = []string{
	"create 0.tmp", "write 0.tmp", "sync 0.tmp", "sync dir", // 1, 2
	"rename 0 3", "sync dir", // 3
	"rename 0.tmp 0", "sync dir", // 4
	"remove 1", "sync dir", // 5
}

// A rotation killed after each of its operations, for every operation:
// the keys on disk still open every token made before it, the next start
// (Setup) repairs without purging or rotating, and rotations go on.
// So does `fernet rotate` (OpenRepository, Rotate) in place of a start.
func TestRotateCrash(t *testing.T) {
	for _, mode := range crashModes {
		t.Run(mode.name, func(t *testing.T) {
			if done := rotateCrash(t, -1, mode.powerLoss, true); !slices.Equal(done, rotationSteps) {
				t.Fatalf("a rotation did\n%q\nwant\n%q", done, rotationSteps)
			}
			for n := range len(rotationSteps) {
				t.Run(crashName(rotationSteps, n), func(t *testing.T) {
					rotateCrash(t, n, mode.powerLoss, true)
					rotateCrash(t, n, mode.powerLoss, false)
				})
			}
		})
	}
}

func crashName(steps []string, n int) string {
	if n == 0 {
		return "before " + steps[0]
	}
	return fmt.Sprintf("after %d %s", n, steps[n-1])
}

// rotateCrash rotates a steady repository (0 staged, 1 secondary, 2
// primary, max_active_keys 3) and crashes it after n operations (never if
// n < 0). Then it plays the next start (viaSetup) or `fernet rotate`. It
// returns the operations the rotation did.
func rotateCrash(t *testing.T, n int, powerLoss, viaSetup bool) (done []string) {
	dir := t.TempDir()
	r, err := Setup(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(); err != nil {
		t.Fatal(err)
	}
	// A token of the primary, and one of the staged key (which the rotation
	// promotes: a node that rotated first signs with it).
	keys := r.Keys()
	primary, staged := keys[0], keys[len(keys)-1]
	tokens := map[string]string{"primary": issueWith(t, primary), "staged": issueWith(t, staged)}

	fs := &crashFS{budget: n, powerLoss: powerLoss}
	r.fs = fs
	err = r.Rotate()
	if !fs.crashed {
		if err != nil || n >= 0 {
			t.Fatalf("rotation ran to its end (%v) after %q", err, fs.done)
		}
		return fs.done
	}
	if err == nil {
		t.Fatal("a rotation that crashed reported success")
	}
	// What the crash left is readable as it is (by Keystone, by Watch) and
	// opens every token.
	crashed := diskKeys(t, dir)
	assertOpens(t, "the crashed repository", StaticKeys(slices.Collect(maps.Values(crashed))), tokens, "primary", "staged")

	if viaSetup {
		// The next start repairs, and never purges.
		r2, err := Setup(dir, 3)
		if err != nil {
			t.Fatalf("start after the crash: %v", err)
		}
		after := assertRepository(t, dir, 0)
		for _, k := range crashed {
			if !slices.ContainsFunc(slices.Collect(maps.Values(after)), k.Equal) {
				t.Fatalf("start after the crash dropped a key: %v -> %v", keyIndexes(crashed), keyIndexes(after))
			}
		}
		// Nor does it rotate: the primary is the one the crash left.
		if ids := keyIndexes(crashed); !r2.Keys()[0].Equal(crashed[ids[len(ids)-1]]) {
			t.Fatalf("start after the crash changed the primary (keys %v -> %v)", ids, keyIndexes(after))
		}
		assertOpens(t, "after the start", r2, tokens, "primary", "staged")
		r = r2
	} else {
		r2, err := OpenRepository(dir, 3)
		if err != nil {
			t.Fatalf("fernet rotate after the crash: open: %v", err)
		}
		r = r2
	}
	// The next rotation goes through and leaves Keystone's shape; the key
	// that was staged before the crash is still there.
	if err := r.Rotate(); err != nil {
		t.Fatalf("rotation after the crash: %v", err)
	}
	assertRepository(t, dir, 3)
	assertOpens(t, "after the next rotation", r, tokens, "staged")
	if err := r.Rotate(); err != nil {
		t.Fatalf("second rotation after the crash: %v", err)
	}
	assertRepository(t, dir, 3)
	return fs.done
}

// The operations of Setup on a new directory.
var setupSteps = []string{
	"mkdir keys",
	"create 0.tmp", "write 0.tmp", "sync 0.tmp", "sync dir", "rename 0.tmp 0", "sync dir", // the staged key
	"create 0.tmp", "write 0.tmp", "sync 0.tmp", "sync dir", "rename 0 1", "sync dir", "rename 0.tmp 0", "sync dir", // its rotation
}

// Setup of an empty directory killed after each of its operations: the
// next Setup finishes it (staged key and primary), and rotations go on.
func TestSetupCrash(t *testing.T) {
	for _, mode := range crashModes {
		t.Run(mode.name, func(t *testing.T) {
			for n := range len(setupSteps) + 1 {
				t.Run(crashName(setupSteps, n), func(t *testing.T) {
					dir := filepath.Join(t.TempDir(), "keys")
					fs := &crashFS{budget: n, powerLoss: mode.powerLoss}
					_, err := setup(fs, dir, 3)
					if !slices.Equal(fs.done, setupSteps[:n]) {
						t.Fatalf("setup did\n%q\nwant\n%q", fs.done, setupSteps[:n])
					}
					if fs.crashed == (err == nil) || fs.crashed != (n < len(setupSteps)) {
						t.Fatalf("crashed %v, setup's error %v", fs.crashed, err)
					}
					r, err := Setup(dir, 3)
					if err != nil {
						t.Fatalf("setup after the crash: %v", err)
					}
					if got := assertRepository(t, dir, 2); len(got) != 2 {
						t.Fatalf("setup after the crash left keys %v, want 0 and 1", keyIndexes(got))
					}
					tok := issueWith(t, r.Keys()[0])
					if err := r.Rotate(); err != nil {
						t.Fatalf("rotation after the crash: %v", err)
					}
					assertRepository(t, dir, 3)
					assertOpens(t, "after the rotation", r, map[string]string{"primary": tok}, "primary")
				})
			}
		})
	}
}

// The states an interrupted rotation (ours, Keystone's, or a copy from
// another node) can leave, and what a start makes of them: never fewer
// keys, never another rotation.
func TestSetupRepairs(t *testing.T) {
	k := func() string {
		key, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		return key.String()
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []int // key files after Setup
		kept  []string
	}{
		{"tmp left by a rotation killed while writing it", map[string]string{"0": k(), "1": k(), "2": k(), "0.tmp": "gAAAA"}, []int{0, 1, 2}, []string{"0", "1", "2"}},
		{"staged key promoted, new one still in 0.tmp", map[string]string{"1": k(), "2": k(), "3": k(), "0.tmp": k()}, []int{0, 1, 2, 3}, []string{"0.tmp", "1", "2", "3"}},
		{"staged key promoted, 0.tmp lost", map[string]string{"1": k(), "2": k()}, []int{0, 1, 2}, []string{"1", "2"}},
		{"staged key promoted, 0.tmp torn", map[string]string{"1": k(), "2": k(), "0.tmp": "gAAA"}, []int{0, 1, 2}, []string{"1", "2"}},
		{"staged key promoted, 0.tmp empty", map[string]string{"2": k(), "0.tmp": ""}, []int{0, 2}, []string{"2"}},
		{"killed before the purge", map[string]string{"0": k(), "1": k(), "2": k(), "3": k(), "4": k()}, []int{0, 1, 2, 3, 4}, []string{"0", "1", "2", "3", "4"}},
		{"setup killed before its rotation", map[string]string{"0": k()}, []int{0, 1}, []string{"0"}},
		{"empty 0 next to a staged key in 0.tmp", map[string]string{"0": "", "5": k(), "0.tmp": k()}, []int{0, 5}, []string{"0.tmp", "5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Setup(dir, 3); err != nil {
				t.Fatal(err)
			}
			got := assertRepository(t, dir, 0)
			if !slices.Equal(keyIndexes(got), c.want) {
				t.Fatalf("keys %v, want %v", keyIndexes(got), c.want)
			}
			for _, name := range c.kept {
				old, err := ParseKey(c.files[name])
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(slices.Collect(maps.Values(got)), old.Equal) {
					t.Fatalf("key %s was dropped", name)
				}
			}
		})
	}
}

// Rotate finishes an interrupted rotation and then rotates, where it used
// to refuse for want of a staged key.
func TestRotateRepairs(t *testing.T) {
	dir := t.TempDir()
	r, err := Setup(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	staged := r.Keys()[len(r.Keys())-1]
	tok := issueWith(t, staged)
	// Keystone's order killed between its renames: 0 promoted, 0.tmp left.
	if err := os.Rename(filepath.Join(dir, "0"), filepath.Join(dir, "2")); err != nil {
		t.Fatal(err)
	}
	if err := writeStagedKey(osFS{}, dir); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(); err != nil {
		t.Fatalf("rotate after an interrupted rotation: %v", err)
	}
	got := assertRepository(t, dir, 3)
	if !slices.Equal(keyIndexes(got), []int{0, 2, 3}) {
		t.Fatalf("keys %v, want [0 2 3]", keyIndexes(got))
	}
	assertOpens(t, "after the rotation", r, map[string]string{"staged": tok}, "staged")
}

func issueWith(t *testing.T, k Key) string {
	t.Helper()
	tok, err := (&Formatter{Keys: StaticKeys{k}}).Issue(Payload{UserID: uuidUser, Methods: []string{"password"}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func assertOpens(t *testing.T, where string, keys KeySource, tokens map[string]string, names ...string) {
	t.Helper()
	f := &Formatter{Keys: keys}
	for _, name := range names {
		if _, err := f.Validate(tokens[name]); err != nil {
			t.Fatalf("%s: the token of the %s key: %v", where, name, err)
		}
	}
}

// diskKeys reads the key files of dir, by index.
func diskKeys(t *testing.T, dir string) map[int]Key {
	t.Helper()
	files, err := keyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]Key{}
	for id, text := range files {
		k, err := ParseKey(text)
		if err != nil {
			t.Fatalf("key file %d: %v", id, err)
		}
		out[id] = k
	}
	return out
}

func keyIndexes(keys map[int]Key) []int {
	return slices.Sorted(maps.Keys(keys))
}

// assertRepository checks Keystone's shape: a staged key 0, a primary
// above it, no temporary file left, and (if maxKeys > 0) at most maxKeys
// keys. It returns the keys.
func assertRepository(t *testing.T, dir string, maxKeys int) map[int]Key {
	t.Helper()
	keys := diskKeys(t, dir)
	ids := keyIndexes(keys)
	if len(ids) < 2 || ids[0] != 0 {
		t.Fatalf("keys %v: want a staged key 0 and a primary", ids)
	}
	if maxKeys > 0 && len(ids) > maxKeys {
		t.Fatalf("keys %v: more than %d", ids, maxKeys)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("%s left behind", e.Name())
		}
		if _, err := strconv.Atoi(e.Name()); err == nil {
			fi, err := e.Info()
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %s: mode %v %v", e.Name(), fi.Mode(), err)
			}
		}
	}
	return keys
}

// max_active_keys 1 would purge the new primary (Keystone does, leaving
// the staged key to encrypt); the primary stays.
func TestMaxActiveKeysKeepsPrimary(t *testing.T) {
	dir := t.TempDir()
	r, err := Setup(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]int{{0, 2}, {0, 3}} {
		if err := r.Rotate(); err != nil {
			t.Fatal(err)
		}
		if got := keyIndexes(assertRepository(t, dir, 2)); !slices.Equal(got, want) {
			t.Fatalf("rotation %d: keys %v, want %v", i+1, got, want)
		}
	}
}
