package compose_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/sqlstore"
)

// secretArea asks for the secret "shared" when it builds.
type secretArea struct {
	name string
	got  string
}

func (s *secretArea) Name() string                      { return s.name }
func (s *secretArea) Migrations() []sqlstore.Migrations { return nil }
func (s *secretArea) Build(_ context.Context, env *compose.Env) (http.Handler, error) {
	var err error
	s.got, err = env.Secret("shared")
	return http.NotFoundHandler(), err
}

// Two areas get one secret, kept in the data directory for the next
// start, readable by its owner only.
func TestSecret(t *testing.T) {
	dir := t.TempDir()
	build := func() (string, string) {
		a, b := &secretArea{name: "a"}, &secretArea{name: "b"}
		cfg := compose.Defaults()
		cfg.DataDir = dir
		s, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{a, b},
			URLs: map[string]string{"a": "http://a.test", "b": "http://b.test"}, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return a.got, b.got
	}
	a, b := build()
	if len(a) != 64 || a != b {
		t.Fatalf("secrets %q and %q", a, b)
	}
	if again, _ := build(); again != a {
		t.Fatalf("the secret changed across starts: %q then %q", a, again)
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets", "shared"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	// One written by hand, with echo's newline, is the text on its line.
	if err := os.WriteFile(filepath.Join(dir, "secrets", "shared"), []byte("by-hand\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a, _ := build(); a != "by-hand" {
		t.Fatalf("a secret written by hand: %q", a)
	}
}
