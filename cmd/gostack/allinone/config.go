package allinone

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/dns"
	dnsserver "github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	mdns "github.com/miekg/dns"
)

// Config is the all-in-one daemon's configuration. Zero values are not
// meaningful: start from Defaults().
type Config struct {
	DataDir         string          `yaml:"data_dir" help:"directory for state: database, lock, openrc, keys"`
	Database        string          `yaml:"database" secret:"true" help:"store DSN: sqlite:///path/file.db or postgres://...; empty means sqlite:///<data_dir>/gostack.db"`
	Bind            string          `yaml:"bind" help:"IP address every listener binds to"`
	Region          string          `yaml:"region" help:"region name used in the catalog and openrc"`
	Ports           Ports           `yaml:"ports"`
	TLS             TLSConfig       `yaml:"tls"`
	HTTP            HTTPConfig      `yaml:"http"`
	Log             LogConfig       `yaml:"log"`
	Watch           WatchConfig     `yaml:"watch"`
	Identity        IdentityConfig  `yaml:"identity"`
	Image           ImageConfig     `yaml:"image"`
	DNS             DNSConfig       `yaml:"dns"`
	ShutdownTimeout config.Duration `yaml:"shutdown_timeout" help:"how long graceful shutdown waits for requests in flight"`
}

// Ports are the TCP ports of each service, OpenStack's conventional ones
// by default. A port is opened only when its area exists.
type Ports struct {
	Admin        int `yaml:"admin" help:"gostack's own port: /healthcheck, /metrics, /v1/watch"`
	Identity     int `yaml:"identity" help:"Keystone v3 API"`
	Compute      int `yaml:"compute" help:"Nova v2.1 API"`
	Network      int `yaml:"network" help:"Neutron v2.0 API"`
	Volume       int `yaml:"volume" help:"Cinder v3 API"`
	Image        int `yaml:"image" help:"Glance v2 API"`
	Baremetal    int `yaml:"baremetal" help:"Ironic v1 API"`
	LoadBalancer int `yaml:"load_balancer" help:"Octavia v2 API"`
	DNS          int `yaml:"dns" help:"Designate v2 API"`
}

// byName maps service names (Area.Name) to ports.
func (p Ports) byName() map[string]int {
	return map[string]int{
		"admin": p.Admin, "identity": p.Identity, "compute": p.Compute, "network": p.Network,
		"volume": p.Volume, "image": p.Image, "baremetal": p.Baremetal,
		"load-balancer": p.LoadBalancer, "dns": p.DNS,
	}
}

// TLSConfig turns HTTPS on for every HTTP listener (the APIs and the admin
// port; DNS keeps plain UDP and TCP).
type TLSConfig struct {
	CertFile string `yaml:"cert_file" help:"PEM certificate (chain) every HTTP listener serves; with key_file, turns HTTPS on; reloaded when it changes"`
	KeyFile  string `yaml:"key_file" help:"PEM private key of cert_file; reloaded when it changes"`
	CAFile   string `yaml:"ca_file" help:"PEM CA certificates clients verify the listeners with: written to openrc as OS_CACERT; empty means cert_file (a self-signed certificate)"`
}

// on reports whether the listeners serve HTTPS.
func (t TLSConfig) on() bool { return t.CertFile != "" }

// caFile is what clients trust.
func (t TLSConfig) caFile() string {
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

// limits are c's values for the HTTP kit.
func (c HTTPConfig) limits() httpapi.Limits {
	return httpapi.Limits{ReadHeaderTimeout: c.ReadHeaderTimeout.D(), BodyTimeout: c.BodyTimeout.D(),
		WriteTimeout: c.WriteTimeout.D(), IdleTimeout: c.IdleTimeout.D(), MaxConns: c.MaxConnections}
}

// scheme is the URL scheme of the HTTP listeners.
func (c *Config) scheme() string {
	if c.TLS.on() {
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

// IdentityConfig holds Keystone's identity and token settings.
type IdentityConfig struct {
	KeyRepository   string          `yaml:"key_repository" help:"Fernet key repository; empty means <data_dir>/fernet-keys"`
	SharedKeys      bool            `yaml:"shared_keys" help:"keep Fernet keys in the store, shared by every controller, with a rotation that waits for all of them (instead of key_repository)"`
	MaxActiveKeys   int             `yaml:"max_active_keys" help:"keys kept by a rotation, staged key included (Keystone's max_active_keys)"`
	TokenExpiration config.Duration `yaml:"token_expiration" help:"token lifetime (Keystone's [token] expiration)"`
	PasswordRounds  int             `yaml:"password_hash_rounds" help:"bcrypt cost for new password hashes (Keystone's default is 12)"`
	PolicyFile      string          `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Keystone's default rules (replaces gostack's built-in override of identity:get_project)"`
}

// ImageConfig holds Glance's settings.
type ImageConfig struct {
	Dir              string                `yaml:"dir" help:"image data (data/ and staging/ below it); empty means <data_dir>/images"`
	HashAlgo         string                `yaml:"hash_algo" help:"os_hash_algo of new images: sha512, sha384, sha256 or sha224 (Glance's hashing_algorithm)"`
	MaxImageSize     int64                 `yaml:"max_image_size" help:"largest image in bytes (Glance's image_size_cap)"`
	QuotaImages      int                   `yaml:"quota_images" help:"images per project, -1 for no limit (image_count_total)"`
	QuotaBytes       int64                 `yaml:"quota_bytes" help:"bytes of image data per project, -1 for no limit (image_size_total)"`
	ProjectQuotas    map[string]ImageQuota `yaml:"project_quotas" help:"per-project overrides of quota_images and quota_bytes, by project id"`
	WebDownload      bool                  `yaml:"web_download" help:"offer the web-download import method"`
	WebDownloadAllow []string              `yaml:"web_download_allow" help:"CIDRs web-download may fetch from although loopback or link-local (refused otherwise)"`
	FormatMismatch   bool                  `yaml:"allow_format_mismatch" help:"accept data whose format differs from disk_format (Glance's require_image_format_match=false); safety checks still apply"`
	PolicyFile       string                `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Glance's default rules"`
	MaxProperties    int                   `yaml:"max_properties" help:"extra properties per image, -1 for no limit (Glance's image_property_quota); one more is a 413"`
	MaxTags          int                   `yaml:"max_tags" help:"tags per image, -1 for no limit (Glance's image_tag_quota); one more is a 413"`
	MaxMembers       int                   `yaml:"max_members" help:"projects one image can be shared with, -1 for no limit (Glance's image_member_quota); one more is a 413"`
}

// ImageQuota is one project's image limits.
type ImageQuota struct {
	Images int   `yaml:"images" help:"images, -1 for no limit"`
	Bytes  int64 `yaml:"bytes" help:"bytes of image data, -1 for no limit"`
}

// DNSConfig holds Designate's settings and the authoritative server's.
type DNSConfig struct {
	Server         bool              `yaml:"server" help:"run the authoritative DNS server inside the all-in-one daemon; false when 'gostack dns-server' serves the zones instead"`
	Listen         string            `yaml:"listen" help:"the DNS server's UDP and TCP address (host:port)"`
	Nameservers    []string          `yaml:"nameservers" help:"the default pool's nameserver hostnames (fully qualified, first is the SOA MNAME): every zone's apex NS records"`
	AlsoNotify     []DNSTarget       `yaml:"also_notify" help:"secondaries sent a NOTIFY on every serial change (the default pool's also_notifies), each {addr: IP[:port], key: TSIG key name (optional)}"`
	AllowTransfer  []DNSTransfer     `yaml:"allow_transfer" help:"who may transfer zones (AXFR, IXFR) over TCP, each {cidr: network (empty: any), key: TSIG key the request must be signed with (optional)}; empty: nobody"`
	TSIGKeys       map[string]DNSKey `yaml:"tsig_keys" help:"TSIG keys by name, each {algorithm: hmac-sha256 (default) or hmac-sha512/384/224/sha1, secret: base64}; the DNS API's POOL keys of the default pool are added (and followed: no restart); allow_transfer and also_notify name keys of either kind"`
	PolicyFile     string            `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Designate's default rules"`
	ReservedZones  []string          `yaml:"reserved_zones" help:"zone names only admins (use_blacklisted_zone) may create, besides the public suffixes: each covers itself and the names above and below it; the nameservers are always reserved; a member gets 400 invalid_zone_name"`
	TCPIdleTimeout config.Duration   `yaml:"tcp_idle_timeout" help:"how long a DNS-over-TCP connection may go without a whole query arriving, or without the client taking an answer message, before it is closed"`
	MaxTCPConns    int               `yaml:"max_tcp_conns" help:"DNS-over-TCP connections served at once; beyond it new ones are closed at once"`
}

// DNSTarget is a secondary to NOTIFY.
type DNSTarget struct {
	Addr string `yaml:"addr" help:"IP address and port (port 53 if left out)"`
	Key  string `yaml:"key" help:"name of a TSIG key to sign the NOTIFY with (optional)"`
}

// DNSTransfer allows zone transfers to a network, optionally only with a
// TSIG key.
type DNSTransfer struct {
	CIDR string `yaml:"cidr" help:"client network, like 192.0.2.0/24; empty matches any address"`
	Key  string `yaml:"key" help:"name of the TSIG key the request must be signed with (optional)"`
}

// DNSKey is a TSIG secret.
type DNSKey struct {
	Algorithm string `yaml:"algorithm" help:"hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1"`
	Secret    string `yaml:"secret" secret:"true" help:"the shared secret, base64"`
}

// imageDir is the effective image directory.
func (c *Config) imageDir() string {
	if c.Image.Dir != "" {
		return c.Image.Dir
	}
	return filepath.Join(c.DataDir, "images")
}

// keyRepository is the effective key directory.
func (c *Config) keyRepository() string {
	if c.Identity.KeyRepository != "" {
		return c.Identity.KeyRepository
	}
	return filepath.Join(c.DataDir, "fernet-keys")
}

// Defaults returns the embedded defaults: state under ./data, SQLite,
// every port on 127.0.0.1.
func Defaults() Config {
	return Config{
		DataDir: "./data",
		Bind:    "127.0.0.1",
		Region:  "RegionOne",
		Ports: Ports{
			Admin: 8790, Identity: 5000, Compute: 8774, Network: 9696, Volume: 8776,
			Image: 9292, Baremetal: 6385, LoadBalancer: 9876, DNS: 9001,
		},
		HTTP: HTTPConfig{
			ReadHeaderTimeout: config.Duration(httpapi.DefaultReadHeaderTimeout), BodyTimeout: config.Duration(httpapi.DefaultBodyTimeout),
			WriteTimeout: config.Duration(httpapi.DefaultWriteTimeout), IdleTimeout: config.Duration(httpapi.DefaultIdleTimeout),
			MaxConnections: httpapi.DefaultMaxConns,
		},
		Log:      LogConfig{Format: "text", Level: "info"},
		Watch:    WatchConfig{Retention: config.Duration(24 * time.Hour), MaxChanges: 1_000_000, CompactInterval: config.Duration(time.Minute)},
		Identity: IdentityConfig{MaxActiveKeys: 3, TokenExpiration: config.Duration(time.Hour), PasswordRounds: 12},
		Image: ImageConfig{HashAlgo: "sha512", MaxImageSize: 1 << 40, QuotaImages: -1, QuotaBytes: -1, WebDownload: true,
			MaxProperties: 128, MaxTags: 128, MaxMembers: 128},
		DNS: DNSConfig{Server: true, Listen: "127.0.0.1:5354", Nameservers: []string{"ns1.gostack.internal."},
			TCPIdleTimeout: config.Duration(dnsserver.DefaultTCPIdleTimeout), MaxTCPConns: dnsserver.DefaultMaxTCPConns},
		ShutdownTimeout: config.Duration(10 * time.Second),
	}
}

// Validate reports the first bad setting, naming its key.
func (c *Config) Validate() error {
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
	seen := map[int]string{}
	for _, name := range serviceNames {
		port := c.Ports.byName()[name]
		key := "ports." + strings.ReplaceAll(name, "-", "_")
		if port < 1 || port > 65535 {
			return bad(key, "%d is not a TCP port (1-65535)", port)
		}
		if other, dup := seen[port]; dup {
			return bad(key, "port %d is also ports.%s", port, other)
		}
		seen[port] = strings.ReplaceAll(name, "-", "_")
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
	if c.Identity.MaxActiveKeys < 2 {
		return bad("identity.max_active_keys", "must be at least 2 (a staged key and a primary)")
	}
	if c.Identity.TokenExpiration < config.Duration(time.Minute) {
		return bad("identity.token_expiration", "must be at least a minute")
	}
	if c.Identity.PasswordRounds < 4 || c.Identity.PasswordRounds > 31 {
		return bad("identity.password_hash_rounds", "bcrypt cost must be 4 to 31")
	}
	if err := c.Image.validate(); err != nil {
		return err
	}
	if err := c.DNS.validate(); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return bad("shutdown_timeout", "must be positive")
	}
	return nil
}

// serviceNames in port order of the table above; also the listener names.
var serviceNames = []string{"admin", "identity", "compute", "network", "volume", "image", "baremetal", "load-balancer", "dns"}

// dsn is the effective store DSN.
func (c *Config) dsn() string {
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
	if _, err := httpapi.ClientTLS(t.caFile()); err != nil {
		return bad("ca_file", "%v", err)
	}
	return nil
}

func (c *ImageConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: "image." + key, Problem: fmt.Sprintf(format, args...)}
	}
	switch c.HashAlgo {
	case "sha512", "sha384", "sha256", "sha224":
	default:
		return bad("hash_algo", "%q: want sha512, sha384, sha256 or sha224", c.HashAlgo)
	}
	if c.MaxImageSize <= 0 {
		return bad("max_image_size", "must be positive")
	}
	for key, v := range map[string]int{"max_properties": c.MaxProperties, "max_tags": c.MaxTags, "max_members": c.MaxMembers} {
		if v < -1 {
			return bad(key, "must be -1 (no limit) or more")
		}
	}
	if c.QuotaImages < -1 || c.QuotaBytes < -1 {
		return bad("quota_images", "quotas are -1 (no limit) or more")
	}
	for p, q := range c.ProjectQuotas {
		if q.Images < -1 || q.Bytes < -1 {
			return bad("project_quotas."+p, "quotas are -1 (no limit) or more")
		}
	}
	for _, s := range c.WebDownloadAllow {
		if _, err := netip.ParsePrefix(s); err != nil {
			return bad("web_download_allow", "%q is not a CIDR", s)
		}
	}
	return nil
}

func (c *DNSConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: "dns." + key, Problem: fmt.Sprintf(format, args...)}
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
	// A key named here may also be one the DNS API creates later (a POOL
	// key of the default pool), so only its syntax is checked; the server
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
