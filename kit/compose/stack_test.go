package compose_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
)

// An embedder's registry outlives a stack: a stack built again on it
// (after a Close, or beside another one) reuses the collectors.
func TestStackSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newNotes("a")
	build := func() *compose.Stack {
		t.Helper()
		cfg := compose.Defaults(a)
		cfg.DataDir = t.TempDir()
		s, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{a},
			Registry: reg, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := build()
	second := build()
	second.Close()
	first.Close()
	build().Close()
}

// portless is an area of an embedder's own with neither a port of its
// own (Porter) nor an OpenStack name.
type portless struct{ name string }

func (p portless) Name() string                    { return p.name }
func (portless) Migrations() []sqlstore.Migrations { return nil }
func (portless) Build(context.Context, *compose.Env) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}

// Areas the embedder serves at URLs of its own need no port: only those
// whose URL is made from a port do.
func TestStackPortsOnlyWhereUsed(t *testing.T) {
	areas := []compose.Area{portless{"memo"}, portless{"wiki"}}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = t.TempDir()
	s, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: areas,
		URLs: map[string]string{"memo": "http://example.test/memo", "wiki": "http://example.test/wiki"},
		Log:  slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("areas served at their URLs: %v", err)
	}
	s.Close()
	// Without a URL, the area's port makes it: it must be a port.
	_, err = compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: areas,
		URLs: map[string]string{"memo": "http://example.test/memo"}, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "ports.wiki") {
		t.Fatalf("area without a URL or a port: %v", err)
	}
	// The daemon opens a listener for every area: each needs a port.
	if err := compose.Validate(&cfg, areas); err == nil || !strings.Contains(err.Error(), "ports.memo") {
		t.Fatalf("Validate without ports: %v", err)
	}
}
