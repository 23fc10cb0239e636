package compose_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/sqlstore"
)

// stuck is an area whose Build waits for its context, like a start
// waiting on a database lock held elsewhere.
type stuck struct{}

func (stuck) Name() string                      { return "stuck" }
func (stuck) DefaultPort() int                  { return 7080 }
func (stuck) Migrations() []sqlstore.Migrations { return nil }
func (stuck) Build(ctx context.Context, _ *compose.Env) (http.Handler, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A signal during the start ends it: Run returns instead of waiting for
// a start that cannot finish.
func TestDaemonStartInterrupted(t *testing.T) {
	d := compose.New(stuck{})
	d.Config.DataDir = t.TempDir()
	d.Listeners = map[string]net.Listener{"admin": listen(t), "stuck": listen(t)}
	d.LogOutput = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended during the start")
	}
	// Everything was undone: the data directory is free again.
	a := newNotes("a")
	cfg := compose.Defaults(a)
	cfg.DataDir = d.Config.DataDir
	s, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{a}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("build after the interrupted start: %v", err)
	}
	s.Close()
}
