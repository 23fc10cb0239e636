package area

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/gostack/gostack/compute"
	novaapi "github.com/gostack/gostack/compute/api/nova"
	"github.com/gostack/gostack/compute/scheduler"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/fault"
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
	// DefaultFlavors: on a first start with no flavors, make devstack's
	// (Nova itself makes none).
	DefaultFlavors bool `yaml:"default_flavors" help:"on a first start with no flavors, create devstack's m1.nano, m1.micro and m1.tiny to m1.xlarge"`
	// GuestImage: build the tiny guest image and upload it as the public
	// image gostack-tiny (make run turns it on).
	GuestImage    bool   `yaml:"guest_image" help:"build the tiny guest image (needs Go, gostack's source and a Debian mirror) and upload it as the public image gostack-tiny, once"`
	GuestImageDir string `yaml:"guest_image_dir" help:"where the tiny guest image and the packages it is built from are kept; empty for <data_dir>/guest-image"`
	// AllowResizeToSameHost: Nova's allow_resize_to_same_host, on by
	// default here (as devstack sets it), so a one-host cloud resizes.
	AllowResizeToSameHost bool   `yaml:"allow_resize_to_same_host" help:"let a resize stay on the server's host when the scheduler finds it best (Nova's allow_resize_to_same_host; a migration always leaves its host)"`
	StagingDir            string `yaml:"staging_dir" help:"where the disks of cold moves (resize, migrate) wait between their source and their destination; empty for <data_dir>/compute/staging"`
	Agent                 Agent  `yaml:"agent"`
}

// Validate reports the first bad setting.
func (c *ComputeConfig) Validate() error { return c.Agent.Validate() }

// NewCompute returns the compute area with its defaults.
func NewCompute() *Compute {
	return &Compute{Config: ComputeConfig{DefaultFlavors: true, AllowResizeToSameHost: true, Agent: Agent{Enabled: true, Driver: "qemu", ImagesType: "qcow2", ImagesRBDPool: "vms"}}}
}

// defaultFlavors are devstack's.
var defaultFlavors = []compute.Flavor{
	{FlavorID: "42", Name: "m1.nano", VCPUs: 1, MemoryMB: 128, RootGB: 1},
	{FlavorID: "84", Name: "m1.micro", VCPUs: 1, MemoryMB: 192, RootGB: 1},
	{FlavorID: "1", Name: "m1.tiny", VCPUs: 1, MemoryMB: 512, RootGB: 1},
	{FlavorID: "2", Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 20},
	{FlavorID: "3", Name: "m1.medium", VCPUs: 2, MemoryMB: 4096, RootGB: 40},
	{FlavorID: "4", Name: "m1.large", VCPUs: 4, MemoryMB: 8192, RootGB: 80},
	{FlavorID: "5", Name: "m1.xlarge", VCPUs: 8, MemoryMB: 16384, RootGB: 160},
}

// ensureFlavors makes the default flavors when there are none.
func ensureFlavors(ctx context.Context, store *compute.Store) error {
	have, err := store.Flavors(ctx, compute.Viewer{Admin: true}, compute.FlavorFilter{})
	if err != nil || len(have) > 0 {
		return err
	}
	for _, f := range defaultFlavors {
		f.IsPublic = true
		if _, err := store.CreateFlavor(ctx, f); err != nil && fault.KindOf(err) != fault.Conflict {
			return err
		}
	}
	return nil
}

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
	store := compute.NewStore(env.DB, env.Watch)
	if c.Config.DefaultFlavors {
		if err := ensureFlavors(ctx, store); err != nil {
			return nil, fmt.Errorf("default flavors: %w", err)
		}
	}
	sch, err := scheduler.New(scheduler.DefaultConfig(), scheduler.Builtins(), &compute.Claimer{Store: store})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	nets, imgs := envNetworks{env}, envImages{env}
	builder := &compute.Builder{Store: store, Scheduler: sch, Networks: nets, Volumes: envVolumes{env}, Log: env.Log,
		AllowResizeToSameHost: c.Config.AllowResizeToSameHost}
	staging := c.Config.StagingDir
	if staging == "" {
		staging = filepath.Join(env.Config.DataDir, "compute", "staging")
	}
	env.Go("compute builder", builder.Run)
	// Cinder's volume-extended event, from the block-storage area.
	env.Provide(VolumeExtendedKey, func(ctx context.Context, instance, volume string, size int64) error {
		_, err := store.VolumeExtended(ctx, instance, volume, size)
		return err
	})
	api := &novaapi.API{Store: store, Policy: enf, Networks: nets, Images: imgs, Volumes: envVolumes{env}, Builder: builder,
		ImageURL: env.URLOf("image"), StagingDir: staging}
	if n, err := api.SweepStaging(ctx); err != nil {
		env.Log.Warn("compute: sweep the staging directory", "dir", staging, "err", err)
	} else if n > 0 {
		env.Log.Info("compute: removed what an earlier controller left in the staging directory", "dir", staging, "files", n)
	}
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Nova, Optional: true}
	if c.Config.Agent.Enabled {
		if err := c.startAgent(ctx, env); err != nil {
			return nil, err
		}
	}
	if c.Config.GuestImage {
		c.uploadGuestImage(env)
	}
	return mw.Wrap(api.Handler()), nil
}
