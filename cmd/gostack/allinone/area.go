package allinone

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/prometheus/client_golang/prometheus"
)

// Area is one OpenStack service plugged into the all-in-one daemon.
type Area interface {
	// Name is the service name, also the key of its port: "identity",
	// "compute", "network", "volume", "image", "baremetal",
	// "load-balancer" or "dns".
	Name() string
	// Migrations are the area's schema, applied at start.
	Migrations() []sqlstore.Migrations
	// Handler builds the area's API. ctx lives as long as the daemon;
	// background loops the area starts must end with it.
	Handler(ctx context.Context, env Env) (http.Handler, error)
}

// Env is what the daemon shares with its areas.
type Env struct {
	DB       *sqlstore.DB
	Watch    *watch.Log
	Log      *slog.Logger
	Registry prometheus.Registerer
	Config   *Config
	// Metrics is the HTTP metrics collector of the area's service label;
	// the daemon already wraps the handler with it.
	Metrics *httpapi.Metrics
	// Addr is the address the area's listener is bound to (host:port).
	Addr string
	// SetValidator lets the identity area hand the daemon its token
	// validator, which then protects the admin port's watch feed.
	SetValidator func(middleware.Validator)
	// Validator returns the token validator the identity area set (nil
	// until it has): other areas put identity/middleware in front of
	// their APIs with it.
	Validator func() middleware.Validator
	// Announce adds a listener the area opened itself (the DNS server's
	// UDP and TCP port) to the addresses Daemon.Ready reports.
	Announce func(name, addr string)
	// Go runs fn in a goroutine the daemon waits for when it stops (after
	// ctx has ended): loops that hold ports or files use it, so a restart
	// finds them released.
	Go func(fn func())
}

// DefaultAreas are the areas cmd/gostack serves. Each area is added here
// as it lands.
func DefaultAreas() []Area { return []Area{IdentityArea{}, ImageArea{}, DNSArea{}} }

// publicURL is the URL of the area's listener for the catalog: https when
// TLS is on.
func (e Env) publicURL() string { return e.Config.scheme() + "://" + publicAddr(e.Addr) }
