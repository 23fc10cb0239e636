package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one client can hold on a listener. Every timeout
// counts from the last sign of progress, not from the start of the
// request, so a long upload or download lives as long as bytes keep
// moving while a client that stops sending (or stops reading) is dropped.
// A zero field means the default below; a negative one turns that bound
// off.
type Limits struct {
	// ReadHeaderTimeout is how long a client has to send the request line
	// and headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// BodyTimeout is how long a read of the request body may wait for the
	// next bytes (default 60 s, nginx's client_body_timeout). It applies
	// even when the handler does not read the body: net/http then drains
	// it to reuse the connection, and a client that announced a body and
	// never sends it is disconnected after this long.
	BodyTimeout time.Duration
	// WriteTimeout is how long one write of the response may block on a
	// client that does not read (default 60 s, nginx's send_timeout).
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request (default 120 s).
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once on the listener
	// (default 1024). Beyond it Accept waits: new clients queue in the
	// kernel's backlog until a connection closes.
	MaxConns int
}

// The defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxConns          = 1024
)

// withDefaults fills zero fields and turns negative ones into zero (off).
func (l Limits) withDefaults() Limits {
	dur := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	l.ReadHeaderTimeout = dur(l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	l.BodyTimeout = dur(l.BodyTimeout, DefaultBodyTimeout)
	l.WriteTimeout = dur(l.WriteTimeout, DefaultWriteTimeout)
	l.IdleTimeout = dur(l.IdleTimeout, DefaultIdleTimeout)
	switch {
	case l.MaxConns == 0:
		l.MaxConns = DefaultMaxConns
	case l.MaxConns < 0:
		l.MaxConns = 0
	}
	return l
}

// ServerOptions configures NewServer. The zero value serves plain HTTP
// with the default Limits.
type ServerOptions struct {
	Limits Limits
	// TLS, when set, makes the server speak HTTPS only (see ServerTLS).
	TLS *tls.Config
	// BaseContext is the parent of every request's context; nil means
	// context.Background(). Shutdown does not cancel it: requests in
	// flight run to their end within the shutdown timeout, and long polls
	// end at once through UntilStopping.
	BaseContext context.Context
	// Logger receives net/http's own errors (TLS handshake failures,
	// accept errors) at Warn; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, when set, tracks open connections (ConnState).
	Metrics *Metrics
}

// Server is an http.Server with gostack's limits, and the listener
// wrapping that enforces the connection cap and TLS. Serve it with
// Server.Serve(l).
type Server struct {
	*http.Server
	limits Limits
	tls    *tls.Config
}

// NewServer returns a server for h with opts' limits: header, idle and
// progress deadlines (h is wrapped with Deadlines), and the connection cap
// and TLS applied by Serve.
func NewServer(h http.Handler, opts ServerOptions) *Server {
	lim := opts.Limits.withDefaults()
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	base := opts.BaseContext
	if base == nil {
		base = context.Background()
	}
	stop := &shutdown{ch: make(chan struct{})}
	base = context.WithValue(base, serverKey{}, stop)
	srv := &http.Server{
		Handler:           Deadlines(lim.BodyTimeout, lim.WriteTimeout)(h),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          log.New(serverLog{logger}, "", 0),
	}
	if opts.Metrics != nil {
		srv.ConnState = opts.Metrics.connState
	}
	srv.RegisterOnShutdown(stop.close)
	return &Server{Server: srv, limits: lim, tls: opts.TLS}
}

// serverLog takes net/http's own error lines: at Warn, except failed TLS
// handshakes, which every TCP probe of an HTTPS port causes (Debug).
type serverLog struct{ l *slog.Logger }

func (s serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	s.l.Log(context.Background(), level, msg)
	return len(p), nil
}

// shutdown is closed when the server starts shutting down.
type shutdown struct {
	ch   chan struct{}
	once sync.Once
}

func (s *shutdown) close() { s.once.Do(func() { close(s.ch) }) }

// Stopping returns a channel that is closed when the server serving the
// request behind ctx starts shutting down (nil, never closed, outside a
// NewServer). Requests in flight then still run to their end, within the
// shutdown timeout; a long poll should answer at once (UntilStopping).
func Stopping(ctx context.Context) <-chan struct{} {
	if s, ok := ctx.Value(serverKey{}).(*shutdown); ok {
		return s.ch
	}
	return nil
}

// UntilStopping returns a copy of ctx that also ends when its server
// starts shutting down: what a long poll waits on, so that shutdown does
// not wait for it. Call cancel when done.
func UntilStopping(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if ch := Stopping(ctx); ch != nil {
		go func() {
			select {
			case <-ch:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// Serve accepts connections on l, at most Limits.MaxConns at once, through
// TLS when configured, until Shutdown or Close. It returns
// http.ErrServerClosed after those, like http.Server.Serve.
func (s *Server) Serve(l net.Listener) error {
	if s.limits.MaxConns > 0 {
		l = LimitListener(l, s.limits.MaxConns)
	}
	if s.tls != nil {
		l = tls.NewListener(l, s.tls)
	}
	return s.Server.Serve(l)
}

// Deadlines returns middleware that bounds how long a request may stall
// on its client, counting from the last progress:
//
//   - body: before every read of the request body the connection's read
//     deadline moves to now+body; once the body is read to its end the
//     deadline is lifted (a long poll that follows is not cut). When the
//     handler leaves the body unread, the deadline stays, so net/http's
//     drain of it ends after body at most.
//   - write: before every WriteHeader, Write and Flush the connection's
//     write deadline moves to now+write, and it is lifted when the request
//     starts, so time spent computing the response does not count. While
//     the body is unread the deadline is now+write+body: net/http drains
//     an unread body before it sends the answer, and the answer must still
//     go out when that drain times out.
//
// The handler gets a shallow copy of the request, so net/http's own
// request keeps its body and still answers an "Expect: 100-continue"
// request at once when the handler refuses it unread.
//
// A zero duration turns that bound off. Handlers may still set their own
// deadlines through http.ResponseController.
func Deadlines(body, write time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if body <= 0 && write <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			var db *deadlineBody
			if body > 0 && r.Body != nil && r.Body != http.NoBody {
				_ = rc.SetReadDeadline(time.Now().Add(body))
				db = &deadlineBody{ReadCloser: r.Body, rc: rc, d: body}
				r = r.WithContext(r.Context()) // a copy: net/http's request keeps its own body
				r.Body = db
			}
			if write > 0 {
				_ = rc.SetWriteDeadline(time.Time{})
				w = &deadlineWriter{ResponseWriter: w, rc: rc, d: write, body: db}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// deadlineBody moves the read deadline before each read of the body.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	d    time.Duration
	done atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done.Load() {
		return b.ReadCloser.Read(p)
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.d))
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done.Store(true)
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadlineWriter moves the write deadline before each write. It keeps
// http.Flusher and exposes the wrapped writer through Unwrap, like
// statusWriter.
type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	d    time.Duration
	body *deadlineBody // nil without a body
}

func (w *deadlineWriter) bump() {
	d := w.d
	if w.body != nil && !w.body.done.Load() {
		d += w.body.d // room for net/http's drain of the unread body
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(d))
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.bump()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.bump()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	w.bump()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LimitListener returns a listener that holds at most n accepted
// connections open at once: Accept waits for one to close before taking
// the next from l. Closing the listener ends a waiting Accept.
func LimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

type serverKey struct{}

// stopping reports whether the server serving ctx's request is shutting
// down.
func stopping(ctx context.Context) bool {
	select {
	case <-Stopping(ctx):
		return true
	default:
		return false
	}
}

// isTimeout reports whether err is a deadline that expired.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
