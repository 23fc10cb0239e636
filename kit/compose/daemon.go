package compose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
)

// Daemon serves a Stack: one listener per area on its port, plus the
// admin port. New gives one with the defaults; Run may be called once.
type Daemon struct {
	Config Config
	Areas  []Area
	// Listeners, by service name ("admin", "identity", ...), replace the
	// configured address: tests pass 127.0.0.1:0 listeners.
	Listeners map[string]net.Listener
	// Ready, if set, is called once every listener is open and every
	// handler built, just before serving, with the address of each (and
	// of the listeners areas announced).
	Ready func(addrs map[string]string)
	// LogOutput receives the logs (default os.Stderr).
	LogOutput io.Writer
}

// New returns a daemon serving areas with the embedded defaults.
func New(areas ...Area) *Daemon {
	return &Daemon{Config: Defaults(areas...), Areas: areas}
}

// ConfigRoot is the daemon's whole configuration for kit/config (see the
// function ConfigRoot).
func (d *Daemon) ConfigRoot() any {
	root, err := ConfigRoot(&d.Config, d.Areas)
	if err != nil {
		panic(err) // an area's Section is not a pointer to a struct: a programming error
	}
	return root
}

// Validate checks the daemon's settings and every area's section.
func (d *Daemon) Validate() error { return Validate(&d.Config, d.Areas) }

// Load reads the configuration like config.Load (file, then GOSTACK_*
// variables with env, then flags) into the daemon and its areas, and
// validates it.
func (d *Daemon) Load(path string, opts ...config.Option) error {
	return config.Load(path, d.ConfigRoot(), append(opts, config.Check(d.Validate))...)
}

// Logger is the logger Run uses.
func (d *Daemon) Logger() *slog.Logger {
	out := d.LogOutput
	if out == nil {
		out = os.Stderr
	}
	return NewLogger(d.Config.Log, out)
}

// Run serves until ctx ends, then shuts down gracefully and returns nil;
// it returns an error if the daemon cannot start, having undone what it
// had done.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := &d.Config
	if err := d.Validate(); err != nil {
		return err
	}
	if _, err := Order(d.Areas); err != nil {
		return err
	}
	log := d.Logger()
	var tlsConfig *tls.Config
	if cfg.TLS.On() {
		certs, err := httpapi.LoadCertFiles(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return err
		}
		certs.OnError = func(err error) {
			log.Error("TLS certificate not reloaded; the previous one is still served", "err", err)
		}
		tlsConfig = httpapi.ServerTLS(certs)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.release()
	names := []string{"admin"}
	for _, a := range d.Areas {
		names = append(names, a.Name())
	}
	listeners, err := d.listen(names)
	if err != nil {
		return err
	}
	urls := map[string]string{}
	for name, l := range listeners {
		urls[name] = cfg.Scheme() + "://" + PublicAddr(l.Addr().String())
	}
	// A signal during the start ends it (a migration waiting for a lock,
	// a DNS server waiting for its first snapshot). Once started,
	// controllers outlive the signal: they stop after the servers have
	// drained (Stack.Close below).
	bctx, bcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer bcancel()
	startCut := context.AfterFunc(ctx, bcancel)
	stack, err := Build(bctx, Options{Config: cfg, Areas: d.Areas, URLs: urls, Log: log, locked: true})
	if err != nil {
		startCut()
		closeAll(listeners)
		return err
	}
	defer stack.Close()
	if !startCut() { // ctx ended during the start: nothing was served
		closeAll(listeners)
		log.Info("stopped before serving")
		return nil
	}
	if d.Ready != nil {
		addrs := stack.Announced()
		for n, l := range listeners {
			addrs[n] = l.Addr().String()
		}
		d.Ready(addrs)
	}
	return d.serve(ctx, log, stack, listeners, tlsConfig)
}

// listen opens every listener, or none: a busy port fails the start.
func (d *Daemon) listen(names []string) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for _, name := range names {
		if l, ok := d.Listeners[name]; ok {
			out[name] = l
			continue
		}
		addr := net.JoinHostPort(d.Config.Bind, strconv.Itoa(d.Config.Ports[Key(name)]))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("compose: listen %s on %s: %w", name, addr, errors.Unwrap(err))
		}
		out[name] = l
	}
	return out, nil
}

func closeAll(ls map[string]net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// serve runs the HTTP servers until ctx ends, then drains them.
func (d *Daemon) serve(ctx context.Context, log *slog.Logger, stack *Stack, ls map[string]net.Listener, tlsConfig *tls.Config) error {
	cfg := &d.Config
	errc := make(chan error, len(ls))
	var hs []*httpapi.Server
	for _, name := range append([]string{"admin"}, stack.Names()...) {
		srv := httpapi.NewServer(stack.Handler(name), httpapi.ServerOptions{
			Limits: cfg.HTTP.Limits(), TLS: tlsConfig, Metrics: stack.metrics[name],
			// Shutdown lets requests in flight finish (long polls end
			// at once); the signal that starts it does not cancel them.
			BaseContext: context.WithoutCancel(ctx),
			Logger:      log,
		})
		hs = append(hs, srv)
		l := ls[name]
		log.Info("listening", "service", name, "addr", l.Addr().String(), "scheme", cfg.Scheme())
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("compose: serve %s: %w", name, err)
			}
		}()
	}
	log.Info("gostack is up", "data_dir", absPath(cfg.DataDir))
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down")
	// Stop accepting, answer long polls, let requests in flight finish
	// within shutdown_timeout (then cut them), and only then stop the
	// controllers those requests may rely on.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout.D())
	defer cancel()
	var sw sync.WaitGroup
	for _, srv := range hs {
		sw.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("shutdown: requests cut after shutdown_timeout", "err", err)
				srv.Close()
			}
		})
	}
	sw.Wait()
	stack.Close()
	log.Info("stopped")
	return serveErr
}

// PublicAddr turns a listen address into one clients can reach: an
// unspecified IP becomes loopback.
func PublicAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
