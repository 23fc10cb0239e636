package allinone_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity/fernet"
)

// A `fernet rotate` killed between its renames (0 promoted, the next
// staged key still in 0.tmp, no 0) neither costs the tokens issued before
// at the daemon's next start nor blocks the next `fernet rotate`.
func TestFernetInterruptedRotation(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	dir := filepath.Join(cfg.DataDir, "fernet-keys")
	d := start(t, cfg, cfg.id)
	pw, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	tok := issueToken(t, d, "admin", strings.TrimSpace(string(pw)), `{"system":{"all":true}}`)
	d.stop(t)

	promoted := interruptRotation(t, dir, 2)
	d = start(t, cfg, cfg.id)
	if got := fernetKeyFiles(t, dir); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("key files after the start: %v, want 0 1 2 (repaired, not rotated)", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "2")); err != nil || strings.TrimSpace(string(b)) != promoted.String() {
		t.Fatalf("key 2 after the start is not the key the rotation promoted (%v)", err)
	}
	url := "http://" + d.addrs["identity"] + "/v3/auth/tokens"
	if code := statusSubject(t, url, tok); code != 200 {
		t.Fatalf("a token issued before the interrupted rotation: %d after the restart", code)
	}
	d.stop(t)

	promoted = interruptRotation(t, dir, 3)
	var out bytes.Buffer
	if err := cfg.id.FernetRotate(context.Background(), &cfg.Config, &out); err != nil {
		t.Fatalf("fernet rotate after an interrupted rotation: %v", err)
	}
	if got := fernetKeyFiles(t, dir); !slices.Equal(got, []string{"0", "3", "4"}) || !strings.Contains(out.String(), "3 keys") {
		t.Fatalf("fernet rotate: %q, key files %v, want 0 3 4", out.String(), got)
	}
	r, err := fernet.OpenRepository(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Keys(), promoted.Equal) {
		t.Fatal("fernet rotate dropped the key the interrupted rotation promoted")
	}
}

// interruptRotation does what a rotation killed after its first rename
// leaves: the staged key renamed to next, a new key in 0.tmp. It returns
// the promoted key.
func interruptRotation(t *testing.T, dir string, next int) fernet.Key {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "0"))
	if err != nil {
		t.Fatal(err)
	}
	staged, err := fernet.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "0"), filepath.Join(dir, string(rune('0'+next)))); err != nil {
		t.Fatal(err)
	}
	k, err := fernet.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0.tmp"), []byte(k.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return staged
}

// fernetKeyFiles lists dir without the lock file.
func fernetKeyFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// statusSubject validates tok with itself (GET /v3/auth/tokens).
func statusSubject(t *testing.T, url, tok string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
