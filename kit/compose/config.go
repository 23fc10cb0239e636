package compose

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
)

// Config is the daemon's own configuration; each area's settings are in
// its section (Configurable). Zero values are not meaningful: start from
// Defaults.
type Config struct {
	DataDir         string          `yaml:"data_dir" help:"directory for state: database, lock, openrc, keys"`
	Database        string          `yaml:"database" secret:"true" help:"store DSN: sqlite:///path/file.db or postgres://...; empty means sqlite:///<data_dir>/gostack.db"`
	Bind            string          `yaml:"bind" help:"IP address every listener binds to"`
	Region          string          `yaml:"region" help:"region name used in the catalog and openrc"`
	Ports           map[string]int  `yaml:"ports" help:"TCP port of each listener: admin (gostack's own /healthcheck, /metrics, /v1/watch) and one per area, OpenStack's conventional ones by default (identity 5000, image 9292, dns 9001, ...)"`
	TLS             TLSConfig       `yaml:"tls"`
	HTTP            HTTPConfig      `yaml:"http"`
	Log             LogConfig       `yaml:"log"`
	Watch           WatchConfig     `yaml:"watch"`
	ShutdownTimeout config.Duration `yaml:"shutdown_timeout" help:"how long graceful shutdown waits for requests in flight"`
}

// OpenStackPorts are the conventional ports of OpenStack's services, by
// service name, and gostack's admin port. An area whose name is not here
// names its own (Porter).
var OpenStackPorts = map[string]int{
	"admin": 8790, "identity": 5000, "compute": 8774, "network": 9696, "volume": 8776,
	"image": 9292, "placement": 8778, "baremetal": 6385, "load-balancer": 9876, "dns": 9001,
	"metadata": 8775,
}

// TLSConfig turns HTTPS on for every HTTP listener (the APIs and the admin
// port; DNS keeps plain UDP and TCP).
type TLSConfig struct {
	CertFile string `yaml:"cert_file" help:"PEM certificate (chain) every HTTP listener serves; with key_file, turns HTTPS on; reloaded when it changes"`
	KeyFile  string `yaml:"key_file" help:"PEM private key of cert_file; reloaded when it changes"`
	CAFile   string `yaml:"ca_file" help:"PEM CA certificates clients verify the listeners with: written to openrc as OS_CACERT; empty means cert_file (a self-signed certificate)"`
}

// On reports whether the listeners serve HTTPS.
func (t TLSConfig) On() bool { return t.CertFile != "" }

// CA is the file clients trust: ca_file, or cert_file if it is empty.
func (t TLSConfig) CA() string {
	if t.CAFile != "" {
		return t.CAFile
	}
	return t.CertFile
}

// HTTPConfig bounds what one client can hold on each HTTP listener.
type HTTPConfig struct {
	ReadHeaderTimeout config.Duration `yaml:"read_header_timeout" help:"time a client has to send its request line and headers; past it the connection is closed"`
	BodyTimeout       config.Duration `yaml:"body_timeout" help:"longest wait for the next bytes of a request body (uploads last as long as bytes keep coming); past it: 408 and the connection closed"`
	WriteTimeout      config.Duration `yaml:"write_timeout" help:"longest a response write may block on a client that does not read; past it the connection is closed"`
	IdleTimeout       config.Duration `yaml:"idle_timeout" help:"how long a keep-alive connection may wait for its next request"`
	MaxConnections    int             `yaml:"max_connections" help:"connections open at once per listener; beyond it new ones wait in the kernel's accept queue until one closes"`
}

// Limits are c's values for the HTTP kit.
func (c HTTPConfig) Limits() httpapi.Limits {
	return httpapi.Limits{ReadHeaderTimeout: c.ReadHeaderTimeout.D(), BodyTimeout: c.BodyTimeout.D(),
		WriteTimeout: c.WriteTimeout.D(), IdleTimeout: c.IdleTimeout.D(), MaxConns: c.MaxConnections}
}

// Scheme is the URL scheme of the HTTP listeners: http or https.
func (c *Config) Scheme() string {
	if c.TLS.On() {
		return "https"
	}
	return "http"
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string `yaml:"format" help:"text or json"`
	Level  string `yaml:"level" help:"debug, info, warn or error"`
}

// WatchConfig bounds the watch feed.
type WatchConfig struct {
	Retention       config.Duration `yaml:"retention" help:"drop feed entries older than this (0 keeps all)"`
	MaxChanges      int64           `yaml:"max_changes" help:"keep at most this many latest feed entries (0 keeps all)"`
	CompactInterval config.Duration `yaml:"compact_interval" help:"how often to compact the feed"`
}

// Defaults returns the embedded defaults for a daemon serving areas:
// state under ./data, SQLite, every listener on 127.0.0.1, each on its
// OpenStack port.
func Defaults(areas ...Area) Config {
	ports := map[string]int{"admin": OpenStackPorts["admin"]}
	for _, a := range areas {
		port := OpenStackPorts[a.Name()]
		if p, ok := a.(Porter); ok {
			port = p.DefaultPort()
		}
		ports[Key(a.Name())] = port
	}
	return Config{
		DataDir: "./data",
		Bind:    "127.0.0.1",
		Region:  "RegionOne",
		Ports:   ports,
		HTTP: HTTPConfig{
			ReadHeaderTimeout: config.Duration(httpapi.DefaultReadHeaderTimeout), BodyTimeout: config.Duration(httpapi.DefaultBodyTimeout),
			WriteTimeout: config.Duration(httpapi.DefaultWriteTimeout), IdleTimeout: config.Duration(httpapi.DefaultIdleTimeout),
			MaxConnections: httpapi.DefaultMaxConns,
		},
		Log:             LogConfig{Format: "text", Level: "info"},
		Watch:           WatchConfig{Retention: config.Duration(24 * time.Hour), MaxChanges: 1_000_000, CompactInterval: config.Duration(time.Minute)},
		ShutdownTimeout: config.Duration(10 * time.Second),
	}
}

// Validate reports the first bad setting of c and of each area's section
// for a daemon serving areas, naming its key.
func Validate(c *Config, areas []Area) error {
	return validate(c, areas, append([]string{"admin"}, keys(areas)...))
}

func keys(areas []Area) []string {
	out := make([]string, len(areas))
	for i, a := range areas {
		out[i] = Key(a.Name())
	}
	return out
}

// validate is Validate with the listeners that need a port: Build needs
// none for the areas an embedder serves at URLs of its own.
func validate(c *Config, areas []Area, listeners []string) error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: key, Problem: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return bad("data_dir", "must not be empty")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "sqlite:") &&
		!strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return bad("database", "must start with sqlite: or postgres://")
	}
	if net.ParseIP(c.Bind) == nil {
		return bad("bind", "%q is not an IP address", c.Bind)
	}
	if c.Region == "" {
		return bad("region", "must not be empty")
	}
	if err := validatePorts(c.Ports, areas, listeners); err != nil {
		return err
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	for key, d := range map[string]config.Duration{"read_header_timeout": c.HTTP.ReadHeaderTimeout, "body_timeout": c.HTTP.BodyTimeout,
		"write_timeout": c.HTTP.WriteTimeout, "idle_timeout": c.HTTP.IdleTimeout} {
		if d <= 0 {
			return bad("http."+key, "must be positive")
		}
	}
	if c.HTTP.MaxConnections < 1 {
		return bad("http.max_connections", "must be at least 1")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "%q: want text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Watch.Retention < 0 || c.Watch.MaxChanges < 0 {
		return bad("watch", "retention and max_changes must not be negative")
	}
	if c.Watch.CompactInterval <= 0 {
		return bad("watch.compact_interval", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout", "must be positive")
	}
	for _, a := range areas {
		if err := validateSection(a); err != nil {
			return err
		}
	}
	return nil
}

// validatePorts wants a port for each of listeners, each a distinct TCP
// port. Other names are allowed if they are admin, an area's or
// OpenStack services (one config file can serve daemons with different
// areas), else refused as typos.
func validatePorts(ports map[string]int, areas []Area, listeners []string) error {
	names := append([]string{"admin"}, keys(areas)...)
	seen := map[int]string{}
	for _, name := range listeners {
		port, ok := ports[name]
		key := "ports." + name
		if !ok {
			return &config.FieldError{Key: key, Problem: "missing: every listener needs a port"}
		}
		if port < 1 || port > 65535 {
			return &config.FieldError{Key: key, Problem: fmt.Sprintf("%d is not a TCP port (1-65535)", port)}
		}
		if other, dup := seen[port]; dup {
			return &config.FieldError{Key: key, Problem: fmt.Sprintf("port %d is also ports.%s", port, other)}
		}
		seen[port] = name
	}
	for name := range ports {
		if _, known := OpenStackPorts[strings.ReplaceAll(name, "_", "-")]; !known && !slices.Contains(names, name) {
			return &config.FieldError{Key: "ports." + name, Problem: fmt.Sprintf("no such listener: want one of %s", strings.Join(names, ", "))}
		}
	}
	return nil
}

// validateSection runs an area section's Validate, its keys made full.
func validateSection(a Area) error {
	c, ok := a.(Configurable)
	if !ok {
		return nil
	}
	v, ok := c.Section().(config.Validator)
	if !ok {
		return nil
	}
	err := v.Validate()
	if err == nil {
		return nil
	}
	prefix := Key(a.Name())
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		if fe := (*config.FieldError)(nil); errors.As(e, &fe) {
			key := prefix
			if fe.Key != "" {
				key += "." + fe.Key
			}
			e = &config.FieldError{Key: key, Problem: fe.Problem}
		} else {
			e = &config.FieldError{Key: prefix, Problem: e.Error()}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// DSN is the effective store DSN.
func (c *Config) DSN() string {
	if c.Database != "" {
		return c.Database
	}
	return "sqlite://" + absPath(c.DataDir) + "/gostack.db"
}

func (t TLSConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: "tls." + key, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "" && t.CAFile == "":
		return nil
	case t.CertFile == "" || t.KeyFile == "":
		return bad("cert_file", "cert_file and key_file go together")
	}
	if _, err := httpapi.LoadCertFiles(t.CertFile, t.KeyFile); err != nil {
		return bad("cert_file", "%v", errors.Unwrap(err))
	}
	if _, err := httpapi.ClientTLS(t.CA()); err != nil {
		return bad("ca_file", "%v", err)
	}
	return nil
}
