package compose

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/prometheus/client_golang/prometheus"
)

// Area is one OpenStack service as a daemon serves it: its schema, and
// how its API and its controllers are built from the shared runtime.
type Area interface {
	// Name is the service name, also the name of its listener and the
	// key of its port and config section ("-" written "_" there):
	// "identity", "image", "dns", "load-balancer", ...
	Name() string
	// Migrations are the area's schema, applied at start.
	Migrations() []sqlstore.Migrations
	// Build makes the area's API and starts its controllers with
	// env.Go. It runs once, after the areas it Needs.
	Build(ctx context.Context, env *Env) (http.Handler, error)
}

// Configurable is an Area with a config section: Section returns a
// pointer to the area's config struct, holding its defaults. The section
// is read with kit/config under the area's key; if the struct has a
// Validate method (config.Validator), it runs with the daemon's, its
// *config.FieldError keys relative to the section.
type Configurable interface {
	Section() any
}

// Needer is an Area that needs others built before it, by name; a
// needed area missing from the daemon is an error at start.
type Needer interface {
	Needs() []string
}

// Porter is an Area that names its default port; areas without one get
// the OpenStack port of their name (OpenStackPorts). A port is needed
// only where the area is listened for: a Daemon, or a Stack without the
// area's URL in Options.URLs.
type Porter interface {
	DefaultPort() int
}

// Key is the config key of an area's section and port: its name with
// "-" written "_".
func Key(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Env is what the daemon shares with an area while it builds.
type Env struct {
	Config   *Config // the daemon's own settings (data_dir, region, ...)
	DB       *sqlstore.DB
	Watch    *watch.Log
	Log      *slog.Logger // carries service=<name>
	Registry prometheus.Registerer
	// Metrics is the HTTP metrics collector of the area's service label;
	// the daemon already wraps the handler with it.
	Metrics *httpapi.Metrics
	// URL is the area's public base URL, for the catalog: like
	// http://127.0.0.1:9292, or http://host/image behind a path prefix.
	// No trailing slash.
	URL string

	s *Stack
}

// Go runs a controller: fn runs until ctx (the stack's) ends, and the
// stack waits for it when it closes, so a restart finds its ports and
// files released. An error other than the end of ctx is logged.
func (e *Env) Go(name string, fn func(ctx context.Context) error) { e.s.goCtl(e.Log, name, fn) }

// Announce adds a listener the area opened itself (the DNS server's UDP
// and TCP port) to the addresses Stack.Announced reports.
func (e *Env) Announce(name, addr string) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.announced[name] = addr
}

// Provide offers v to the areas built after this one under key, by
// convention "<area>.<what>" ("identity.validator"). The providing area
// exports a typed accessor; others call it rather than Lookup.
func (e *Env) Provide(key string, v any) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.provided[key] = v
}

// Lookup returns what an area built earlier provided under key.
func (e *Env) Lookup(key string) (any, bool) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	v, ok := e.s.provided[key]
	return v, ok
}

// Provided is what an area built earlier provided under key, as a T: a
// 503 (fault.Unavailable) when no area provides it (the providing area
// is not in the stack), an error when it holds something else.
func Provided[T any](e *Env, key string) (T, error) {
	var zero T
	v, ok := e.Lookup(key)
	if !ok {
		return zero, fault.New(fault.Unavailable, "no area provides %s", key)
	}
	f, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("compose: %s holds a %T, not a %T", key, v, zero)
	}
	return f, nil
}

// URLOf is the base URL of another listener of the stack, such as
// "admin" (the watch feed) or another area, when the stack was given it
// (Daemon always gives every listener's); "" when not. An area that runs
// a host agent in-process hands it these, so the agent reaches the
// controller over the network as it would from another host.
func (e *Env) URLOf(name string) string {
	if u := e.s.urls[name]; u != "" {
		return strings.TrimSuffix(u, "/")
	}
	if port := e.s.cfg.Ports[Key(name)]; port > 0 && e.s.urls[name] == "" && name != "" {
		return e.s.cfg.Scheme() + "://" + PublicAddr(net.JoinHostPort(e.s.cfg.Bind, strconv.Itoa(port)))
	}
	return ""
}

// ProtectAdmin puts wrap in front of the admin port's watch feed, which
// shows every change of every project: the identity area requires a
// token with the admin or service role there. /healthcheck and /metrics
// stay open for probes and scrapers.
func (e *Env) ProtectAdmin(wrap func(http.Handler) http.Handler) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.adminGuard = wrap
}

// controllers is the set of goroutines a stack waits for.
type controllers struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Find returns the first of areas of type T, like the *area.Area of
// identity/area, to reach its config or its commands.
func Find[T Area](areas []Area) (T, bool) {
	for _, a := range areas {
		if t, ok := a.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}
