package compose_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gostack/gostack/kit/compose"
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
