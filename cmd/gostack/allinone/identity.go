package allinone

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// IdentityArea is the Keystone v3 service: Fernet keys under
// <data_dir>/fernet-keys, bootstrapped on every start with the admin
// password of <data_dir>/admin-password.
type IdentityArea struct{}

var _ Area = IdentityArea{}

// Name is "identity".
func (IdentityArea) Name() string { return "identity" }

// Migrations is the identity schema.
func (IdentityArea) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{identity.Migrations()}
}

// Handler sets up keys, bootstrap, revocations and policy, and returns
// the Keystone API.
func (IdentityArea) Handler(ctx context.Context, env Env) (http.Handler, error) {
	cfg := env.Config
	store := identity.NewStore(env.DB, env.Watch)
	keys, shared, err := openKeys(ctx, cfg, store)
	if err != nil {
		return nil, err
	}
	onErr := func(err error) { env.Log.Warn("fernet keys", "err", err) }
	if shared != nil {
		go shared.Run(ctx, 10*time.Second, onErr)
	} else {
		go keys.(*fernet.Repository).Watch(ctx, 10*time.Second, onErr)
	}
	auth := newAuth(cfg, store, keys)
	pw, err := adminPassword(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	url := env.publicURL() + "/v3"
	_, err = identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{
		AdminPassword: pw, Region: cfg.Region, PublicURL: url, InternalURL: url, AdminURL: url,
	})
	if err != nil {
		return nil, err
	}
	head, _, err := env.Watch.Head(ctx)
	if err != nil {
		return nil, err
	}
	if err := auth.LoadRevocations(ctx); err != nil {
		return nil, err
	}
	go watch.Follow(ctx, env.Watch, watch.Query{Area: "identity", Since: head}, revocations{auth, env.Watch, shared}, watch.FollowOptions{Log: env.Log})
	enf, err := identityPolicy(cfg)
	if err != nil {
		return nil, err
	}
	if env.SetValidator != nil {
		env.SetValidator(api.Validator(auth))
	}
	return (&api.API{Auth: auth, Store: store, Policy: enf}).Handler(), nil
}

// stockOverrides makes the daemon behave as a stock Keystone 22, which
// ORs each new default with its deprecated rule (enforce_new_defaults is
// false): only identity:get_project lacks the admin clause without it, and
// without it a project-scoped admin (the openrc) cannot show a project.
const stockOverrides = `"identity:get_project": "rule:admin_required or project_id:%(target.project.id)s or (role:reader and system_scope:all) or (role:reader and domain_id:%(target.project.domain_id)s)"`

// identityPolicy is Keystone's defaults with the stock overrides, or with
// the operator's policy file instead of them.
func identityPolicy(cfg *Config) (*policy.Enforcer, error) {
	enf := policy.New()
	if err := enf.Register(policy.KeystoneDefaults()...); err != nil {
		return nil, fmt.Errorf("identity: policy: %w", err)
	}
	var err error
	if cfg.Identity.PolicyFile != "" {
		err = enf.LoadFile(cfg.Identity.PolicyFile)
	} else {
		err = enf.Load([]byte(stockOverrides))
	}
	if err != nil {
		return nil, fmt.Errorf("identity: policy: %w", err)
	}
	return enf, nil
}

// openKeys opens the key repository: shared in the store, or files. Both
// are created on the first start; later starts only repair (a file
// rotation killed part-way is finished, a missing staged key is staged),
// never rotate or purge, so a start does not invalidate a token.
func openKeys(ctx context.Context, cfg *Config, store *identity.Store) (fernet.KeySource, *identity.SharedKeys, error) {
	if !cfg.Identity.SharedKeys {
		r, err := fernet.Setup(cfg.keyRepository(), cfg.Identity.MaxActiveKeys)
		return r, nil, err
	}
	node, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	k, err := identity.NewSharedKeys(ctx, store, node, cfg.Identity.MaxActiveKeys)
	if err != nil {
		return nil, nil, err
	}
	k.TokenTTL = cfg.Identity.TokenExpiration.D() + 48*time.Hour // plus Keystone's allow_expired window
	return k, k, nil
}

func newAuth(cfg *Config, store *identity.Store, keys fernet.KeySource) *identity.Auth {
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys})
	auth.TokenTTL = cfg.Identity.TokenExpiration.D()
	auth.Hasher = password.Hasher{Rounds: cfg.Identity.PasswordRounds}
	return auth
}

// revocations feeds revocation events stored by any controller into the
// in-memory index, and tells Auth about every identity change so that
// cached validations (identity/middleware) are redone.
type revocations struct {
	auth *identity.Auth
	feed *watch.Log
	keys *identity.SharedKeys // nil with a file key repository
}

func (v revocations) Apply(ctx context.Context, c watch.Change) error {
	v.auth.Changed() // any identity change may change a cached validation
	if c.Kind == "fernet_keys" && v.keys != nil {
		return v.keys.Reload(ctx) // load and acknowledge new keys at once
	}
	if c.Kind != "revocation" || c.Op != watch.Create {
		return nil
	}
	var e revoke.Event
	if err := json.Unmarshal(c.Data, &e); err != nil {
		return nil // not ours to fix: skip a malformed entry rather than stall
	}
	v.auth.AddRevocationEvent(e)
	return nil
}

// Resync reloads every event; events stored while it reads are seen
// again from the head taken first (adding one twice is harmless).
func (v revocations) Resync(ctx context.Context) (int64, error) {
	head, _, err := v.feed.Head(ctx)
	if err != nil {
		return 0, err
	}
	return head, v.auth.LoadRevocations(ctx)
}

// publicAddr turns a listen address into one clients can reach: an
// unspecified IP becomes 127.0.0.1.
func publicAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
