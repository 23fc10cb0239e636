package allinone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/dns/publish"
	dnsserver "github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

// DNSArea is the Designate v2 service and, unless dns.server is false,
// the authoritative DNS server that publishes its zones (the same server
// `gostack dns-server` runs as a daemon of its own).
type DNSArea struct{}

var _ Area = DNSArea{}

// Name is "dns".
func (DNSArea) Name() string { return "dns" }

// Migrations is the DNS schema.
func (DNSArea) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{dns.Migrations()}
}

// Handler sets the default pool from the configuration, registers the
// catalog endpoint, starts the DNS server if configured, and returns the
// Designate API behind the token middleware.
func (DNSArea) Handler(ctx context.Context, env Env) (http.Handler, error) {
	cfg := env.Config
	var v middleware.Validator
	if env.Validator != nil {
		v = env.Validator()
	}
	if v == nil {
		return nil, errors.New("dns: needs the identity area (list it before dns)")
	}
	store := dns.NewStore(env.DB, env.Watch)
	if err := ensurePool(ctx, store, &cfg.DNS); err != nil {
		return nil, err
	}
	url := env.publicURL() + "/"
	ids := identity.NewStore(env.DB, env.Watch)
	if err := identity.EnsureService(ctx, ids, cfg.Region, "dns", "designate",
		map[string]string{"public": url, "internal": url, "admin": url}); err != nil {
		return nil, fmt.Errorf("dns: catalog: %w", err)
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		return nil, fmt.Errorf("dns: policy: %w", err)
	}
	if cfg.DNS.PolicyFile != "" {
		if err := enf.LoadFile(cfg.DNS.PolicyFile); err != nil {
			return nil, fmt.Errorf("dns: policy: %w", err)
		}
	}
	if cfg.DNS.Server {
		goFn := env.Go
		if goFn == nil {
			goFn = func(fn func()) { go fn() }
		}
		addr, err := startDNSServer(ctx, &cfg.DNS, store, env.Watch, env.Log, goFn)
		if err != nil {
			return nil, err
		}
		if env.Announce != nil {
			env.Announce("dns-server", addr)
		}
	}
	h := (&api.API{Store: store, Policy: enf, Reserved: reservedZones(&cfg.DNS)}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Designate, Optional: true}
	return mw.Wrap(h), nil
}

// reservedZones are the zone names that, besides the public suffixes,
// only callers passing use_blacklisted_zone (admins) may create:
// dns.reserved_zones and the default pool's nameserver hostnames, so that
// no project's zone answers for the cloud's own nameservers (a reserved
// name covers the names above it too: "gostack.internal." holds
// ns1.gostack.internal.).
func reservedZones(c *DNSConfig) dns.ReservedNames {
	return dns.ReservedNames(append(slices.Clone(c.Nameservers), c.ReservedZones...))
}

// ensurePool gives the default pool the configured nameservers and
// NOTIFY targets.
func ensurePool(ctx context.Context, store *dns.Store, c *DNSConfig) error {
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

// startDNSServer opens the DNS server's UDP and TCP ports, serves the
// store's zones through a publish.Publisher and returns once the first
// snapshot is served, with the address both ports are bound to. The
// server and the publisher run (in goFn) until ctx ends.
func startDNSServer(ctx context.Context, c *DNSConfig, store *dns.Store, feed *watch.Log, log *slog.Logger, goFn func(func())) (string, error) {
	head, _, err := feed.Head(ctx)
	if err != nil {
		return "", err
	}
	keys, err := dnsKeys(ctx, c, store)
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
			log.Warn("dns server: no TSIG key of this name yet (dns.tsig_keys or a POOL key of the API): requests and NOTIFYs needing it fail until it exists", "key", name)
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
	var targets []dnsserver.Target
	for _, t := range c.AlsoNotify {
		ap, _ := dns.ParseNotifyTarget(t.Addr)
		targets = append(targets, dnsserver.Target{Addr: ap.String(), Key: t.Key})
	}
	dyn := &dnsserver.Dynamic{}
	srv := dnsserver.New(dyn, dnsserver.Config{
		Keys: keys, Transfer: transfer,
		NotifyTargets:  func(string) []dnsserver.Target { return targets },
		TCPIdleTimeout: c.TCPIdleTimeout.D(),
		MaxTCPConns:    c.MaxTCPConns,
		Logf:           func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) },
	})
	ctx, cancel := context.WithCancel(ctx)
	goFn(func() {
		if err := srv.Serve(ctx, pc, l); err != nil {
			log.Error("dns server stopped", "err", err)
		}
	})
	// TSIG keys written through the API take effect without a restart.
	goFn(func() {
		watch.Follow(ctx, feed, watch.Query{Area: "dns", Since: head},
			&keyReloader{cfg: c, store: store, feed: feed, srv: srv, log: log}, watch.FollowOptions{Log: log})
	})
	pub := &publish.Publisher{Store: store, Feed: feed, Target: dyn, Servers: []string{pollAddr(addr)}, Log: log}
	ready, failed := make(chan struct{}), make(chan error, 1)
	goFn(func() {
		if err := pub.Run(ctx, func() { close(ready) }); err != nil {
			failed <- err
		}
	})
	select {
	case <-ready:
		context.AfterFunc(ctx, cancel) // ends with the caller's ctx
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

// dnsKeys are the configured TSIG keys plus the store's POOL keys of the
// default pool (a configured key wins over a stored one of the same name).
func dnsKeys(ctx context.Context, c *DNSConfig, store *dns.Store) ([]dnsserver.Key, error) {
	var keys []dnsserver.Key
	seen := map[string]bool{}
	for name, k := range c.TSIGKeys {
		keys = append(keys, dnsserver.Key{Name: name, Algorithm: k.Algorithm, Secret: k.Secret})
		seen[mdns.CanonicalName(name)] = true
	}
	stored, err := store.ListTSIGKeys(ctx, dns.ScopePool, dns.DefaultPoolID)
	if err != nil {
		return nil, fmt.Errorf("dns: tsig keys: %w", err)
	}
	for _, k := range stored {
		if !seen[mdns.CanonicalName(k.Name)] {
			keys = append(keys, dnsserver.Key{Name: k.Name, Algorithm: k.Algorithm, Secret: k.Secret})
		}
	}
	return keys, nil
}

// keyReloader gives the DNS server the current TSIG keys whenever the
// feed shows a key created, changed or deleted.
type keyReloader struct {
	cfg   *DNSConfig
	store *dns.Store
	feed  *watch.Log
	srv   *dnsserver.Server
	log   *slog.Logger
}

func (k *keyReloader) Apply(ctx context.Context, c watch.Change) error {
	if c.Kind != "tsigkey" {
		return nil
	}
	return k.reload(ctx)
}

func (k *keyReloader) Resync(ctx context.Context) (int64, error) {
	head, _, err := k.feed.Head(ctx)
	if err != nil {
		return 0, err
	}
	return head, k.reload(ctx)
}

func (k *keyReloader) reload(ctx context.Context) error {
	keys, err := dnsKeys(ctx, k.cfg, k.store)
	if err != nil {
		return err
	}
	k.srv.SetKeys(keys)
	k.log.Info("dns server tsig keys loaded", "keys", len(keys))
	return nil
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

// DNSServer is `gostack dns-server`: the authoritative DNS server as a
// daemon of its own. It opens the configured store (no data directory
// lock: it only reads zones, bumps serials and marks zones ACTIVE, all
// safe beside controllers), follows its watch feed and serves until ctx
// ends. Run the controller with dns.server=false so that only this
// process answers on dns.listen.
func DNSServer(ctx context.Context, cfg Config, ready func(addr string)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr).With("service", "dns-server")
	db, err := sqlstore.Open(ctx, cfg.dsn())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		return err
	}
	feed := watch.New(db)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { feed.Run(ctx, watch.Retention{}, 0, log) }) // wake-ups from other controllers; no compaction
	addr, err := startDNSServer(ctx, &cfg.DNS, dns.NewStore(db, feed), feed, log, wg.Go)
	if err != nil {
		return err
	}
	log.Info("store ready", "database", sqlstore.Redact(cfg.dsn()))
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
func (c *DNSConfig) keyNames() []string {
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
