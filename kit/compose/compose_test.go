package compose_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/sqlstore"
)

// notes is a small area: a config section, a schema, an API, a
// controller and, optionally, needs.
type notes struct {
	name  string
	needs []string
	Cfg   struct {
		Greeting string `yaml:"greeting" help:"what GET / says"`
	}
	ran, stopped *atomic.Int32
}

func newNotes(name string, needs ...string) *notes {
	n := &notes{name: name, needs: needs, ran: &atomic.Int32{}, stopped: &atomic.Int32{}}
	n.Cfg.Greeting = "hello"
	return n
}

func (n *notes) Name() string     { return n.name }
func (n *notes) Needs() []string  { return n.needs }
func (n *notes) Section() any     { return &n.Cfg }
func (n *notes) DefaultPort() int { return 7070 }

// Migrations: the table of area "a", the only one with a schema.
func (n *notes) Migrations() []sqlstore.Migrations {
	if n.name != "a" {
		return nil
	}
	return []sqlstore.Migrations{{Area: n.name, FS: os.DirFS("testdata/notes")}}
}

func (n *notes) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	for _, need := range n.needs {
		if v, ok := env.Lookup(need + ".greeting"); !ok || v != "hello" {
			return nil, errors.New("built before " + need)
		}
	}
	env.Provide(n.name+".greeting", n.Cfg.Greeting)
	env.Go("ticker", func(ctx context.Context) error {
		n.ran.Add(1)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // a controller that takes a moment to stop
		n.stopped.Add(1)
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, n.Cfg.Greeting+" from "+env.URL) }), nil
}

func TestOrder(t *testing.T) {
	names := func(as []compose.Area) string {
		var s []string
		for _, a := range as {
			s = append(s, a.Name())
		}
		return strings.Join(s, ",")
	}
	got, err := compose.Order([]compose.Area{newNotes("c", "b"), newNotes("a"), newNotes("b", "a")})
	if err != nil || names(got) != "a,b,c" {
		t.Fatalf("Order = %s, %v", names(got), err)
	}
	for _, tt := range []struct {
		areas []compose.Area
		want  string
	}{
		{[]compose.Area{newNotes("image", "identity")}, "image needs the identity area, which is not in this daemon"},
		{[]compose.Area{newNotes("a", "b"), newNotes("b", "a")}, "a -> b -> a"},
		{[]compose.Area{newNotes("a"), newNotes("a")}, "duplicate"},
		{[]compose.Area{newNotes("admin")}, "reserved"},
	} {
		if _, err := compose.Order(tt.areas); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Order(%s) = %v, want %q", names(tt.areas), err, tt.want)
		}
	}
}

// Each area's section is read with the daemon's keys, from the file, the
// environment and flags, and checked with the daemon's validation.
func TestConfigSections(t *testing.T) {
	a, b := newNotes("notes"), newNotes("load-balancer")
	d := compose.New(a, b)
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("data_dir: /srv/x\nports: {notes: 7071}\nnotes:\n  greeting: hi\n"), 0o600)
	err := d.Load(path, config.EnvPrefix("T"), config.Environ([]string{"T_LOAD_BALANCER_GREETING=yo"}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Config.DataDir != "/srv/x" || d.Config.Ports["notes"] != 7071 || d.Config.Ports["load_balancer"] != 7070 ||
		a.Cfg.Greeting != "hi" || b.Cfg.Greeting != "yo" {
		t.Fatalf("loaded %+v, %q, %q", d.Config, a.Cfg.Greeting, b.Cfg.Greeting)
	}
	os.WriteFile(path, []byte("ports: {notez: 7072}\n"), 0o600)
	if err := d.Load(path); err == nil || !strings.Contains(err.Error(), "ports.notez: no such listener") {
		t.Fatalf("typo in ports: %v", err)
	}
	os.WriteFile(path, []byte("notes: {greetin: x}\n"), 0o600)
	if err := d.Load(path); err == nil || !strings.Contains(err.Error(), `unknown key "notes.greetin"`) {
		t.Fatalf("unknown section key: %v", err)
	}
}

// A stack built from areas serves their APIs on the embedder's own mux,
// and Close waits for every controller.
func TestStackOnOwnMux(t *testing.T) {
	cfg := compose.Defaults()
	cfg.DataDir = t.TempDir()
	a, b := newNotes("b", "a"), newNotes("a")
	s, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{a, b},
		URLs: map[string]string{"a": "http://example.test/a/"}, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "ports.b") {
		t.Fatalf("built b, whose URL is its port, without a port: %v", err)
	}
	cfg = compose.Defaults(a, b) // both name 7070: unused, each is served at its URL
	cfg.DataDir = t.TempDir()
	s, err = compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{a, b},
		URLs: map[string]string{"a": "http://example.test/a/", "b": "http://example.test/b"},
		Log:  slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "a,b" {
		t.Fatalf("build order %s", got)
	}
	mux := http.NewServeMux()
	mux.Handle("/a/", http.StripPrefix("/a", s.Handler("a")))
	mux.Handle("/b/", http.StripPrefix("/b", s.Handler("b")))
	mux.Handle("/admin/", http.StripPrefix("/admin", s.Handler("admin")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string]string{"/a/": "hello from http://example.test/a", "/b/healthcheck": "OK", "/admin/healthcheck": "OK"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want || resp.Header.Get("X-Openstack-Request-Id") == "" {
			t.Errorf("GET %s = %d %q %v", path, resp.StatusCode, body, resp.Header)
		}
	}
	// A second stack on the same data directory is refused while the
	// first holds it.
	cfg.Ports["a"] = 7071 // no URLs: each area's URL is its port
	if _, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{newNotes("a"), newNotes("b", "a")}}); err == nil ||
		!strings.Contains(err.Error(), "in use") {
		t.Fatalf("second stack on one data dir: %v", err)
	}
	if a.ran.Load() != 1 || b.ran.Load() != 1 {
		t.Fatalf("controllers ran %d, %d times", a.ran.Load(), b.ran.Load())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if a.stopped.Load() != 1 || b.stopped.Load() != 1 {
		t.Fatal("Close returned before the controllers stopped")
	}
}
