package allinone

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
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Daemon is one all-in-one process. The zero value plus a Config is
// usable; Run may be called once.
type Daemon struct {
	Config Config
	Areas  []Area
	// Listeners, by service name ("admin", "identity", ...), replace the
	// configured address: tests pass 127.0.0.1:0 listeners.
	Listeners map[string]net.Listener
	// Ready, if set, is called once every listener is open and every
	// handler built, just before serving, with the address of each.
	Ready func(addrs map[string]string)
	// LogOutput receives the logs (default os.Stderr).
	LogOutput io.Writer
}

// Run starts the all-in-one cloud with cfg and the default areas, and
// serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	d := &Daemon{Config: cfg, Areas: DefaultAreas()}
	return d.Run(ctx)
}

// Run serves until ctx ends, then shuts down gracefully and returns nil;
// it returns an error if the daemon cannot start, having undone what it
// had done.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := &d.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	out := d.LogOutput
	if out == nil {
		out = os.Stderr
	}
	log := newLogger(cfg.Log, out)
	var tlsConfig *tls.Config
	if cfg.TLS.on() {
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

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db, feed, err := openStore(ctx, cfg, d.Areas, reg)
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("store ready", "database", sqlstore.Redact(cfg.dsn()), "engine", db.Dialect().String())

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	listeners, err := d.listen(d.serviceNames())
	if err != nil {
		return err
	}
	var bg sync.WaitGroup
	announced := map[string]string{}
	servers, err := d.build(runCtx, log, db, feed, reg, listeners, &bg, announced)
	if err != nil {
		stop()
		bg.Wait()
		closeAll(listeners)
		return err
	}
	defer func() { stop(); bg.Wait() }() // areas' loops end and release their ports
	authAddr := net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Ports.Identity))
	if l, ok := listeners["identity"]; ok {
		authAddr = l.Addr().String()
	}
	if err := writeOpenRC(cfg, authAddr, hasArea(d.Areas, "identity")); err != nil {
		closeAll(listeners)
		return err
	}
	if d.Ready != nil {
		addrs := map[string]string{}
		for n, l := range listeners {
			addrs[n] = l.Addr().String()
		}
		for n, a := range announced {
			addrs[n] = a
		}
		d.Ready(addrs)
	}
	return d.serve(runCtx, stop, log, feed, servers, listeners, tlsConfig)
}

// server is one listener's handler.
type server struct {
	name    string
	handler http.Handler
	metrics *httpapi.Metrics
}

func openStore(ctx context.Context, cfg *Config, areas []Area, reg prometheus.Registerer) (*sqlstore.DB, *watch.Log, error) {
	dbLatency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gostack_db_query_duration_seconds",
		Help:    "Latency of store statements by verb.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"verb"})
	reg.MustRegister(dbLatency)
	db, err := sqlstore.Open(ctx, cfg.dsn(), sqlstore.WithObserver(func(verb string, d time.Duration, _ error) {
		dbLatency.WithLabelValues(verb).Observe(d.Seconds())
	}))
	if err != nil {
		return nil, nil, err
	}
	sets := []sqlstore.Migrations{watch.Migrations()}
	for _, a := range areas {
		sets = append(sets, a.Migrations()...)
	}
	if err := db.Migrate(ctx, sets...); err != nil {
		db.Close()
		return nil, nil, err
	}
	wm, err := watchprom.New(reg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, watch.New(db, watch.WithObserver(wm)), nil
}

// serviceNames are the listeners to open: admin and one per area.
func (d *Daemon) serviceNames() []string {
	names := []string{"admin"}
	for _, a := range d.Areas {
		names = append(names, a.Name())
	}
	return names
}

// build makes every handler; nothing is served yet.
func (d *Daemon) build(ctx context.Context, log *slog.Logger, db *sqlstore.DB, feed *watch.Log, reg *prometheus.Registry, ls map[string]net.Listener,
	bg *sync.WaitGroup, announced map[string]string) ([]server, error) {
	var servers []server
	var validator middleware.Validator
	seen := map[string]bool{"admin": true}
	for _, a := range d.Areas {
		name := a.Name()
		if _, ok := d.Config.Ports.byName()[name]; !ok || seen[name] {
			return nil, fmt.Errorf("allinone: area %q: unknown or duplicate service name", name)
		}
		seen[name] = true
		m, err := httpapi.NewMetrics(reg, name)
		if err != nil {
			return nil, err
		}
		alog := log.With("service", name)
		h, err := a.Handler(ctx, Env{DB: db, Watch: feed, Log: alog, Registry: reg, Config: &d.Config, Metrics: m,
			Addr: ls[name].Addr().String(), SetValidator: func(v middleware.Validator) { validator = v },
			Validator: func() middleware.Validator { return validator },
			Announce:  func(name, addr string) { announced[name] = addr },
			Go:        func(fn func()) { bg.Go(fn) }})
		if err != nil {
			return nil, fmt.Errorf("allinone: area %s: %w", name, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.Handle("GET /healthcheck", healthHandler(db))
		servers = append(servers, server{name, httpapi.Service(mux, httpapi.ServiceOptions{Logger: alog, Metrics: m}), m})
	}
	adminMetrics, err := httpapi.NewMetrics(reg, "admin")
	if err != nil {
		return nil, err
	}
	admin := server{"admin", httpapi.Service(adminHandler(db, feed, reg, d.Areas, validator),
		httpapi.ServiceOptions{Style: httpapi.Plain, Logger: log.With("service", "admin"), Metrics: adminMetrics}), adminMetrics}
	return append([]server{admin}, servers...), nil
}

// listen opens every listener, or none: a busy port fails the start.
func (d *Daemon) listen(names []string) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for _, name := range names {
		if l, ok := d.Listeners[name]; ok {
			out[name] = l
			continue
		}
		port, known := d.Config.Ports.byName()[name]
		if !known {
			closeAll(out)
			return nil, fmt.Errorf("allinone: area %q: unknown service name", name)
		}
		addr := net.JoinHostPort(d.Config.Bind, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("allinone: listen %s on %s: %w", name, addr, errors.Unwrap(err))
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

// serve runs the HTTP servers and the feed's background loop until ctx
// ends, then drains them.
func (d *Daemon) serve(ctx context.Context, stop context.CancelFunc, log *slog.Logger, feed *watch.Log, servers []server, ls map[string]net.Listener, tlsConfig *tls.Config) error {
	cfg := &d.Config
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		feed.Run(ctx, watch.Retention{MaxAge: cfg.Watch.Retention.D(), MaxChanges: cfg.Watch.MaxChanges}, cfg.Watch.CompactInterval.D(), log)
	}()
	errc := make(chan error, len(servers))
	var hs []*httpapi.Server
	for _, s := range servers {
		srv := httpapi.NewServer(s.handler, httpapi.ServerOptions{
			Limits: cfg.HTTP.limits(), TLS: tlsConfig, Metrics: s.metrics,
			// Shutdown lets requests in flight finish (long polls end
			// at once); the signal that starts it does not cancel them.
			BaseContext: context.WithoutCancel(ctx),
			Logger:      log,
		})
		hs = append(hs, srv)
		l := ls[s.name]
		log.Info("listening", "service", s.name, "addr", l.Addr().String(), "scheme", cfg.scheme())
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("allinone: serve %s: %w", s.name, err)
			}
		}()
	}
	log.Info("gostack is up", "data_dir", absPath(cfg.DataDir), "openrc", filepath.Join(absPath(cfg.DataDir), "openrc"))
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down")
	// Stop accepting, answer long polls, let requests in flight finish
	// within shutdown_timeout (then cut them), and only then stop the
	// background loops those requests may rely on.
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
	stop() // ends the background loops
	wg.Wait()
	log.Info("stopped")
	return serveErr
}

func hasArea(areas []Area, name string) bool {
	for _, a := range areas {
		if a.Name() == name {
			return true
		}
	}
	return false
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
