package area

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/compute"
	placementapi "github.com/gostack/gostack/compute/api/placement"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Placement is the Placement API v1 (port 8778, service "placement" in
// the catalog): resource providers, inventories, traits, aggregates and
// allocations in the compute store, behind the identity area's token
// validation. The compute API (Nova, port 8774) comes with its own
// issue; the scheduler already claims through this store.
type Placement struct {
	Config PlacementConfig
}

// PlacementConfig holds Placement's settings: the "placement" section.
type PlacementConfig struct {
	MaxCandidates int `yaml:"max_allocation_candidates" help:"most allocation candidates GET /allocation_candidates generates before its limit applies (Placement's max_allocation_candidates); -1 for no cap"`
}

// Validate reports the first bad setting.
func (c *PlacementConfig) Validate() error {
	if c.MaxCandidates < -1 || c.MaxCandidates == 0 {
		return &config.FieldError{Key: "max_allocation_candidates", Problem: "must be -1 (no cap) or at least 1"}
	}
	return nil
}

// NewPlacement returns the Placement area with its defaults.
func NewPlacement() *Placement {
	return &Placement{Config: PlacementConfig{MaxCandidates: 100000}}
}

var (
	_ compose.Area         = (*Placement)(nil)
	_ compose.Configurable = (*Placement)(nil)
	_ compose.Needer       = (*Placement)(nil)
)

// Name is "placement".
func (*Placement) Name() string { return "placement" }

// Section is the "placement" config section.
func (p *Placement) Section() any { return &p.Config }

// Needs identity: its token validator and its catalog.
func (*Placement) Needs() []string { return []string{"identity"} }

// Migrations is the compute schema, which holds Placement's tables.
func (*Placement) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{compute.Migrations()}
}

// Build registers the catalog endpoint and returns the API behind the
// token middleware.
func (p *Placement) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	v, err := identityarea.Validator(env)
	if err != nil {
		return nil, err
	}
	if err := identityarea.Register(ctx, env, "placement", "placement", env.URL); err != nil {
		return nil, err
	}
	store := compute.NewStore(env.DB, env.Watch)
	api := &placementapi.API{Store: store, MaxCandidates: p.Config.MaxCandidates}
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Placement, Optional: true}
	return mw.Wrap(api.Handler()), nil
}
