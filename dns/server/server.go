package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Config is the server's behaviour beyond the zones themselves. The zero
// Config answers queries and refuses zone transfers.
type Config struct {
	// Keys are the TSIG keys (RFC 8945) the server verifies requests
	// with and signs responses and NOTIFYs with.
	Keys []Key
	// Transfer lists who may transfer zones over TCP (AXFR, and IXFR
	// answered in full). A request is allowed when one entry matches.
	// Empty: nobody.
	Transfer []ACL
	// ZoneTransfer, if set, gives more entries for one zone (lowercase,
	// with the final dot): a request for that zone is also allowed when
	// one of them matches. The zone's pool targets and TSIG keys, say.
	ZoneTransfer func(zone string) []ACL
	// Notified, if set, is told of every NOTIFY received (zone lowercase,
	// with the final dot; from the sender's address): a secondary zone's
	// master announcing a change. When it returns true the NOTIFY is
	// acknowledged (NOERROR, AA) even for a zone not served yet.
	Notified func(zone string, from netip.Addr) bool
	// NotifyTargets gives, for a zone whose SOA serial changed in a
	// Watcher source, the secondaries to send NOTIFY to. nil: none.
	NotifyTargets func(zone string) []Target
	// NotifyAttempts bounds the tries per target (default 5);
	// NotifyTimeout is each try's wait for the answer (default 2s).
	NotifyAttempts int
	NotifyTimeout  time.Duration
	// UDPSize is the EDNS buffer size advertised and the largest UDP
	// response sent (default 1232, at least 512).
	UDPSize uint16
	// TCPIdleTimeout bounds how long a TCP connection may go without
	// progress (default DefaultTCPIdleTimeout, 10 s): a query must
	// arrive whole within it, the first one after the connection opens
	// and each next one after the previous answer (a client sending
	// nothing, or part of a message and then nothing, is disconnected),
	// and each answer message must be taken by the client within it. A
	// transfer is not cut while its messages keep going out.
	TCPIdleTimeout time.Duration
	// MaxTCPConns caps the TCP connections served at once (default
	// DefaultMaxTCPConns, 1000; negative: no cap). A connection beyond
	// the cap is accepted and closed at once, so the client sees the
	// connection end (EOF or a reset) without an answer and can try
	// another server, rather than wait unanswered in the accept queue.
	MaxTCPConns int
	// Logf receives failures that have no caller to return to (a NOTIFY
	// nobody acknowledged). nil discards them.
	Logf func(format string, args ...any)
}

// Key is one TSIG key. Algorithm defaults to hmac-sha256; Secret is base64.
type Key struct {
	Name      string
	Algorithm string
	Secret    string
}

// ACL matches a client by address prefix and TSIG key. A zero Prefix
// matches any address; an empty Key matches unsigned and signed
// requests alike; a set Key requires a request signed with that key.
type ACL struct {
	Prefix netip.Prefix
	Key    string
}

// Target is a secondary to NOTIFY: a host:port and, optionally, the name
// of the key in Config.Keys to sign with.
type Target struct {
	Addr string
	Key  string
}

// Server answers DNS queries from a Source. It is a dns.Handler, so it can
// also be mounted on a dns.Server the caller runs. Several Servers can
// live in one process.
type Server struct {
	src     Source
	cfg     Config
	keyring atomic.Pointer[keyset] // TSIG keys in force (Config.Keys, then SetKeys)
	pool    sync.Pool
	wg      sync.WaitGroup // NOTIFY goroutines

	// The Watcher's zones when New ran: a change between New and Serve
	// still gets its NOTIFY.
	first         *Zones
	firstReplaced <-chan struct{}
}

var _ dns.Handler = (*Server)(nil)

// New returns a Server answering from src. It starts nothing.
func New(src Source, cfg Config) *Server {
	if cfg.UDPSize == 0 {
		cfg.UDPSize = 1232
	}
	cfg.UDPSize = max(cfg.UDPSize, dns.MinMsgSize)
	if cfg.NotifyAttempts <= 0 {
		cfg.NotifyAttempts = 5
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 2 * time.Second
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.MaxTCPConns == 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	s := &Server{src: src, cfg: cfg}
	s.SetKeys(cfg.Keys)
	s.pool.New = func() any { return new(reply) }
	if w, ok := src.(Watcher); ok {
		s.first, s.firstReplaced = w.Watch()
	}
	return s
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Serve answers queries on the UDP and TCP listeners the caller opened
// (either may be nil) until ctx ends, then stops accepting, lets running
// queries finish for up to 5 seconds, closes both listeners and returns
// nil. A listener failing first ends Serve with its error. When the
// Source is a Watcher, Serve also sends NOTIFYs (see Config). TCP
// connections are bounded by Config.TCPIdleTimeout and MaxTCPConns (a
// dns.Server the caller runs with ServeDNS has its own settings).
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("dns/server: serve: no listener")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var runs []*run
	if udp != nil {
		if bc := batchable(udp); bc != nil {
			runs = append(runs, s.startUDP(udp, bc))
		} else {
			runs = append(runs, s.start(&dns.Server{PacketConn: udp, UDPSize: 4096}))
		}
	}
	if tcp != nil {
		idle := s.cfg.TCPIdleTimeout
		l := &tcpListener{Listener: tcp, max: s.cfg.MaxTCPConns, idle: idle, logf: s.logf}
		runs = append(runs, s.start(&dns.Server{Listener: l, ReadTimeout: idle,
			IdleTimeout: func() time.Duration { return idle }}))
	}
	if w, ok := s.src.(Watcher); ok && s.cfg.NotifyTargets != nil {
		s.wg.Go(func() { s.watch(ctx, w) })
	}
	failed := make(chan error, len(runs))
	for _, r := range runs {
		go func() {
			<-r.done
			failed <- r.err
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
		if err != nil {
			err = fmt.Errorf("dns/server: serve: %w", err)
		}
	}
	cancel()
	for _, r := range runs {
		r.stop()
	}
	s.wg.Wait()
	return err
}

// run is one dns.Server started by Serve.
type run struct {
	srv     *dns.Server
	close   func() error // instead of srv: the batched UDP path's socket
	started chan struct{}
	done    chan struct{}
	err     error
}

func (s *Server) start(srv *dns.Server) *run {
	r := &run{srv: srv, started: make(chan struct{}), done: make(chan struct{})}
	srv.Handler = s
	srv.TsigProvider = tsigProvider{s}
	srv.MsgAcceptFunc = dns.DefaultMsgAcceptFunc
	srv.NotifyStartedFunc = func() { close(r.started) }
	go func() {
		defer close(r.done)
		r.err = srv.ActivateAndServe()
	}()
	return r
}

func (r *run) stop() {
	if r.close != nil {
		r.close()
		<-r.done
		return
	}
	select {
	case <-r.started:
	case <-r.done:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.srv.ShutdownContext(ctx)
	<-r.done
}
