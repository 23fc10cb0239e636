package area_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/dns/area"
	"github.com/gostack/gostack/kit/compose"
)

// ServeDNS that cannot start (its UDP port is taken) returns the error
// instead of waiting forever for its own feed loop.
func TestServeDNSBusyPort(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dns := area.New()
	dns.Config.Listen = busy.LocalAddr().String()
	cfg := compose.Defaults(dns)
	cfg.DataDir = t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- dns.ServeDNS(context.Background(), &cfg, slog.New(slog.DiscardHandler), nil)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listen udp") {
			t.Fatalf("ServeDNS on a busy port = %v, want the listen error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeDNS on a busy port did not return")
	}
}
