package compose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options say what Build builds.
type Options struct {
	Config *Config
	Areas  []Area
	// URLs are the public base URLs of the areas by name, as clients
	// reach them (they go into the catalog): http://127.0.0.1:9292, or
	// http://host/image when one server serves every area under a path
	// prefix. Without one, an area's URL is its port on Config.Bind
	// (then Config.Ports must have it); with one, it needs no port.
	URLs map[string]string
	// Log receives the logs (default: slog.Default()).
	Log *slog.Logger
	// Registry collects the metrics (default: a new registry with the
	// Go and process collectors).
	Registry *prometheus.Registry

	locked bool // the caller holds the data directory lock
}

// Stack is a set of areas built on one store, one watch feed and one
// metrics registry, with their controllers running: serve its handlers
// on listeners of your own, or let Daemon do it.
type Stack struct {
	cfg      *Config
	areas    []Area // in build order
	db       *sqlstore.DB
	feed     *watch.Log
	reg      *prometheus.Registry
	log      *slog.Logger
	lock     *dataLock
	handlers map[string]http.Handler
	metrics  map[string]*httpapi.Metrics
	ctl      controllers

	mu         sync.Mutex
	announced  map[string]string
	provided   map[string]any
	adminGuard func(http.Handler) http.Handler
	urls       map[string]string
}

// Build validates the configuration (an area given a URL needs no port),
// locks the data directory, opens the
// store and applies every area's migrations, then builds the areas in
// the order their needs ask for, starting their controllers. The
// controllers run until ctx ends or Close is called. On error nothing is
// left running.
func Build(ctx context.Context, o Options) (s *Stack, err error) {
	cfg := o.Config
	if cfg == nil {
		return nil, errors.New("compose: no Config")
	}
	var listeners []string // areas whose URL is made from their port
	for _, a := range o.Areas {
		if o.URLs[a.Name()] == "" {
			listeners = append(listeners, Key(a.Name()))
		}
	}
	if err := validate(cfg, o.Areas, listeners); err != nil {
		return nil, err
	}
	areas, err := Order(o.Areas)
	if err != nil {
		return nil, err
	}
	s = &Stack{cfg: cfg, areas: areas, log: o.Log, reg: o.Registry,
		handlers: map[string]http.Handler{}, metrics: map[string]*httpapi.Metrics{},
		announced: map[string]string{}, provided: map[string]any{}, urls: o.URLs}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if !o.locked {
		if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	s.ctl.ctx, s.ctl.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if err = s.openStore(); err != nil {
		return s, err
	}
	s.log.Info("store ready", "database", sqlstore.Redact(cfg.DSN()), "engine", s.db.Dialect().String())
	s.goCtl(s.log, "watch compaction", func(ctx context.Context) error {
		s.feed.Run(ctx, watch.Retention{MaxAge: cfg.Watch.Retention.D(), MaxChanges: cfg.Watch.MaxChanges}, cfg.Watch.CompactInterval.D(), s.log)
		return nil
	})
	for _, a := range areas {
		if err = s.build(a, o.URLs[a.Name()]); err != nil {
			return s, err
		}
	}
	m, err := httpapi.NewMetrics(s.reg, "admin")
	if err != nil {
		return s, err
	}
	s.metrics["admin"] = m
	s.handlers["admin"] = httpapi.Service(adminHandler(s.db, s.feed, s.reg, s.Names(), s.adminGuard),
		httpapi.ServiceOptions{Style: httpapi.Plain, Logger: s.log.With("service", "admin"), Metrics: m})
	return s, nil
}

func (s *Stack) openStore() error {
	dbLatency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gostack_db_query_duration_seconds",
		Help:    "Latency of store statements by verb.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"verb"})
	if err := s.reg.Register(dbLatency); err != nil {
		// A registry the embedder keeps across stacks already has it.
		var are prometheus.AlreadyRegisteredError
		existing, ok := dbLatency, errors.As(err, &are)
		if ok {
			existing, ok = are.ExistingCollector.(*prometheus.HistogramVec)
		}
		if !ok {
			return fmt.Errorf("compose: register metrics: %w", err)
		}
		dbLatency = existing
	}
	db, err := sqlstore.Open(s.ctl.ctx, s.cfg.DSN(), sqlstore.WithObserver(func(verb string, d time.Duration, _ error) {
		dbLatency.WithLabelValues(verb).Observe(d.Seconds())
	}))
	if err != nil {
		return err
	}
	s.db = db
	if err := db.Migrate(s.ctl.ctx, migrations(s.areas)...); err != nil {
		return err
	}
	wm, err := watchprom.New(s.reg)
	if err != nil {
		return err
	}
	s.feed = watch.New(db, watch.WithObserver(wm))
	return nil
}

func migrations(areas []Area) []sqlstore.Migrations {
	sets := []sqlstore.Migrations{watch.Migrations()}
	for _, a := range areas {
		sets = append(sets, a.Migrations()...)
	}
	return sets
}

// build builds one area and wraps its API with request ids, access logs,
// metrics and /healthcheck.
func (s *Stack) build(a Area, url string) error {
	name := a.Name()
	m, err := httpapi.NewMetrics(s.reg, name)
	if err != nil {
		return err
	}
	if url == "" {
		url = s.cfg.Scheme() + "://" + PublicAddr(net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Ports[Key(name)])))
	}
	log := s.log.With("service", name)
	env := &Env{Config: s.cfg, DB: s.db, Watch: s.feed, Log: log, Registry: s.reg, Metrics: m,
		URL: strings.TrimSuffix(url, "/"), s: s}
	h, err := a.Build(s.ctl.ctx, env)
	if err != nil {
		return fmt.Errorf("compose: area %s: %w", name, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("GET /healthcheck", healthHandler(s.db))
	s.handlers[name] = httpapi.Service(mux, httpapi.ServiceOptions{Logger: log, Metrics: m})
	s.metrics[name] = m
	return nil
}

// goCtl runs a controller in the stack's wait group.
func (s *Stack) goCtl(log *slog.Logger, name string, fn func(ctx context.Context) error) {
	ctx := s.ctl.ctx
	s.ctl.wg.Go(func() {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Error("controller stopped", "controller", name, "err", err)
		}
	})
}

// Handler is the API of the area called name, or the admin port's
// handler for "admin"; nil for a name the stack does not have.
func (s *Stack) Handler(name string) http.Handler { return s.handlers[name] }

// Names are the stack's areas in the order they were built.
func (s *Stack) Names() []string {
	out := make([]string, len(s.areas))
	for i, a := range s.areas {
		out[i] = a.Name()
	}
	return out
}

// Announced are the listeners areas opened themselves, by name.
func (s *Stack) Announced() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.announced))
	for k, v := range s.announced {
		out[k] = v
	}
	return out
}

// DB is the stack's store.
func (s *Stack) DB() *sqlstore.DB { return s.db }

// Watch is the stack's watch feed.
func (s *Stack) Watch() *watch.Log { return s.feed }

// Registry is the stack's metrics registry.
func (s *Stack) Registry() *prometheus.Registry { return s.reg }

// Close stops the controllers, waits for them, closes the store and
// releases the data directory. Stop serving the handlers first.
func (s *Stack) Close() error {
	if s.ctl.cancel != nil {
		s.ctl.cancel()
	}
	s.ctl.wg.Wait()
	var err error
	if s.db != nil {
		err = s.db.Close()
	}
	if s.lock != nil {
		s.lock.release()
		s.lock = nil
	}
	return err
}

// Order sorts areas so that each comes after the areas it needs, keeping
// the given order otherwise. A needed area that is missing, a name given
// twice or a cycle is an error.
func Order(areas []Area) ([]Area, error) {
	byName := map[string]Area{}
	for _, a := range areas {
		name := a.Name()
		if name == "" || name == "admin" || byName[name] != nil {
			return nil, fmt.Errorf("compose: area %q: empty, reserved or duplicate name", name)
		}
		byName[name] = a
	}
	var out []Area
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(a Area, path []string) error
	visit = func(a Area, path []string) error {
		name := a.Name()
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("compose: areas need each other: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = 1
		if n, ok := a.(Needer); ok {
			for _, need := range n.Needs() {
				b, ok := byName[need]
				if !ok {
					return fmt.Errorf("compose: area %s needs the %s area, which is not in this daemon", name, need)
				}
				if err := visit(b, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		out = append(out, a)
		return nil
	}
	for _, a := range areas {
		if err := visit(a, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ConfigRoot is the whole configuration of a daemon serving areas, for
// kit/config's Load, Describe, WriteReference and Dump: the keys of cfg
// at the top level, and each Configurable area's section under its key.
// Loading writes into cfg and into the sections themselves. Pass
// config.Check(func() error { return Validate(cfg, areas) }) to Load.
func ConfigRoot(cfg *Config, areas []Area) (any, error) {
	fields := []reflect.StructField{{Name: "Core", Type: reflect.TypeOf(cfg), Tag: `yaml:",inline"`}}
	values := []reflect.Value{reflect.ValueOf(cfg)}
	for i, a := range areas {
		c, ok := a.(Configurable)
		if !ok {
			continue
		}
		sec := reflect.ValueOf(c.Section())
		if sec.Kind() != reflect.Pointer || sec.IsNil() || sec.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("compose: area %s: Section must return a non-nil pointer to a struct, not %s", a.Name(), sec.Type())
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Area%d", i), Type: sec.Type(),
			Tag: reflect.StructTag(fmt.Sprintf(`yaml:%q`, Key(a.Name())))})
		values = append(values, sec)
	}
	root := reflect.New(reflect.StructOf(fields))
	for i, v := range values {
		root.Elem().Field(i).Set(v)
	}
	return root.Interface(), nil
}
