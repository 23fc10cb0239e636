package area

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Area is the Keystone v3 service: Fernet keys under
// <data_dir>/fernet-keys (or shared in the store), bootstrapped on every
// start with the admin password of <data_dir>/admin-password, which it
// also writes into <data_dir>/openrc for the openstack CLI.
type Area struct {
	Config Config
}

// Config holds Keystone's identity and token settings: the "identity"
// section.
type Config struct {
	KeyRepository   string          `yaml:"key_repository" help:"Fernet key repository; empty means <data_dir>/fernet-keys"`
	SharedKeys      bool            `yaml:"shared_keys" help:"keep Fernet keys in the store, shared by every controller, with a rotation that waits for all of them (instead of key_repository)"`
	MaxActiveKeys   int             `yaml:"max_active_keys" help:"keys kept by a rotation, staged key included (Keystone's max_active_keys)"`
	TokenExpiration config.Duration `yaml:"token_expiration" help:"token lifetime (Keystone's [token] expiration)"`
	PasswordRounds  int             `yaml:"password_hash_rounds" help:"bcrypt cost for new password hashes (Keystone's default is 12)"`
	PolicyFile      string          `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Keystone's default rules (replaces gostack's built-in override of identity:get_project)"`
	ListLimit       int             `yaml:"list_limit" help:"most entities a list of users, groups, projects, domains, roles, services or endpoints answers, with \"truncated\": true when there are more (Keystone's list_limit); 0 for no limit"`
	MaxProjectDepth int             `yaml:"max_project_tree_depth" help:"levels of projects a domain may hold (Keystone's max_project_tree_depth)"`
	AuthMethods     []string        `yaml:"auth_methods" help:"Keystone's [auth] methods: their order gives the method bits of tokens (keep it a Keystone's that shares the keys); of them gostack serves password, token, application_credential and totp (add totp for TOTP credentials as a method)"`
	TOTPWindows     int             `yaml:"totp_included_previous_windows" help:"earlier 30-second steps whose TOTP passcode is taken too, 0 to 10 (Keystone's [totp] included_previous_windows)"`
	ReceiptTTL      config.Duration `yaml:"receipt_expiration" help:"how long an auth receipt (the 401 of a multi-factor rule not yet met) stays good, up to a day (Keystone's [receipt] expiration)"`

	// Keystone's [security_compliance]; gostack's own users (the
	// bootstrap admin, the service users) are exempt from lockout,
	// expiry and disabling for inactivity.
	LockoutFailureAttempts     int             `yaml:"lockout_failure_attempts" help:"failed password authentications in a row that lock a user out for lockout_duration; 0: no lockout (Keystone's [security_compliance] lockout_failure_attempts)"`
	LockoutDuration            config.Duration `yaml:"lockout_duration" help:"how long a lockout lasts; 0: until an administrator updates the user (Keystone's lockout_duration)"`
	PasswordExpiresDays        int             `yaml:"password_expires_days" help:"days a password set from now on stays valid; 0: never expires (Keystone's password_expires_days)"`
	UniqueLastPasswordCount    int             `yaml:"unique_last_password_count" help:"a user's own new password may be none of their last that many, the current one included; 0: off (Keystone's unique_last_password_count)"`
	MinimumPasswordAge         int             `yaml:"minimum_password_age" help:"days a password a user set must be kept before they change it again; 0: off (Keystone's minimum_password_age)"`
	PasswordRegex              string          `yaml:"password_regex" help:"a new password must match it from its start (Keystone's password_regex: a backtracking expression as Python's, lookarounds and backreferences included; a match over 100 ms refuses the password)"`
	PasswordRegexDescription   string          `yaml:"password_regex_description" help:"what password_regex asks for, in the error a refused password gets (Keystone's password_regex_description)"`
	ChangePasswordUponFirstUse bool            `yaml:"change_password_upon_first_use" help:"a password an administrator sets is expired at once, so its user must change it (Keystone's change_password_upon_first_use)"`
	DisableUserAccountDays     int             `yaml:"disable_user_account_days_inactive" help:"days (whole UTC dates) after a user's last password authentication, or their creation or re-enabling, from which they read as disabled and cannot authenticate until an administrator enables them; 0: off (Keystone's disable_user_account_days_inactive)"`
}

// Compliance is the security compliance settings as the identity
// package takes them, checked.
func (c *Config) Compliance() (identity.Compliance, error) {
	x := identity.Compliance{
		LockoutFailureAttempts: c.LockoutFailureAttempts, LockoutDuration: time.Duration(c.LockoutDuration),
		PasswordExpiresDays: c.PasswordExpiresDays, UniqueLastPasswordCount: c.UniqueLastPasswordCount,
		MinimumPasswordAge: c.MinimumPasswordAge, PasswordRegex: c.PasswordRegex,
		PasswordRegexDescription: c.PasswordRegexDescription, ChangePasswordUponFirstUse: c.ChangePasswordUponFirstUse,
		DisableUserAccountDaysInactive: c.DisableUserAccountDays,
	}
	return x, x.Validate()
}

// New returns the identity area with Keystone's defaults.
func New() *Area {
	return &Area{Config: Config{MaxActiveKeys: 3, TokenExpiration: config.Duration(time.Hour), PasswordRounds: 12,
		MaxProjectDepth: identity.DefaultMaxProjectTreeDepth, LockoutDuration: config.Duration(30 * time.Minute),
		AuthMethods: slices.Clone(fernet.DefaultMethods), TOTPWindows: identity.DefaultTOTPWindows,
		ReceiptTTL: config.Duration(identity.DefaultReceiptTTL)}}
}

// Validate reports the first bad setting, its key relative to the section.
func (c *Config) Validate() error {
	switch {
	case c.MaxActiveKeys < 2:
		return &config.FieldError{Key: "max_active_keys", Problem: "must be at least 2 (a staged key and a primary)"}
	case c.TokenExpiration < config.Duration(time.Minute):
		return &config.FieldError{Key: "token_expiration", Problem: "must be at least a minute"}
	case c.PasswordRounds < 4 || c.PasswordRounds > 31:
		return &config.FieldError{Key: "password_hash_rounds", Problem: "bcrypt cost must be 4 to 31"}
	case c.ListLimit < 0:
		return &config.FieldError{Key: "list_limit", Problem: "must be 0 (no limit) or more"}
	case c.MaxProjectDepth < 1:
		return &config.FieldError{Key: "max_project_tree_depth", Problem: "must be at least 1"}
	case c.TOTPWindows < 0 || c.TOTPWindows > 10:
		return &config.FieldError{Key: "totp_included_previous_windows", Problem: "must be 0 to 10"}
	case c.ReceiptTTL < config.Duration(time.Second) || c.ReceiptTTL > config.Duration(24*time.Hour):
		return &config.FieldError{Key: "receipt_expiration", Problem: "must be from a second to a day"}
	}
	if err := identity.CheckAuthMethods(c.AuthMethods); err != nil {
		return &config.FieldError{Key: "auth_methods", Problem: err.Error()}
	}
	if _, err := c.Compliance(); err != nil {
		key, problem, _ := strings.Cut(err.Error(), " ")
		return &config.FieldError{Key: key, Problem: problem}
	}
	return nil
}

var (
	_ compose.Area         = (*Area)(nil)
	_ compose.Configurable = (*Area)(nil)
)

// Name is "identity".
func (*Area) Name() string { return "identity" }

// Section is the "identity" config section.
func (a *Area) Section() any { return &a.Config }

// Migrations is the identity schema.
func (*Area) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{identity.Migrations()}
}

// validatorKey is what the area provides to the areas built after it.
const validatorKey = "identity.validator"

// Validator is the identity area's token validator, for the areas built
// after it (those that Need "identity") to put identity/middleware in
// front of their APIs.
func Validator(env *compose.Env) (middleware.Validator, error) {
	v, ok := env.Lookup(validatorKey)
	if !ok {
		return nil, errors.New("needs the identity area, built before it (Needs \"identity\")")
	}
	return v.(middleware.Validator), nil
}

const serviceUserKey = "identity.service-user"

type serviceUsers func(ctx context.Context, name string) (agent.Credentials, error)

// ServiceUser returns the credentials of service user name, creating it
// on first use (with the service role on the service project, and a
// random password kept in <data_dir>/<name>-password, 0600): what an
// area hands the host agent it runs in-process, which authenticates
// over HTTP as an agent on another host would.
func ServiceUser(ctx context.Context, env *compose.Env, name string) (agent.Credentials, error) {
	f, ok := env.Lookup(serviceUserKey)
	if !ok {
		return agent.Credentials{}, errors.New("needs the identity area, built before it (Needs \"identity\")")
	}
	return f.(serviceUsers)(ctx, name)
}

// AgentSession is the session of a host agent an area runs in-process:
// service user name's credentials (ServiceUser), and the stack's own CA
// when its listeners are TLS.
func AgentSession(ctx context.Context, env *compose.Env, name string) (*agent.Session, error) {
	creds, err := ServiceUser(ctx, env, name)
	if err != nil {
		return nil, err
	}
	sess := agent.NewSession(creds)
	if env.Config.TLS.On() {
		tc, err := httpapi.ClientTLS(env.Config.TLS.CA())
		if err != nil {
			return nil, err
		}
		sess.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	return sess, nil
}

// Register puts an area's endpoint into the identity catalog (all three
// interfaces at env.URL), like `openstack endpoint create` would.
func Register(ctx context.Context, env *compose.Env, serviceType, serviceName, url string) error {
	ids := identity.NewStore(env.DB, env.Watch)
	err := identity.EnsureService(ctx, ids, env.Config.Region, serviceType, serviceName,
		map[string]string{"public": url, "internal": url, "admin": url})
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// Build sets up keys, bootstrap, revocations and policy, starts the key
// and revocation followers, writes openrc, and returns the Keystone API.
func (a *Area) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	store := identity.NewStore(env.DB, env.Watch)
	store.MaxProjectTreeDepth = a.Config.MaxProjectDepth
	store.AuthMethods = a.Config.AuthMethods
	compliance, err := a.Config.Compliance()
	if err != nil {
		return nil, err
	}
	store.Compliance = compliance
	keys, shared, err := a.openKeys(ctx, env.Config, store)
	if err != nil {
		return nil, err
	}
	onErr := func(err error) { env.Log.Warn("fernet keys", "err", err) }
	if shared != nil {
		env.Go("fernet key reload", func(ctx context.Context) error { shared.Run(ctx, 10*time.Second, onErr); return nil })
	} else {
		r := keys.(*fernet.Repository)
		env.Go("fernet key reload", func(ctx context.Context) error { r.Watch(ctx, 10*time.Second, onErr); return nil })
	}
	auth := a.newAuth(store, keys)
	credKeys, err := fernet.Setup(credentialKeyRepository(env.Config), credentialMaxActiveKeys)
	if err != nil {
		return nil, fmt.Errorf("credential keys: %w", err)
	}
	env.Go("credential key reload", func(ctx context.Context) error {
		credKeys.Watch(ctx, 10*time.Second, func(err error) { env.Log.Warn("credential keys", "err", err) })
		return nil
	})
	pw, err := adminPassword(env.Config.DataDir)
	if err != nil {
		return nil, err
	}
	url := env.URL + "/v3"
	_, err = identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{
		AdminPassword: pw, Region: env.Config.Region, PublicURL: url, InternalURL: url, AdminURL: url,
	})
	if err != nil {
		return nil, err
	}
	follower := &identity.Follower{Auth: auth, Feed: env.Watch, Keys: shared, Log: env.Log}
	if err := follower.Load(ctx); err != nil {
		return nil, err
	}
	env.Go("revocation follower", follower.Run)
	enf, err := a.policy()
	if err != nil {
		return nil, err
	}
	v := api.Validator(auth)
	env.Provide(validatorKey, v)
	env.Provide(serviceUserKey, serviceUsers(func(ctx context.Context, name string) (agent.Credentials, error) {
		pw, err := secretFile(env.Config.DataDir, name+"-password")
		if err != nil {
			return agent.Credentials{}, err
		}
		if _, err := identity.EnsureServiceUser(ctx, store, auth.Hasher, name, pw); err != nil {
			return agent.Credentials{}, err
		}
		return agent.Credentials{AuthURL: url, Username: name, Password: pw, Project: identity.ServiceProject,
			Region: env.Config.Region}, nil
	}))
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Plain}
	env.ProtectAdmin(func(h http.Handler) http.Handler { return mw.Wrap(requireRole(h, "admin", "service")) })
	if err := writeOpenRC(env.Config, url, pw); err != nil {
		return nil, err
	}
	env.Log.Info("openrc written", "path", filepath.Join(absPath(env.Config.DataDir), "openrc"))
	creds := &identity.Credentials{Store: store, Keys: credKeys}
	auth.Credentials = creds
	return (&api.API{Auth: auth, Store: store, Policy: enf, ListLimit: a.Config.ListLimit, Credentials: creds}).Handler(), nil
}

// requireRole lets through callers holding one of roles, else 403.
func requireRole(h http.Handler, roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := middleware.CallerFrom(r.Context()); ok {
			for _, role := range roles {
				if c.HasRole(role) {
					h.ServeHTTP(w, r)
					return
				}
			}
		}
		httpapi.WriteError(w, r, httpapi.Plain, fault.New(fault.Forbidden, "the watch feed needs the admin or service role"))
	})
}

// stockOverrides makes the daemon behave as a stock Keystone 22, which
// ORs each new default with its deprecated rule (enforce_new_defaults is
// false): only identity:get_project lacks the admin clause without it, and
// without it a project-scoped admin (the openrc) cannot show a project.
const stockOverrides = `"identity:get_project": "rule:admin_required or project_id:%(target.project.id)s or (role:reader and system_scope:all) or (role:reader and domain_id:%(target.project.domain_id)s)"`

// policy is Keystone's defaults with the stock overrides, or with the
// operator's policy file instead of them.
func (a *Area) policy() (*policy.Enforcer, error) {
	enf := policy.New()
	if err := enf.Register(policy.KeystoneDefaults()...); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var err error
	if a.Config.PolicyFile != "" {
		err = enf.LoadFile(a.Config.PolicyFile)
	} else {
		err = enf.Load([]byte(stockOverrides))
	}
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return enf, nil
}

// keyRepository is the effective key directory.
func (a *Area) keyRepository(core *compose.Config) string {
	if a.Config.KeyRepository != "" {
		return a.Config.KeyRepository
	}
	return filepath.Join(core.DataDir, "fernet-keys")
}

// credentialMaxActiveKeys is Keystone's MAX_ACTIVE_KEYS for the
// credential key repository (fixed, not max_active_keys).
const credentialMaxActiveKeys = 3

// credentialKeyRepository is the credential key directory, Keystone's
// [credential] key_repository: <data_dir>/credential-keys, a key set of
// its own beside the token keys, also with shared_keys (every controller
// must then hold the same directory, as every Keystone must).
func credentialKeyRepository(core *compose.Config) string {
	return filepath.Join(core.DataDir, "credential-keys")
}

// openKeys opens the key repository: shared in the store, or files. Both
// are created on the first start; later starts only repair (a file
// rotation killed part-way is finished, a missing staged key is staged),
// never rotate or purge, so a start does not invalidate a token.
func (a *Area) openKeys(ctx context.Context, core *compose.Config, store *identity.Store) (fernet.KeySource, *identity.SharedKeys, error) {
	if !a.Config.SharedKeys {
		r, err := fernet.Setup(a.keyRepository(core), a.Config.MaxActiveKeys)
		return r, nil, err
	}
	node, err := nodeID(core.DataDir)
	if err != nil {
		return nil, nil, err
	}
	k, err := identity.NewSharedKeys(ctx, store, node, a.Config.MaxActiveKeys)
	if err != nil {
		return nil, nil, err
	}
	k.TokenTTL = a.Config.TokenExpiration.D() + 48*time.Hour // plus Keystone's allow_expired window
	return k, k, nil
}

func (a *Area) newAuth(store *identity.Store, keys fernet.KeySource) *identity.Auth {
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys, Methods: a.Config.AuthMethods})
	auth.TokenTTL = a.Config.TokenExpiration.D()
	auth.TOTPWindows = a.Config.TOTPWindows
	auth.ReceiptTTL = a.Config.ReceiptTTL.D()
	auth.Hasher = password.Hasher{Rounds: a.Config.PasswordRounds}
	return auth
}
