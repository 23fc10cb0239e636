package server

import (
	"net"
	"sync/atomic"
	"time"
)

// Defaults of Config's TCP limits.
const (
	// DefaultTCPIdleTimeout is Knot DNS's tcp-idle-timeout, in line with
	// RFC 7766 6.2.3 (idle timeouts "on the order of seconds"): room for
	// a resolver's follow-up queries and a secondary's SOA check then
	// transfer on one connection, and miekg/dns's own 2 s for the first
	// query plus 8 s between queries in one figure.
	DefaultTCPIdleTimeout = 10 * time.Second
	// DefaultMaxTCPConns bounds what TCP clients can hold: a goroutine,
	// a file descriptor and a message buffer of up to 64 KiB each, so
	// about 100 MiB at worst, and far from the descriptor limit that the
	// rest of the process (an all-in-one's API and database) also needs.
	// An authoritative server gets little TCP (truncated answers retried,
	// transfers): BIND allows 150 clients, NSD 100.
	DefaultMaxTCPConns = 1000
)

// tcpListener is the TCP listener Serve hands to miekg/dns: it closes
// connections beyond max at once, and gives each connection it lets in
// the idle timeout on writes (miekg/dns sets read deadlines itself, but
// none on writes).
type tcpListener struct {
	net.Listener
	max  int // <= 0: no cap
	idle time.Duration
	logf func(format string, args ...any)

	open atomic.Int64
	full atomic.Bool // refusing since the last connection let in (logged once)
}

func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.open.Add(1); l.max > 0 && n > int64(l.max) {
			l.open.Add(-1)
			c.Close()
			if l.full.CompareAndSwap(false, true) {
				l.logf("dns/server: %d TCP connections open (MaxTCPConns): closing new ones until one ends", l.max)
			}
			continue
		}
		l.full.Store(false)
		return &tcpConn{Conn: c, l: l}, nil
	}
}

// tcpConn is a connection let in by tcpListener.
type tcpConn struct {
	net.Conn
	l      *tcpListener
	closed atomic.Bool
}

// Write sends b (one message, or one message of a transfer), which the
// client must take within the idle timeout. Every write has its own
// deadline: a transfer whose messages keep going out is not cut however
// long it runs, a client that stops reading is. A write that failed may
// have sent part of a message, so the connection is closed.
func (c *tcpConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.l.idle)); err != nil {
		c.Close()
		return 0, err
	}
	n, err := c.Conn.Write(b)
	if err != nil {
		c.Close()
	}
	return n, err
}

// Close closes the connection and frees its place under the cap.
func (c *tcpConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}
