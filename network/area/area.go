package area

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/identity"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/agent"
	"github.com/gostack/gostack/network/api"
	"github.com/gostack/gostack/network/ovs"
)

// Area is the Neutron v2.0 service: networks, subnets and ports in the
// store, behind the identity area's token validation. The host agent
// that plumbs them is not part of it yet.
type Area struct {
	Config Config
}

// Config holds Neutron's settings: the "network" section.
type Config struct {
	VNIMin     int      `yaml:"vni_min" help:"first VXLAN id of tenant networks (ML2's vni_ranges)"`
	VNIMax     int      `yaml:"vni_max" help:"last VXLAN id of tenant networks"`
	MTU        int      `yaml:"mtu" help:"MTU of VXLAN networks: the underlay's 1500 less the 50 bytes of VXLAN"`
	MaxLimit   int      `yaml:"pagination_max_limit" help:"most items a list answers per page, also without limit (Neutron's pagination_max_limit); 0 for no cap"`
	PolicyFile string   `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Neutron's default rules"`
	Agent      Agent    `yaml:"agent"`
	External   External `yaml:"external"`
	Quotas     Quotas   `yaml:"quotas"`
}

// Quotas are the limits of a project without its own (Neutron's [QUOTAS]
// quota_<resource>); an admin sets a project's own with PUT
// /v2.0/quotas/{project_id}. -1 is no limit.
type Quotas struct {
	Network           int `yaml:"network" help:"networks per project, -1 for no limit (Neutron's quota_network)"`
	Subnet            int `yaml:"subnet" help:"subnets per project, -1 for no limit (quota_subnet)"`
	Port              int `yaml:"port" help:"ports per project, -1 for no limit (quota_port); all the project's ports count, its routers' interfaces and DHCP ports too"`
	Router            int `yaml:"router" help:"routers per project, -1 for no limit (quota_router)"`
	FloatingIP        int `yaml:"floatingip" help:"floating IPs per project, -1 for no limit (quota_floatingip)"`
	SecurityGroup     int `yaml:"security_group" help:"security groups per project, its default group included, -1 for no limit (quota_security_group)"`
	SecurityGroupRule int `yaml:"security_group_rule" help:"security group rules per project, the rules its groups are made with included, -1 for no limit (quota_security_group_rule)"`
}

// limits are q by Neutron's resource names.
func (q Quotas) limits() map[string]int {
	return map[string]int{network.QuotaNetwork: q.Network, network.QuotaSubnet: q.Subnet, network.QuotaPort: q.Port,
		network.QuotaRouter: q.Router, network.QuotaFloatingIP: q.FloatingIP, network.QuotaSecurityGroup: q.SecurityGroup,
		network.QuotaSecurityGroupRule: q.SecurityGroupRule}
}

// External is the external network the all-in-one makes on its first
// start, as devstack does: "public", flat on physical network "public",
// router:external, with a subnet whose gateway address is put on this
// host's br-ex, so the host reaches routers' gateways and floating IPs.
type External struct {
	Enabled bool   `yaml:"enabled" help:"on first start, create the external network \"public\" on br-ex with cidr, the gateway address on the host (needs the agent)"`
	CIDR    string `yaml:"cidr" help:"the external subnet; its first address is the host's on br-ex"`
}

// Agent is the host agent the all-in-one runs in-process. It talks to
// the API and the watch feed over HTTP with a service user's token, as
// on any other host.
type Agent struct {
	Enabled        bool     `yaml:"enabled" help:"run this host's network agent in-process: it plumbs the ports bound to this host into Open vSwitch"`
	Host           string   `yaml:"host" help:"the host name ports are bound to (binding:host_id); empty for the machine's hostname"`
	TunnelIP       string   `yaml:"tunnel_ip" help:"this host's VXLAN endpoint with its prefix, e.g. 192.168.50.1/24; empty for a single host"`
	Uplink         string   `yaml:"uplink" help:"underlay device put on the physical bridge with tunnel_ip (userspace datapath)"`
	DatapathType   string   `yaml:"datapath_type" help:"netdev (userspace: needs no kernel module) or system (the openvswitch kernel module)"`
	BridgeMappings []string `yaml:"bridge_mappings" help:"physical networks to bridges, \"physnet:bridge\" (Neutron's bridge_mappings); the external network adds public:br-ex"`
	DHCP           bool     `yaml:"dhcp" help:"serve the DHCP of networks the controller schedules to this host (dnsmasq per network)"`
	L3             bool     `yaml:"l3" help:"run the routers the controller schedules to this host (a qrouter- namespace each, SNAT and floating IPs with nftables)"`
	MetadataURL    string   `yaml:"metadata_url" help:"Nova's metadata API that a proxy in each DHCP namespace forwards guests' requests to 169.254.169.254 to; empty: this daemon's metadata listener (network-agent on another host: none unless set, e.g. http://10.0.0.1:8775); \"none\" serves no metadata service"`
	MetadataSecret string   `yaml:"metadata_proxy_shared_secret" secret:"true" help:"signs the instance ids the proxies forward; the metadata API's shared_secret; empty: the metadata area's of this daemon (network-agent on another host must set it)"`
	OVSDir         string   `yaml:"ovs_dir" help:"run directory of the Open vSwitch daemons the agent starts when they are not running; empty: the host's own Open vSwitch if one runs, else <data_dir>/ovs; \"system\" for the host's own"`
	// The controller, for `gostack network-agent` on another host (the
	// in-process agent knows it).
	AuthURL    string `yaml:"auth_url" help:"network-agent on another host: the controller's identity URL, e.g. http://10.0.0.1:5000/v3"`
	Username   string `yaml:"username" help:"network-agent: the service user (service role on the service project)"`
	Password   string `yaml:"password" secret:"true" help:"network-agent: its password"`
	WatchURL   string `yaml:"watch_url" help:"network-agent: the controller's admin port, whose /v1/watch/network it follows, e.g. http://10.0.0.1:9000"`
	NetworkURL string `yaml:"network_url" help:"network-agent: the network API (empty: from the catalog)"`
}

// New returns the network area with its defaults.
func New() *Area {
	return &Area{Config: Config{VNIMin: 1, VNIMax: 1000, MTU: 1450, Agent: Agent{Enabled: true, DatapathType: "netdev", DHCP: true, L3: true},
		External: External{Enabled: true, CIDR: "172.24.4.0/24"}, Quotas: defaultQuotas()}}
}

// defaultQuotas are Neutron's.
func defaultQuotas() Quotas {
	d := network.DefaultQuotas()
	return Quotas{Network: d[network.QuotaNetwork], Subnet: d[network.QuotaSubnet], Port: d[network.QuotaPort], Router: d[network.QuotaRouter],
		FloatingIP: d[network.QuotaFloatingIP], SecurityGroup: d[network.QuotaSecurityGroup], SecurityGroupRule: d[network.QuotaSecurityGroupRule]}
}

// Validate reports the first bad setting, its key relative to the section.
func (c *Config) Validate() error {
	switch {
	case c.VNIMin < 1 || c.VNIMax > 1<<24-1 || c.VNIMin > c.VNIMax:
		return &config.FieldError{Key: "vni_min", Problem: fmt.Sprintf("%d to %d is not a VXLAN id range (1 to 16777215)", c.VNIMin, c.VNIMax)}
	case c.MTU < 68 || c.MTU > 9000:
		return &config.FieldError{Key: "mtu", Problem: "must be 68 to 9000"}
	case c.MaxLimit < 0:
		return &config.FieldError{Key: "pagination_max_limit", Problem: "must be 0 (no cap) or more"}
	case c.Agent.DatapathType != "netdev" && c.Agent.DatapathType != "system":
		return &config.FieldError{Key: "agent.datapath_type", Problem: "must be netdev or system"}
	case c.Agent.MetadataURL != "" && c.Agent.MetadataURL != "none" && !httpURL(c.Agent.MetadataURL):
		return &config.FieldError{Key: "agent.metadata_url", Problem: "must be empty, none, or an http or https URL"}
	}
	limits := c.Quotas.limits()
	for _, r := range network.QuotaResources() {
		if l := limits[r]; l < network.Unlimited || l > network.MaxQuota {
			return &config.FieldError{Key: "quotas." + r, Problem: fmt.Sprintf("must be -1 (no limit) to %d", network.MaxQuota)}
		}
	}
	for _, m := range c.Agent.BridgeMappings {
		if phys, br, ok := strings.Cut(m, ":"); !ok || phys == "" || br == "" || len(br) > 15 {
			return &config.FieldError{Key: "agent.bridge_mappings", Problem: fmt.Sprintf("%q is not physnet:bridge (a bridge name has at most 15 characters)", m)}
		}
	}
	if c.External.Enabled {
		p, err := netip.ParsePrefix(c.External.CIDR)
		if err != nil || !p.Addr().Is4() || p.Bits() > 29 || p.Masked() != p {
			return &config.FieldError{Key: "external.cidr", Problem: "must be an IPv4 network of at least 8 addresses, like 172.24.4.0/24"}
		}
	}
	if c.Agent.TunnelIP != "" {
		if _, err := netip.ParsePrefix(c.Agent.TunnelIP); err != nil {
			return &config.FieldError{Key: "agent.tunnel_ip", Problem: "must be an address with its prefix length, like 192.168.50.1/24"}
		}
	}
	return nil
}

var (
	_ compose.Area         = (*Area)(nil)
	_ compose.Configurable = (*Area)(nil)
	_ compose.Needer       = (*Area)(nil)
)

// Name is "network".
func (*Area) Name() string { return "network" }

// Section is the "network" config section.
func (a *Area) Section() any { return &a.Config }

// Needs identity: its token validator and its catalog.
func (*Area) Needs() []string { return []string{"identity"} }

// Migrations is the network schema.
func (*Area) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{network.Migrations()}
}

// Build registers the catalog endpoint and returns the Neutron API behind
// the token middleware.
func (a *Area) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	v, err := identityarea.Validator(env)
	if err != nil {
		return nil, err
	}
	if err := identityarea.Register(ctx, env, "network", "neutron", env.URL); err != nil {
		return nil, err
	}
	enf, err := api.NewEnforcer()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if a.Config.PolicyFile != "" {
		if err := enf.LoadFile(a.Config.PolicyFile); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	store := network.NewStore(env.DB, env.Watch)
	store.TenantSegments = network.Segments{Min: a.Config.VNIMin, Max: a.Config.VNIMax}
	store.MTU = a.Config.MTU
	store.Quotas = a.Config.Quotas.limits()
	h := (&api.API{Store: store, Policy: enf, MaxLimit: a.Config.MaxLimit}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Neutron, Optional: true}
	// Reverse DNS (the dns area) reads a project's floating IPs here.
	provideCompute(env, store)
	env.Provide("network.floatingips", func(ctx context.Context, project string) (map[string]netip.Addr, error) {
		fips, _, err := store.ListFloatingIPs(ctx, network.Viewer{Project: project}, network.Filter{}, network.Page{})
		out := map[string]netip.Addr{}
		for _, f := range fips {
			out[f.ID] = f.Address
		}
		return out, err
	})
	if a.Config.Agent.Enabled && a.Config.External.Enabled {
		if err := a.ensureExternal(ctx, env, store); err != nil {
			return nil, fmt.Errorf("external network: %w", err)
		}
	}
	if a.Config.Agent.Enabled {
		if err := a.startAgent(ctx, env); err != nil {
			return nil, err
		}
		a.provideSwitch(env)
	}
	return mw.Wrap(h), nil
}

// startAgent runs this host's agent in-process, through the same contract
// as on another host: a service user's token, the API and the admin
// port's feed over HTTP.
func (a *Area) startAgent(ctx context.Context, env *compose.Env) error {
	sess, err := identityarea.AgentSession(ctx, env, "network-agent")
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	cfg, err := a.agentConfig(env.Config)
	if err != nil {
		return err
	}
	feed := env.URLOf("admin")
	if feed == "" {
		return errors.New("agent: the stack has no admin listener for the watch feed")
	}
	// The daemon's metadata area, when it has one (built before this
	// area: allinone lists it first), gives its listener and its secret.
	secret, _ := env.Lookup(MetadataSecretKey)
	s, served := secret.(string)
	if a.Config.Agent.MetadataURL == "" && served {
		cfg.MetadataURL = env.URLOf(MetadataListener)
	}
	if cfg.MetadataURL != "" && cfg.MetadataSecret == "" {
		if !served {
			return &config.FieldError{Key: "network.agent.metadata_proxy_shared_secret", Problem: "is required with metadata_url when this daemon serves no metadata area"}
		}
		cfg.MetadataSecret = s
	}
	ag := &agent.Agent{Config: cfg, Session: sess, NetworkURL: env.URL, FeedURL: feed + "/v1/watch/network",
		Log: env.Log.With("agent", cfg.Host), HTTP: sess.HTTP}
	env.Go("network agent", ag.Run)
	return nil
}

// MetadataListener is the name of the daemon's listener of Nova's
// metadata API, which the in-process agent's proxies forward to, and
// MetadataSecretKey where the metadata area provides the secret they
// share (a string): its metadata.shared_secret, or one it keeps in the
// data directory. The metadata area must be built before this one.
const (
	MetadataListener  = "metadata"
	MetadataSecretKey = "metadata.secret"
)

// OVSKey is where the network area, when its agent runs in-process,
// provides the host's Open vSwitch to the compute agent, which plugs
// guest ports into the same switch: a
// func(ctx context.Context) (endpoint string, err error) giving the
// switch database's endpoint (started if it is not running, as the
// network agent starts it).
const OVSKey = "network.ovs"

func (a *Area) provideSwitch(env *compose.Env) {
	env.Provide(OVSKey, func(ctx context.Context) (string, error) {
		cfg, err := a.agentConfig(env.Config)
		if err != nil {
			return "", err
		}
		return ovs.Endpoint(ctx, cfg.OVSDir)
	})
}

// RunAgent runs this host's network agent alone, against the controller
// named in the agent section (auth_url, username, password, watch_url):
// `gostack network-agent` on a host that runs no controller. It opens no
// database.
func (a *Area) RunAgent(ctx context.Context, core *compose.Config, log *slog.Logger) error {
	c := a.Config.Agent
	sess, err := core.AgentSession(compose.RemoteAgent{Section: "network", Command: "network-agent",
		AuthURL: c.AuthURL, Username: c.Username, Password: c.Password, WatchURL: c.WatchURL})
	if err != nil {
		return err
	}
	cfg, err := a.agentConfig(core)
	if err != nil {
		return err
	}
	ag := &agent.Agent{Config: cfg, Session: sess, NetworkURL: c.NetworkURL,
		FeedURL: strings.TrimSuffix(c.WatchURL, "/") + "/v1/watch/network", Log: log.With("agent", cfg.Host), HTTP: sess.HTTP}
	if cfg.MetadataURL != "" && cfg.MetadataSecret == "" {
		return &config.FieldError{Key: "network.agent.metadata_proxy_shared_secret", Problem: "is required with metadata_url: the controller's metadata shared_secret"}
	}
	log.Info("network agent starting", "host", cfg.Host, "controller", c.AuthURL)
	err = ag.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ensureExternal makes the external network "public" and its subnet,
// owned by the admin project, unless an external network exists.
func (a *Area) ensureExternal(ctx context.Context, env *compose.Env, store *network.Store) error {
	admin := network.Viewer{Admin: true}
	nets, _, err := store.ListNetworks(ctx, admin, network.Filter{"router:external": {"true"}}, network.Page{Limit: 1})
	if err != nil || len(nets) > 0 {
		return err
	}
	proj, err := identity.NewStore(env.DB, env.Watch).GetProjectByName(ctx, identity.DefaultDomainID, "admin")
	if err != nil {
		return err
	}
	n, err := store.CreateNetwork(ctx, network.Network{ProjectID: proj.ID, Name: "public", AdminStateUp: true, External: true,
		Type: network.Flat, Physical: "public"})
	if err != nil {
		return err
	}
	cidr, _ := netip.ParsePrefix(a.Config.External.CIDR) // Validate checked it
	sub, err := store.CreateSubnet(ctx, network.Viewer{Project: proj.ID, Admin: true},
		network.Subnet{ProjectID: proj.ID, NetworkID: n.ID, Name: "public-subnet", CIDR: cidr, IPVersion: 4}, false)
	if err != nil {
		return err
	}
	env.Log.Info("external network created", "network", n.ID, "subnet", sub.ID, "cidr", cidr, "host_address", sub.Gateway)
	return nil
}

// httpURL reports whether s is an absolute http or https URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// agentConfig is the agent's settings with their defaults resolved.
func (a *Area) agentConfig(core *compose.Config) (agent.Config, error) {
	c := a.Config.Agent
	cfg := agent.Config{Host: c.Host, Uplink: c.Uplink, DatapathType: c.DatapathType, DHCP: c.DHCP, L3: c.L3,
		BridgeMappings: map[string]string{}, BridgeAddrs: map[string]netip.Prefix{}, MetadataSecret: c.MetadataSecret}
	if c.MetadataURL != "none" {
		cfg.MetadataURL = c.MetadataURL
	}
	for _, m := range c.BridgeMappings {
		phys, br, _ := strings.Cut(m, ":")
		cfg.BridgeMappings[phys] = br
	}
	if a.Config.External.Enabled {
		cidr, _ := netip.ParsePrefix(a.Config.External.CIDR)
		if _, ok := cfg.BridgeMappings["public"]; !ok {
			cfg.BridgeMappings["public"] = "br-ex"
		}
		// The host's address on the external network: the subnet's
		// gateway, its first address.
		cfg.BridgeAddrs[cfg.BridgeMappings["public"]] = netip.PrefixFrom(cidr.Addr().Next(), cidr.Bits())
	}
	if cfg.DHCP {
		// dnsmasq reads its files as nobody: under /run, not the private
		// data directory; one directory per data directory.
		abs, err := filepath.Abs(core.DataDir)
		if err != nil {
			return cfg, err
		}
		sum := sha256.Sum256([]byte(abs))
		cfg.DHCPDir = filepath.Join("/run/gostack", hex.EncodeToString(sum[:6]), "dhcp")
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("agent: host name: %w", err)
		}
		cfg.Host = h
	}
	if c.TunnelIP != "" {
		cfg.TunnelIP, _ = netip.ParsePrefix(c.TunnelIP) // Validate checked it
	}
	switch c.OVSDir {
	case "system":
	case "":
		// The host's own Open vSwitch when one runs (a second userspace
		// datapath in one network namespace cannot start); else ours.
		if _, ok := ovs.System(); !ok {
			cfg.OVSDir = filepath.Join(core.DataDir, "ovs")
		}
	default:
		cfg.OVSDir = c.OVSDir
	}
	return cfg, nil
}
