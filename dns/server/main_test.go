package server

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/miekg/dns"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// memWriter is an in-memory dns.ResponseWriter: it keeps what the
// handler wrote.
type memWriter struct {
	remote net.Addr
	out    [][]byte
	tsig   error
	// secrets, when set, sign messages carrying a TSIG as the miekg/dns
	// server's writer does.
	secrets map[string]string
}

func udpWriter() *memWriter {
	return &memWriter{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}}
}

func tcpWriter() *memWriter {
	return &memWriter{remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}}
}

func (w *memWriter) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *memWriter) RemoteAddr() net.Addr { return w.remote }
func (w *memWriter) WriteMsg(m *dns.Msg) error {
	if t := m.IsTsig(); t != nil && w.secrets != nil {
		secret, ok := w.secrets[t.Hdr.Name]
		if !ok {
			return dns.ErrSecret
		}
		b, _, err := dns.TsigGenerate(m, secret, "", false)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *memWriter) Write(b []byte) (int, error) {
	w.out = append(w.out, slices.Clone(b))
	return len(b), nil
}
func (w *memWriter) Close() error        { return nil }
func (w *memWriter) TsigStatus() error   { return w.tsig }
func (w *memWriter) TsigTimersOnly(bool) {}
func (w *memWriter) Hijack()             {}

// last unpacks the last message written.
func (w *memWriter) last(t testing.TB) *dns.Msg {
	t.Helper()
	if len(w.out) == 0 {
		t.Fatal("no response written")
	}
	m := new(dns.Msg)
	if err := m.Unpack(w.out[len(w.out)-1]); err != nil {
		t.Fatalf("unpack response: %v", err)
	}
	return m
}

func mustRR(t testing.TB, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return rr
}

func mustZones(t testing.TB, texts map[string]string) *Zones {
	t.Helper()
	var zs []Zone
	for origin, text := range texts {
		z, err := ParseZone(strings.NewReader(text), origin)
		if err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	built, err := Build(zs)
	if err != nil {
		t.Fatal(err)
	}
	return built
}

// startServer runs s on fresh 127.0.0.1 listeners until the test ends
// and returns the address (the same port for UDP and TCP).
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	var (
		udp net.PacketConn
		tcp net.Listener
		err error
	)
	for try := 0; try < 20; try++ {
		tcp, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		udp, err = net.ListenPacket("udp", tcp.Addr().String())
		if err == nil {
			break
		}
		tcp.Close()
	}
	if err != nil {
		t.Fatalf("no free port pair: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, udp, tcp) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return tcp.Addr().String()
}
