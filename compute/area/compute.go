package area

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gostack/gostack/compute"
	novaapi "github.com/gostack/gostack/compute/api/nova"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Compute is the Compute API v2.1 (Nova's, port 8774, service "compute"
// named "nova" in the catalog, at <url>/v2.1) over the compute store,
// behind the identity area's token validation. Servers and the compute
// agent that builds them are not part of it yet.
type Compute struct {
	Config ComputeConfig
}

// ComputeConfig holds Nova's API settings: the "compute" section.
type ComputeConfig struct {
	PolicyFile string `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Nova's default rules"`
}

// Validate reports the first bad setting.
func (c *ComputeConfig) Validate() error { return nil }

// NewCompute returns the compute area with its defaults.
func NewCompute() *Compute { return &Compute{} }

var (
	_ compose.Area         = (*Compute)(nil)
	_ compose.Configurable = (*Compute)(nil)
	_ compose.Needer       = (*Compute)(nil)
)

// Name is "compute".
func (*Compute) Name() string { return "compute" }

// Section is the "compute" config section.
func (c *Compute) Section() any { return &c.Config }

// Needs identity: its token validator and its catalog.
func (*Compute) Needs() []string { return []string{"identity"} }

// Migrations is the compute schema.
func (*Compute) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{compute.Migrations()}
}

// Build registers the catalog endpoint and returns the API behind the
// token middleware.
func (c *Compute) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	v, err := identityarea.Validator(env)
	if err != nil {
		return nil, err
	}
	if err := identityarea.Register(ctx, env, "compute", "nova", env.URL+"/v2.1"); err != nil {
		return nil, err
	}
	enf, err := novaapi.NewEnforcer()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if c.Config.PolicyFile != "" {
		if err := enf.LoadFile(c.Config.PolicyFile); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	api := &novaapi.API{Store: compute.NewStore(env.DB, env.Watch), Policy: enf}
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Nova, Optional: true}
	return mw.Wrap(api.Handler()), nil
}
