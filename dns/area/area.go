package area

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/dns/publish"
	dnsserver "github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

// Area is the Designate v2 service and, unless dns.server is false, the
// authoritative DNS server that publishes its zones (the same server
// ServeDNS runs as a daemon of its own).
type Area struct {
	Config Config
}

// Config holds Designate's settings and the authoritative server's: the
// "dns" section.
type Config struct {
	Server         bool            `yaml:"server" help:"run the authoritative DNS server inside the all-in-one daemon; false when 'gostack dns-server' serves the zones instead"`
	Listen         string          `yaml:"listen" help:"the DNS server's UDP and TCP address (host:port)"`
	Nameservers    []string        `yaml:"nameservers" help:"the default pool's nameserver hostnames (fully qualified, first is the SOA MNAME): every zone's apex NS records"`
	AlsoNotify     []Target        `yaml:"also_notify" help:"secondaries sent a NOTIFY on every serial change (the default pool's also_notifies), each {addr: IP[:port], key: TSIG key name (optional)}"`
	AllowTransfer  []Transfer      `yaml:"allow_transfer" help:"who may transfer zones (AXFR, IXFR) over TCP, each {cidr: network (empty: any), key: TSIG key the request must be signed with (optional)}; empty: nobody"`
	TSIGKeys       map[string]Key  `yaml:"tsig_keys" help:"TSIG keys by name, each {algorithm: hmac-sha256 (default) or hmac-sha512/384/224/sha1, secret: base64}; the DNS API's TSIG keys are added (and followed: no restart); allow_transfer and also_notify name keys of either kind"`
	PolicyFile     string          `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Designate's default rules"`
	ReservedZones  []string        `yaml:"reserved_zones" help:"zone names only admins (use_blacklisted_zone) may create, besides the public suffixes: each covers itself and the names above and below it; the nameservers are always reserved; a member gets 400 invalid_zone_name"`
	TCPIdleTimeout config.Duration `yaml:"tcp_idle_timeout" help:"how long a DNS-over-TCP connection may go without a whole query arriving, or without the client taking an answer message, before it is closed"`
	MaxTCPConns    int             `yaml:"max_tcp_conns" help:"DNS-over-TCP connections served at once; beyond it new ones are closed at once"`
	// HeartbeatInterval is Designate's [heartbeat_emitter] heartbeat_interval.
	HeartbeatInterval config.Duration `yaml:"heartbeat_interval" help:"how often the DNS services (api, publisher, dns-server) report their status (GET /v2/service_statuses); one silent for three intervals reads DOWN"`
}

// Target is a secondary to NOTIFY.
type Target struct {
	Addr string `yaml:"addr" help:"IP address and port (port 53 if left out)"`
	Key  string `yaml:"key" help:"name of a TSIG key to sign the NOTIFY with (optional)"`
}

// Transfer allows zone transfers to a network, optionally only with a
// TSIG key.
type Transfer struct {
	CIDR string `yaml:"cidr" help:"client network, like 192.0.2.0/24; empty matches any address"`
	Key  string `yaml:"key" help:"name of the TSIG key the request must be signed with (optional)"`
}

// Key is a TSIG secret.
type Key struct {
	Algorithm string `yaml:"algorithm" help:"hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1"`
	Secret    string `yaml:"secret" secret:"true" help:"the shared secret, base64"`
}

// Validate reports the first bad setting, its key relative to the
// section.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: key, Problem: fmt.Sprintf(format, args...)}
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || net.ParseIP(host) == nil {
		return bad("listen", "%q: want an IP address and a port, like 127.0.0.1:5354", c.Listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("listen", "%q: %s is not a port", c.Listen, port)
	}
	if len(c.Nameservers) == 0 {
		return bad("nameservers", "name at least one nameserver (zones need NS records)")
	}
	for _, ns := range c.Nameservers {
		if _, ok := mdns.IsDomainName(ns); !ok || !mdns.IsFqdn(ns) || ns == "." {
			return bad("nameservers", "%q is not a fully qualified hostname (it ends with a dot)", ns)
		}
	}
	if err := dns.ReservedNames(c.ReservedZones).Validate(); err != nil {
		return bad("reserved_zones", "%v", err)
	}
	if c.TCPIdleTimeout <= 0 {
		return bad("tcp_idle_timeout", "must be positive")
	}
	if c.MaxTCPConns < 1 {
		return bad("max_tcp_conns", "must be at least 1")
	}
	if c.HeartbeatInterval <= 0 {
		return bad("heartbeat_interval", "must be positive")
	}
	for name, k := range c.TSIGKeys {
		if _, ok := mdns.IsDomainName(name); !ok || name == "" {
			return bad("tsig_keys", "%q is not a valid key name", name)
		}
		switch strings.TrimSuffix(strings.ToLower(k.Algorithm), ".") {
		case "", "hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1":
		default:
			return bad("tsig_keys."+name+".algorithm", "%q: want hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1", k.Algorithm)
		}
		if b, err := base64.StdEncoding.DecodeString(k.Secret); err != nil || len(b) == 0 {
			return bad("tsig_keys."+name+".secret", "must be non-empty base64")
		}
	}
	// A key named here may also be one the DNS API creates later, so
	// only its syntax is checked; the server
	// logs the names it does not know at start.
	keyName := func(key string) bool {
		_, ok := mdns.IsDomainName(key)
		return key == "" || ok
	}
	for _, t := range c.AlsoNotify {
		if _, err := dns.ParseNotifyTarget(t.Addr); err != nil {
			return bad("also_notify", "%q: want an IP address with an optional port", t.Addr)
		}
		if !keyName(t.Key) {
			return bad("also_notify", "%q is not a valid key name", t.Key)
		}
	}
	for _, a := range c.AllowTransfer {
		if a.CIDR != "" {
			if _, err := netip.ParsePrefix(a.CIDR); err != nil {
				return bad("allow_transfer", "%q is not a CIDR", a.CIDR)
			}
		}
		if !keyName(a.Key) {
			return bad("allow_transfer", "%q is not a valid key name", a.Key)
		}
	}
	return nil
}

// New returns the DNS area with its defaults: the server on
// 127.0.0.1:5354, one nameserver ns1.gostack.internal.
func New() *Area {
	return &Area{Config: Config{Server: true, Listen: "127.0.0.1:5354", Nameservers: []string{"ns1.gostack.internal."},
		TCPIdleTimeout: config.Duration(dnsserver.DefaultTCPIdleTimeout), MaxTCPConns: dnsserver.DefaultMaxTCPConns,
		HeartbeatInterval: config.Duration(dns.DefaultHeartbeatInterval)}}
}

var (
	_ compose.Area         = (*Area)(nil)
	_ compose.Configurable = (*Area)(nil)
	_ compose.Needer       = (*Area)(nil)
)

// Name is "dns".
func (*Area) Name() string { return "dns" }

// Section is the "dns" config section.
func (a *Area) Section() any { return &a.Config }

// Needs identity: its token validator and its catalog.
func (*Area) Needs() []string { return []string{"identity"} }

// Migrations is the DNS schema.
func (*Area) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{dns.Migrations()}
}

// Build sets the default pool from the configuration, registers the
// catalog endpoint, starts the DNS server if configured (announced as
// "dns-server"), and returns the Designate API behind the token
// middleware. The API, and the publisher and the DNS server where they
// run, send heartbeats every dns.heartbeat_interval (service names "api",
// "publisher", "dns-server": GET /v2/service_statuses).
func (a *Area) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	cfg := &a.Config
	v, err := area.Validator(env)
	if err != nil {
		return nil, err
	}
	store := dns.NewStore(env.DB, env.Watch)
	if err := ensurePool(ctx, store, cfg); err != nil {
		return nil, err
	}
	if err := area.Register(ctx, env, "dns", "designate", env.URL+"/"); err != nil {
		return nil, err
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if cfg.PolicyFile != "" {
		if err := enf.LoadFile(cfg.PolicyFile); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	if cfg.Server {
		addr, err := startServer(ctx, cfg, store, env.Watch, env.Log, env.Go)
		if err != nil {
			return nil, err
		}
		env.Announce("dns-server", addr)
	}
	fips := floatingIPs(env)
	ptrs := &dns.PTRFollower{Store: store, Feed: env.Watch, FloatingIPs: fips, Log: env.Log}
	env.Go("floating IP PTR follower", ptrs.Run)
	h := (&api.API{Store: store, Policy: enf, Reserved: reservedZones(cfg), Region: env.Config.Region,
		FloatingIPs: fips, PinnedPool: dns.DefaultPoolID}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Designate, Optional: true}
	counted := &requestCounter{next: mw.Wrap(h)}
	env.Go("dns api heartbeat", (&dns.Heartbeater{Store: store, Service: "api", Interval: cfg.HeartbeatInterval.D(),
		Check: counted.check, Log: env.Log}).Run)
	return counted, nil
}

// requestCounter counts the API's answers for its heartbeat: the
// requests served and those answered with a server error (5xx).
type requestCounter struct {
	next             http.Handler
	requests, failed atomic.Int64
	reported         atomic.Int64 // failed at the last heartbeat
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	c.requests.Add(1)
	if sw.code >= 500 {
		c.failed.Add(1)
	}
}

// check is the API's status: WARNING when a request was answered with a
// server error since the last heartbeat, else UP; its figures since the
// process started.
func (c *requestCounter) check(context.Context) (string, map[string]int64) {
	failed := c.failed.Load()
	status := dns.ServiceUp
	if failed != c.reported.Swap(failed) {
		status = dns.ServiceWarning
	}
	return status, map[string]int64{"requests": c.requests.Load(), "server_errors": failed}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reservedZones are the zone names that, besides the public suffixes,
// only callers passing use_blacklisted_zone (admins) may create:
// dns.reserved_zones and the default pool's nameserver hostnames, so that
// no project's zone answers for the cloud's own nameservers (a reserved
// name covers the names above it too: "gostack.internal." holds
// ns1.gostack.internal.).
func reservedZones(c *Config) dns.ReservedNames {
	return dns.ReservedNames(append(slices.Clone(c.Nameservers), c.ReservedZones...))
}

// ensurePool gives the default pool the configured nameservers and
// NOTIFY targets.
func ensurePool(ctx context.Context, store *dns.Store, c *Config) error {
	p, err := store.EnsureDefaultPool(ctx, c.Nameservers)
	if err != nil {
		return fmt.Errorf("dns: default pool: %w", err)
	}
	want := make([]string, len(c.AlsoNotify))
	for i, t := range c.AlsoNotify {
		ap, _ := dns.ParseNotifyTarget(t.Addr) // validated with the config
		want[i] = ap.String()
	}
	if slices.Equal(p.AlsoNotifies, want) {
		return nil
	}
	p.AlsoNotifies = want
	if _, err := store.UpdatePool(ctx, p); err != nil {
		return fmt.Errorf("dns: default pool: %w", err)
	}
	return nil
}

// startServer opens the DNS server's UDP and TCP ports, serves the
// store's zones through a publish.Publisher and returns once the first
// snapshot is served, with the address both ports are bound to. The
// server, its key follower and the publisher are controllers (goCtl)
// that run until ctx ends.
func startServer(ctx context.Context, c *Config, store *dns.Store, feed *watch.Log, log *slog.Logger, goCtl func(string, func(context.Context) error)) (string, error) {
	head, _, err := feed.Head(ctx)
	if err != nil {
		return "", err
	}
	tsig := &publish.Keys{Store: store, Feed: feed, Log: log}
	for name, k := range c.TSIGKeys {
		tsig.Static = append(tsig.Static, dnsserver.Key{Name: name, Algorithm: k.Algorithm, Secret: k.Secret})
	}
	keys, err := tsig.Load(ctx)
	if err != nil {
		return "", err
	}
	pc, l, err := listenDNS(c.Listen)
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	known := map[string]bool{}
	for _, k := range keys {
		known[mdns.CanonicalName(k.Name)] = true
	}
	for _, name := range c.keyNames() {
		if !known[mdns.CanonicalName(name)] {
			log.Warn("dns server: no TSIG key of this name yet (dns.tsig_keys or a TSIG key of the API): requests and NOTIFYs needing it fail until it exists", "key", name)
		}
	}
	var transfer []dnsserver.ACL
	for _, a := range c.AllowTransfer {
		acl := dnsserver.ACL{Key: a.Key}
		if a.CIDR != "" {
			acl.Prefix = netip.MustParsePrefix(a.CIDR).Masked() // validated with the config
		}
		transfer = append(transfer, acl)
	}
	// The configuration's also-notify addresses are the default pool's
	// (ensurePool), signed with their keys; every pool's also-notifies
	// and targets, and who may transfer its zones, follow the pools as
	// the publisher reads them.
	notifyKeys := map[string]string{}
	for _, t := range c.AlsoNotify {
		if t.Key != "" {
			ap, _ := dns.ParseNotifyTarget(t.Addr) // validated with the config
			notifyKeys[ap.String()] = t.Key
		}
	}
	dyn := &dnsserver.Dynamic{}
	pub := &publish.Publisher{Store: store, Feed: feed, Target: dyn, Servers: []string{pollAddr(addr)}, NotifyKeys: notifyKeys, Log: log}
	// SECONDARY zones are transferred in from their masters (their
	// NOTIFYs reach it through the server) and then served like any zone.
	sec := &publish.Secondaries{Store: store, Feed: feed, Log: log}
	srv := dnsserver.New(dyn, dnsserver.Config{
		Keys: keys, Transfer: transfer,
		Notified:       sec.Notified,
		NotifyTargets:  pub.NotifyTargets,
		ZoneTransfer:   pub.ZoneTransfer,
		TCPIdleTimeout: c.TCPIdleTimeout.D(),
		MaxTCPConns:    c.MaxTCPConns,
		Logf:           func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) },
	})
	tsig.Server = srv
	// The server's loops end with ctx, or at once if the first snapshot
	// cannot be served.
	sctx, cancel := context.WithCancel(ctx)
	goCtl("dns server", func(context.Context) error { return srv.Serve(sctx, pc, l) })
	goCtl("dns tsig keys", func(context.Context) error { return tsig.Run(sctx, head) })
	goCtl("dns secondary zones", func(context.Context) error { return sec.Run(sctx, head) })
	ready, failed := make(chan struct{}), make(chan error, 1)
	goCtl("dns publisher", func(context.Context) error {
		err := pub.Run(sctx, func() { close(ready) })
		if err != nil {
			failed <- err
		}
		return err
	})
	select {
	case <-ready:
		context.AfterFunc(ctx, cancel)
		probe := pollAddr(addr)
		goCtl("dns publisher heartbeat", (&dns.Heartbeater{Store: store, Service: "publisher", Interval: c.HeartbeatInterval.D(), Log: log,
			Check: func(context.Context) (string, map[string]int64) { return publisherStatus(pub.Health()) }}).Run)
		goCtl("dns server heartbeat", (&dns.Heartbeater{Store: store, Service: "dns-server", Interval: c.HeartbeatInterval.D(), Log: log,
			Check: func(ctx context.Context) (string, map[string]int64) { return serverStatus(ctx, probe, dyn) }}).Run)
		log.Info("dns server listening", "addr", addr, "udp", true, "tcp", true, "zones", len(dyn.Zones().Names()),
			"tcp_idle_timeout", c.TCPIdleTimeout.D(), "max_tcp_conns", c.MaxTCPConns)
		return addr, nil
	case err := <-failed:
		cancel()
		return "", fmt.Errorf("dns server: %w", err)
	case <-ctx.Done():
		cancel()
		return "", ctx.Err()
	}
}

// publisherStatus is the publisher's heartbeat: WARNING while one of its
// steps (following the feed, rebuilding the index, bumping serials)
// failed the last time it ran.
func publisherStatus(h publish.Health) (string, map[string]int64) {
	status := dns.ServiceUp
	if h.Err != nil {
		status = dns.ServiceWarning
	}
	return status, map[string]int64{"zones": int64(h.Zones), "polling": int64(h.Polling)}
}

// serverStatus is the DNS server's heartbeat, from asking it: UP when it
// answers a query over UDP and over TCP, WARNING when only one does, DOWN
// when neither does (the process runs, the server does not answer).
func serverStatus(ctx context.Context, addr string, zones *dnsserver.Dynamic) (string, map[string]int64) {
	var answered int64
	for _, network := range []string{"udp", "tcp"} {
		m := new(mdns.Msg)
		m.SetQuestion(".", mdns.TypeSOA) // never served: REFUSED, an answer all the same
		c := &mdns.Client{Net: network, Timeout: 2 * time.Second}
		if _, _, err := c.ExchangeContext(ctx, m, addr); err == nil {
			answered++
		}
	}
	n := int64(0)
	if z := zones.Zones(); z != nil {
		n = int64(len(z.Names()))
	}
	status := [...]string{dns.ServiceDown, dns.ServiceWarning, dns.ServiceUp}[answered]
	return status, map[string]int64{"zones": n}
}

// listenDNS opens UDP and TCP on the same address. With port 0 it picks a
// port free for both.
func listenDNS(addr string) (net.PacketConn, net.Listener, error) {
	host, port, _ := net.SplitHostPort(addr) // validated with the config
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns server: listen udp %s: %w", addr, errors.Unwrap(err))
		}
		bound := addr
		if port == "0" {
			bound = net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
		}
		l, err := net.Listen("tcp", bound)
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, fmt.Errorf("dns server: listen tcp %s: %w", bound, errors.Unwrap(err))
		}
	}
}

// pollAddr is where the publisher asks for serials: the listen address,
// loopback when it is unspecified.
func pollAddr(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// ServeDNS is the authoritative DNS server as a daemon of its own (`gostack
// dns-server`). It opens the configured store (no data directory lock: it
// only reads zones, bumps serials and marks zones ACTIVE, all safe beside
// controllers), follows its watch feed and serves until ctx ends. Run the
// controllers with dns.server=false so that only this process answers on
// dns.listen. ready, if set, gets the address once zones are served.
func (a *Area) ServeDNS(ctx context.Context, core *compose.Config, log *slog.Logger, ready func(addr string)) error {
	if err := compose.Validate(core, []compose.Area{a}); err != nil {
		return err
	}
	log = log.With("service", "dns-server")
	db, feed, err := compose.OpenStore(ctx, core, dns.Migrations())
	if err != nil {
		return err
	}
	defer db.Close()
	// On every return: end the loops, then wait for them, then close
	// the store (defers run last first).
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	goCtl := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Error("controller stopped", "controller", name, "err", err)
			}
		})
	}
	// Wake-ups from other controllers; no compaction.
	goCtl("watch", func(ctx context.Context) error { feed.Run(ctx, watch.Retention{}, 0, log); return nil })
	addr, err := startServer(ctx, &a.Config, dns.NewStore(db, feed), feed, log, goCtl)
	if err != nil {
		return err
	}
	log.Info("store ready", "database", sqlstore.Redact(core.DSN()))
	if ready != nil {
		ready(addr)
	}
	<-ctx.Done()
	log.Info("shutting down")
	cancel()
	wg.Wait()
	log.Info("stopped")
	return nil
}

// keyNames are the key names allow_transfer and also_notify use.
func (c *Config) keyNames() []string {
	var out []string
	for _, t := range c.AlsoNotify {
		if t.Key != "" {
			out = append(out, t.Key)
		}
	}
	for _, a := range c.AllowTransfer {
		if a.Key != "" {
			out = append(out, a.Key)
		}
	}
	return out
}

// FloatingIPsKey is where an area that has floating IPs (the network
// area) provides them for reverse DNS: a
// func(ctx context.Context, project string) (map[string]netip.Addr, error)
// from floating IP id to address. Only standard types cross, so neither
// area imports the other.
const FloatingIPsKey = "network.floatingips"

// floatingIPs reads the floating IPs provided under FloatingIPsKey at
// each request (the network area may be built after this one); none when
// no area provides them.
func floatingIPs(env *compose.Env) func(ctx context.Context, project string) ([]dns.FloatingIP, error) {
	return func(ctx context.Context, project string) ([]dns.FloatingIP, error) {
		v, ok := env.Lookup(FloatingIPsKey)
		if !ok {
			return nil, dns.ErrNoFloatingIPs
		}
		list, ok := v.(func(context.Context, string) (map[string]netip.Addr, error))
		if !ok {
			return nil, fmt.Errorf("dns: %s holds a %T", FloatingIPsKey, v)
		}
		m, err := list(ctx, project)
		if err != nil {
			return nil, err
		}
		out := make([]dns.FloatingIP, 0, len(m))
		for id, addr := range m {
			out = append(out, dns.FloatingIP{ID: id, Project: project, Address: addr})
		}
		slices.SortFunc(out, func(a, b dns.FloatingIP) int { return strings.Compare(a.ID, b.ID) })
		return out, nil
	}
}
