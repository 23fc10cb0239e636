package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// serve runs h behind NewServer with opts on a loopback listener until the
// test ends and returns its address.
func serve(t *testing.T, h http.Handler, opts httpapi.ServerOptions) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv := httpapi.NewServer(h, opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// A client that announces a body and never sends it used to hold its
// connection for ever: net/http drains an unread body before it can reuse
// the connection, with no deadline.
func TestServerDropsStalledBody(t *testing.T) {
	unread := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, httpapi.Keystone, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
	})
	// The write timeout is as short as the body timeout: the answer must
	// still go out after net/http's drain of the unread body timed out.
	addr := serve(t, unread, httpapi.ServerOptions{Limits: httpapi.Limits{BodyTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}})
	c := apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(c, "POST /v3/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !apitest.ClosedByServer(c) {
		t.Fatal("the server kept the connection of a client that never sent its announced body")
	}
}

// A client that asks "Expect: 100-continue" and is refused gets the answer
// at once: the server neither asks for the body nor waits for it.
func TestServerExpectContinueRefused(t *testing.T) {
	unread := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, httpapi.Glance, fault.New(fault.Unauthorized, "no token"))
	})
	addr := serve(t, unread, httpapi.ServerOptions{Limits: httpapi.Limits{BodyTimeout: time.Minute}})
	c := apitest.Dial(t, addr, 10*time.Second)
	fmt.Fprint(c, "PUT /v2/images/x/file HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10485760\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a refused 100-continue request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d, want the handler's 401 (not 100 Continue)", resp.StatusCode)
	}
}

func TestServerBodyTimeoutMovesWithProgress(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := httpapi.NewMetrics(reg, "image")
	if err != nil {
		t.Fatal(err)
	}
	var logs apitest.Buffer
	upload := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Glance, fmt.Errorf("upload: %w", err))
			return
		}
		fmt.Fprint(w, n)
	})
	h := httpapi.Service(upload, httpapi.ServiceOptions{Style: httpapi.Glance, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	addr := serve(t, h, httpapi.ServerOptions{Limits: httpapi.Limits{BodyTimeout: time.Second}})

	// 60 bytes, one every 25 ms: 1.5 s in all, longer than the timeout,
	// but never a second without progress.
	c := apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(c, "PUT /file HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n")
	for range 60 {
		c.Write([]byte("x"))
		time.Sleep(25 * time.Millisecond)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "60" {
		t.Fatalf("slow but steady upload: %d %s", resp.StatusCode, body)
	}

	// Half a body, then silence: 408, logged as the client's doing.
	c = apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(c, "PUT /file HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\nxxxxxxxxxx")
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled upload: %d", resp.StatusCode)
	}

	// Half a body, then hang up: 499, logged as the client's doing.
	c = apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(c, "PUT /file HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\nxxxxxxxxxx")
	c.(*net.TCPConn).CloseWrite()
	apitest.ClosedByServer(c)

	waitFor(t, func() bool { return counts(t, reg)["code=499,method=PUT,route=unmatched,service=image"] == 1 })
	got := counts(t, reg)
	if got["code=408,method=PUT,route=unmatched,service=image"] != 1 || got["code=500,method=PUT,route=unmatched,service=image"] != 0 {
		t.Errorf("metrics: %v", got)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client's hang-up or stall was logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "status=499") || !strings.Contains(logs.String(), "status=408") {
		t.Errorf("logs lack the 499 and 408:\n%s", logs.String())
	}
}

func TestServerWriteTimeout(t *testing.T) {
	werr := make(chan error, 1)
	big := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				werr <- err
				return
			}
		}
	})
	addr := serve(t, big, httpapi.ServerOptions{Limits: httpapi.Limits{WriteTimeout: 200 * time.Millisecond}})
	c := apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(c, "GET /image HTTP/1.1\r\nHost: x\r\n\r\n")
	// The client reads nothing; the server's writes fill the socket
	// buffers and then must give up.
	select {
	case err := <-werr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("write ended with %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a write to a client that reads nothing never gave up")
	}
}

func TestServerIdleAndHeaderTimeouts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	addr := serve(t, ok, httpapi.ServerOptions{Limits: httpapi.Limits{
		ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}})
	half := apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(half, "GET / HTTP/1.1\r\nHost:")
	if !apitest.ClosedByServer(half) {
		t.Error("a client that never finished its headers kept its connection")
	}
	idle := apitest.Dial(t, addr, 20*time.Second)
	fmt.Fprint(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Error("an idle keep-alive connection was not closed")
	}
}

func TestServerMaxConns(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	reg := prometheus.NewRegistry()
	m, err := httpapi.NewMetrics(reg, "admin")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ok, httpapi.ServerOptions{Limits: httpapi.Limits{MaxConns: 2}, Metrics: m})
	get := func(c net.Conn) (string, error) {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	a, b := apitest.Dial(t, addr, 20*time.Second), apitest.Dial(t, addr, 20*time.Second)
	for _, c := range []net.Conn{a, b} {
		if s, err := get(c); s != "ok" || err != nil {
			t.Fatalf("first two: %q %v", s, err)
		}
	}
	if v := gauge(t, reg, "gostack_http_open_connections"); v != 2 {
		t.Errorf("open connections gauge = %v, want 2", v)
	}
	// A third connection is not served while two are open...
	third := apitest.Dial(t, addr, 300*time.Millisecond)
	if s, err := get(third); err == nil {
		t.Fatalf("third connection served past the cap: %q", s)
	}
	// ...and is served once one of them closes.
	a.Close()
	third.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("third connection after one closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("third: %d", resp.StatusCode)
	}
}

// Shutdown lets a request in flight finish, answers a long poll at once,
// and a request cut by the shutdown is a 503, not a server error.
func TestServerShutdownIsGraceful(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan string, 3)
	rt := http.NewServeMux()
	rt.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		entered <- "slow"
		<-release
		fmt.Fprint(w, "done")
	})
	rt.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := httpapi.UntilStopping(r.Context())
		defer cancel()
		entered <- "poll"
		<-ctx.Done()
		fmt.Fprint(w, "poll answered")
	})
	rt.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := httpapi.UntilStopping(r.Context())
		defer cancel()
		entered <- "cut"
		<-ctx.Done()
		httpapi.WriteError(w, r, httpapi.Plain, fmt.Errorf("store: %w", ctx.Err()))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(rt, httpapi.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	go srv.Serve(l)
	type answer struct {
		code int
		body string
	}
	get := func(path string) chan answer {
		out := make(chan answer, 1)
		go func() {
			resp, err := http.Get("http://" + l.Addr().String() + path)
			if err != nil {
				out <- answer{-1, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out <- answer{resp.StatusCode, string(b)}
		}()
		return out
	}
	slow, poll, cut := get("/slow"), get("/poll"), get("/cut")
	for range 3 {
		<-entered
	}
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	for path, ch := range map[string]chan answer{"/poll": poll, "/cut": cut} {
		select {
		case a := <-ch:
			if path == "/poll" && (a.code != 200 || a.body != "poll answered") {
				t.Errorf("long poll at shutdown: %+v", a)
			}
			if path == "/cut" && a.code != http.StatusServiceUnavailable {
				t.Errorf("request cut by shutdown: %+v, want 503", a)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s not answered at shutdown", path)
		}
	}
	close(release) // the slow request finishes after the shutdown began
	if a := <-slow; a.code != 200 || a.body != "done" {
		t.Fatalf("request in flight at shutdown: %+v", a)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 20 s")
}

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := ca.Issue(t, certFile, keyFile, "127.0.0.1")
	certs, err := httpapi.LoadCertFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	certs.CheckEvery = time.Nanosecond // look at the files at every handshake
	var reloadErrors []error
	certs.OnError = func(err error) { reloadErrors = append(reloadErrors, err) }
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	addr := serve(t, ok, httpapi.ServerOptions{TLS: httpapi.ServerTLS(certs)})

	clientTLS, err := httpapi.ClientTLS(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	served := func(cfg *tls.Config) (*x509.Certificate, error) {
		tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get("https://" + addr + "/")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
			return nil, fmt.Errorf("body %q", b)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	got, err := served(clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(first) {
		t.Fatal("served another certificate than the one configured")
	}

	// A client without the CA is refused; so is plain HTTP and TLS 1.1.
	if _, err := served(&tls.Config{}); err == nil {
		t.Error("a client that does not trust the CA got through")
	}
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP on the TLS listener: %d", resp.StatusCode)
		}
	}
	old := clientTLS.Clone()
	old.MaxVersion = tls.VersionTLS11
	if _, err := served(old); err == nil {
		t.Error("TLS 1.1 accepted")
	}

	// A renewed pair is served without a restart; a half-written one is
	// ignored and the last good pair kept.
	second := ca.Issue(t, certFile, keyFile, "127.0.0.1")
	if got, err := served(clientTLS); err != nil || !got.Equal(second) {
		t.Fatalf("after renewal: %v (same as before: %v)", err, got != nil && got.Equal(first))
	}
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ntrunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := served(clientTLS); err != nil || !got.Equal(second) {
		t.Fatalf("with a broken file: %v", err)
	}
	if _, err := served(clientTLS); err != nil {
		t.Fatal(err)
	}
	if len(reloadErrors) != 1 {
		t.Fatalf("OnError heard %d errors for one bad renewal, want 1: %v", len(reloadErrors), reloadErrors)
	}
}
