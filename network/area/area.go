package area

import (
	"context"
	"fmt"
	"net/http"

	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/api"
)

// Area is the Neutron v2.0 service: networks, subnets and ports in the
// store, behind the identity area's token validation. The host agent
// that plumbs them is not part of it yet.
type Area struct {
	Config Config
}

// Config holds Neutron's settings: the "network" section.
type Config struct {
	VNIMin     int    `yaml:"vni_min" help:"first VXLAN id of tenant networks (ML2's vni_ranges)"`
	VNIMax     int    `yaml:"vni_max" help:"last VXLAN id of tenant networks"`
	MTU        int    `yaml:"mtu" help:"MTU of VXLAN networks: the underlay's 1500 less the 50 bytes of VXLAN"`
	MaxLimit   int    `yaml:"pagination_max_limit" help:"most items a list answers per page, also without limit (Neutron's pagination_max_limit); 0 for no cap"`
	PolicyFile string `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Neutron's default rules"`
}

// New returns the network area with its defaults.
func New() *Area { return &Area{Config: Config{VNIMin: 1, VNIMax: 1000, MTU: 1450}} }

// Validate reports the first bad setting, its key relative to the section.
func (c *Config) Validate() error {
	switch {
	case c.VNIMin < 1 || c.VNIMax > 1<<24-1 || c.VNIMin > c.VNIMax:
		return &config.FieldError{Key: "vni_min", Problem: fmt.Sprintf("%d to %d is not a VXLAN id range (1 to 16777215)", c.VNIMin, c.VNIMax)}
	case c.MTU < 68 || c.MTU > 9000:
		return &config.FieldError{Key: "mtu", Problem: "must be 68 to 9000"}
	case c.MaxLimit < 0:
		return &config.FieldError{Key: "pagination_max_limit", Problem: "must be 0 (no cap) or more"}
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
	h := (&api.API{Store: store, Policy: enf, MaxLimit: a.Config.MaxLimit}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Neutron, Optional: true}
	return mw.Wrap(h), nil
}
