// Package metadataproxy is the guests' way to the metadata service at
// 169.254.169.254, as Neutron's metadata agent and its namespace proxy
// are: an HTTP server listening in a network's namespace identifies the
// instance a request comes from by the network it serves and the
// request's source address, and forwards the request to Nova's
// metadata API with X-Instance-ID, X-Tenant-ID, X-Forwarded-For and
// X-Instance-ID-Signature, the hex HMAC-SHA256 of the instance id under
// the secret the proxy and the API share (metadata_proxy_shared_secret).
//
// The server is the network agent's own (no haproxy, no Unix socket): a
// listener opened in the namespace (Listen) and served by the agent's
// process, whose requests to the API leave from the host's namespace.
// Headers a guest sends that name an instance are dropped, so a guest
// reads only its own metadata.
package metadataproxy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gostack/gostack/network/nsutil"
)

// Address is the metadata service's address.
var Address = netip.MustParseAddr("169.254.169.254")

// Proxy forwards a network's guests' requests to the metadata API.
type Proxy struct {
	// URL is the metadata API's base URL, e.g. http://controller:8775.
	URL string
	// Secret signs the instance ids (must match the API's).
	Secret string
	// Instance names the instance, and its project, that has address ip
	// on the proxy's network; ok is false for none.
	Instance func(ip netip.Addr) (instanceID, projectID string, ok bool)
	// Client reaches the API (nil: a client with a 30 s timeout).
	Client *http.Client
	Log    *slog.Logger
}

// Sign is the X-Instance-ID-Signature of instance id under secret.
func Sign(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// ServeHTTP forwards r for the instance at its source address: 404 when
// no instance has it, the API's answer otherwise (500 when the API does
// not answer).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		plainError(w, http.StatusBadRequest, "")
		return
	}
	ip := ap.Addr().Unmap()
	id, project, ok := p.Instance(ip)
	if !ok {
		p.log().Warn("metadata proxy: no instance has the address", "addr", ip)
		plainError(w, http.StatusNotFound, "")
		return
	}
	// The path cleaned: a guest's "/../" stays under the API's base.
	clean := path.Clean("/" + r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") && clean != "/" {
		clean += "/"
	}
	target := strings.TrimSuffix(p.URL, "/") + (&url.URL{Path: clean}).EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	// A guest's body (a password POST) is small.
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		plainError(w, http.StatusBadRequest, "")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Forwarded-For", ip.String())
	req.Header.Set("X-Instance-ID", id)
	req.Header.Set("X-Tenant-ID", project)
	req.Header.Set("X-Instance-ID-Signature", Sign(p.Secret, id))
	c := p.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		p.log().Error("metadata proxy: the metadata API", "instance", id, "err", err)
		plainError(w, http.StatusInternalServerError, "An unknown error has occurred. Please try your request again.")
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		p.log().Warn("metadata proxy: the metadata API refused the signature; do the shared secrets match?", "instance", id)
	}
	for _, k := range []string{"Content-Type", "Content-Length"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *Proxy) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// plainError writes webob's text/plain error page, as Neutron's proxy
// answers.
func plainError(w http.ResponseWriter, status int, msg string) {
	if msg == "" && status == http.StatusNotFound {
		msg = "The resource could not be found."
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s\n\n%s\n\n   ", status, http.StatusText(status), msg)
}

// Listen opens a TCP listener on addr in the named network namespace
// (/run/netns/<ns>; "" for the caller's own). The address must be on
// one of the namespace's devices already.
func Listen(ns string, addr netip.AddrPort) (net.Listener, error) {
	var ln net.Listener
	listen := func() error {
		var err error
		ln, err = (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr.String())
		return err
	}
	var err error
	if ns == "" {
		err = listen()
	} else {
		err = nsutil.InNamed(ns, listen)
	}
	if err != nil {
		return nil, fmt.Errorf("metadata proxy: listen on %s in %q: %w", addr, ns, err)
	}
	return ln, nil
}

// Server is a Proxy served on a listener, with a request timeout; Close
// stops it.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Serve serves p on ln until Close.
func Serve(ln net.Listener, p *Proxy) *Server {
	s := &Server{ln: ln, srv: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && p.Log != nil {
			p.Log.Error("metadata proxy: stopped serving", "addr", ln.Addr(), "err", err)
		}
	}()
	return s
}

// Ended reports whether the server stopped serving (Close, or its
// listener failed).
func (s *Server) Ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and ends the requests in flight.
func (s *Server) Close() error { return s.srv.Close() }
