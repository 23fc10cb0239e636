package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The deadlines in these tests only bound them: a connection the server
// should close and does not fails the test after bound instead of hanging
// it. No test asserts how fast the server acted.
const bound = 10 * time.Second

// serveTCP runs s on a fresh 127.0.0.1 TCP listener, wrapped by wrap when
// not nil, until the test ends, and returns the address.
func serveTCP(t *testing.T, s *Server, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if wrap != nil {
		l = wrap(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, nil, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return addr
}

// smallSendBuffers gives every accepted connection a small send buffer,
// so that the server's writes wait for the client as soon as it stops
// reading instead of filling megabytes of kernel buffers first.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func dial(t *testing.T, addr string) *dns.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &dns.Conn{Conn: c}
}

// framed is a query for www.example.com. A with its TCP length prefix.
func framed(t *testing.T) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
}

// ask sends a query for www.example.com. A on c and wants its answer.
func ask(t *testing.T, c *dns.Conn, what string) {
	t.Helper()
	askFor(t, c, "www.example.com.", dns.TypeA, what)
}

func askFor(t *testing.T, c *dns.Conn, name string, typ uint16, what string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(bound))
	m := new(dns.Msg)
	m.SetQuestion(name, typ)
	if err := c.WriteMsg(m); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	r, err := c.ReadMsg()
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("%s: answer %v, %v", what, r, err)
	}
}

// wantClosed reads c until the server ends the connection (EOF or a
// reset), failing the test if an answer comes or nothing happens within
// bound.
func wantClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	var ne net.Error
	switch {
	case n > 0:
		t.Errorf("%s: got %d bytes, want the connection closed", what, n)
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("%s: connection still open after %v", what, bound)
	case err == nil:
		t.Errorf("%s: empty read without an error", what)
	}
}

// TestTCPIdleTimeout: a client that sends nothing, part of a query or
// nothing after an answer is disconnected once TCPIdleTimeout passes
// without a whole query; so is one trickling a query in too slowly to
// finish it within the timeout.
func TestTCPIdleTimeout(t *testing.T) {
	t.Parallel()
	s := New(loadTestZones(t), Config{TCPIdleTimeout: 200 * time.Millisecond})
	addr := serveTCP(t, s, nil)
	q := framed(t)
	for name, client := range map[string]func(t *testing.T, c *dns.Conn){
		"silent":          func(*testing.T, *dns.Conn) {},
		"half the length": func(t *testing.T, c *dns.Conn) { c.Conn.Write(q[:1]) },
		"half a query":    func(t *testing.T, c *dns.Conn) { c.Conn.Write(q[:len(q)/2]) },
		"idle after an answer": func(t *testing.T, c *dns.Conn) {
			ask(t, c, "first query")
		},
		"trickle": func(t *testing.T, c *dns.Conn) {
			// One byte every 100 ms: the whole query would take 3 s.
			go func() {
				for _, b := range q {
					if _, err := c.Conn.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, addr)
			client(t, c)
			wantClosed(t, c.Conn, name)
		})
	}
}

// TestTCPIdleTimeoutHonoured: with a long TCPIdleTimeout, a connection
// quiet for longer than miekg/dns's own first-query timeout (2 s) is
// still served.
func TestTCPIdleTimeoutHonoured(t *testing.T) {
	t.Parallel()
	s := New(loadTestZones(t), Config{TCPIdleTimeout: time.Minute})
	c := dial(t, serveTCP(t, s, nil))
	time.Sleep(2500 * time.Millisecond)
	ask(t, c, "after 2.5 s of silence")
}

// bulkZone is bulk.test. with n TXT records of about 80 bytes each: a
// transfer of n/180 messages or so.
func bulkZone(t *testing.T, n int) (*Zones, int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("$ORIGIN bulk.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n")
	for i := range n {
		fmt.Fprintf(&b, "r%d TXT \"%s\"\n", i, strings.Repeat("y", 60))
	}
	zs := mustZones(t, map[string]string{"bulk.test.": b.String()})
	return zs, len(zs.byName["bulk.test."].records) + 1 // and the closing SOA
}

// readTransfer reads an AXFR's messages from c, calling each (when not
// nil) after every message, until the closing SOA or an error. It
// returns the records and the messages read.
func readTransfer(c *dns.Conn, each func()) (rrs []dns.RR, msgs int, err error) {
	for {
		m, err := c.ReadMsg()
		if err != nil {
			return rrs, msgs, err
		}
		msgs++
		rrs = append(rrs, m.Answer...)
		if len(rrs) > 1 && rrs[len(rrs)-1].Header().Rrtype == dns.TypeSOA {
			return rrs, msgs, nil
		}
		if each != nil {
			each()
		}
	}
}

func axfrBulk() *dns.Msg {
	m := new(dns.Msg)
	m.SetAxfr("bulk.test.")
	return m
}

var loopback = []ACL{{Prefix: netip.MustParsePrefix("127.0.0.0/8")}}

// TestTCPSlowReaderCut: a client that asks for a transfer and then takes
// nothing is disconnected: after more than TCPIdleTimeout it reads what
// the buffers held, then the end of the connection, never the closing
// SOA. The server goes on serving others.
func TestTCPSlowReaderCut(t *testing.T) {
	t.Parallel()
	zs, _ := bulkZone(t, 12000) // about 1 MB
	s := New(zs, Config{TCPIdleTimeout: 300 * time.Millisecond, Transfer: loopback})
	addr := serveTCP(t, s, func(l net.Listener) net.Listener { return smallSendBuffers{l} })
	c := dial(t, addr)
	c.Conn.(*net.TCPConn).SetReadBuffer(4096)
	if err := c.WriteMsg(axfrBulk()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the client takes nothing
	c.SetReadDeadline(time.Now().Add(bound))
	rrs, _, err := readTransfer(c, nil)
	var ne net.Error
	switch {
	case err == nil:
		t.Fatalf("the transfer completed (%d records) although the client took nothing for 2 s", len(rrs))
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("after %d records, neither the rest nor the end of the connection within %v", len(rrs), bound)
	}
	askFor(t, dial(t, addr), "bulk.test.", dns.TypeSOA, "another client")
}

// TestTCPSlowTransferNotCut: a transfer to a client that reads slowly
// but steadily runs well past TCPIdleTimeout, its messages waiting on
// the client, and is not cut.
func TestTCPSlowTransferNotCut(t *testing.T) {
	t.Parallel()
	const idle, pause = 800 * time.Millisecond, 100 * time.Millisecond
	zs, want := bulkZone(t, 4000) // about 22 messages
	s := New(zs, Config{TCPIdleTimeout: idle, Transfer: loopback})
	addr := serveTCP(t, s, func(l net.Listener) net.Listener { return smallSendBuffers{l} })
	c := dial(t, addr)
	start := time.Now()
	if err := c.WriteMsg(axfrBulk()); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(bound + 10*time.Second))
	rrs, msgs, err := readTransfer(c, func() { time.Sleep(pause) })
	if err != nil || len(rrs) != want {
		t.Fatalf("%d of %d records in %d messages: %v", len(rrs), want, msgs, err)
	}
	// Not a timing assert: the pauses alone make the transfer last this
	// long, or the test proves nothing.
	if took := time.Since(start); took < 2*idle {
		t.Fatalf("the transfer took %v in %d messages, not over twice the idle timeout %v: make the zone bigger", took, msgs, idle)
	}
}

// TestTCPConnectionCap: with MaxTCPConns N, N connections are served and
// held; the next ones are closed at once, with one log line; the held
// ones are still served; once one of them closes a new connection is
// served, and the cap holds again.
func TestTCPConnectionCap(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var logs []string
	s := New(loadTestZones(t), Config{MaxTCPConns: 2, TCPIdleTimeout: time.Minute, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(format, args...))
	}})
	addr := serveTCP(t, s, nil)
	held := []*dns.Conn{dial(t, addr), dial(t, addr)}
	for i, c := range held {
		ask(t, c, fmt.Sprintf("held connection %d", i))
	}
	q := framed(t)
	for i := range 2 {
		c := dial(t, addr)
		c.Conn.Write(q) // may fail if the server already closed it
		wantClosed(t, c.Conn, fmt.Sprintf("connection %d beyond the cap", i+3))
	}
	mu.Lock()
	if len(logs) != 1 || !strings.Contains(logs[0], "MaxTCPConns") {
		t.Errorf("logs = %q, want one line about MaxTCPConns", logs)
	}
	mu.Unlock()
	for i, c := range held {
		ask(t, c, fmt.Sprintf("held connection %d after the refusals", i))
	}

	held[0].Close()
	var next *dns.Conn
	for deadline := time.Now().Add(bound); next == nil; {
		// Until the server has seen held[0] go, a new connection is
		// still one too many and is closed.
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(bound))
		if _, err := c.Conn.Write(q); err == nil {
			if r, err := c.ReadMsg(); err == nil && len(r.Answer) > 0 {
				next = c
				break
			}
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no connection served within %v of one held connection closing", bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ask(t, held[1], "the other held connection")
	extra := dial(t, addr)
	extra.Conn.Write(q)
	wantClosed(t, extra.Conn, "a connection beyond the cap again")
}
