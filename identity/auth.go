package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
)

// Auth authenticates users and issues and validates tokens over a
// Store. Create it with NewAuth; it is safe for concurrent use.
type Auth struct {
	Store    *Store
	Tokens   *fernet.Formatter
	Hasher   password.Hasher
	TokenTTL time.Duration // default one hour, as Keystone
	// ReceiptTTL is how long an auth receipt lasts (DefaultReceiptTTL
	// if 0).
	ReceiptTTL time.Duration
	// Credentials hold the users' totp secrets (the totp method fails
	// without them); TOTPWindows is Keystone's [totp]
	// included_previous_windows: steps before the current one whose
	// passcode is taken too (NewAuth sets DefaultTOTPWindows).
	Credentials *Credentials
	TOTPWindows int
	Now         func() time.Time

	revoked revoke.Index
	gen     atomic.Int64

	dummyOnce sync.Once
	dummy     string
}

// NewAuth returns an Auth. Call LoadRevocations before serving.
func NewAuth(store *Store, tokens *fernet.Formatter) *Auth {
	return &Auth{Store: store, Tokens: tokens, TokenTTL: time.Hour, TOTPWindows: DefaultTOTPWindows}
}

func (s *Auth) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// errUnauthorized is Keystone's generic 401: it never says which part of
// the credentials was wrong.
var errUnauthorized = &fault.Error{Kind: fault.Unauthorized, Message: "The request you have made requires authentication."}

func unauthorized(format string, args ...any) error {
	return &fault.Error{Kind: fault.Unauthorized, Message: fmt.Sprintf(format, args...)}
}

// Scope is what a token is for. At most one of project, domain and system.
type Scope struct {
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
	DomainID, DomainName                                       string
	System                                                     bool
	Unscoped                                                   bool   // explicit "unscoped": ignore the default project
	TrustID                                                    string // "OS-TRUST:trust": a trust the user is the trustee of
}

func (sc Scope) project() bool { return sc.ProjectID != "" || sc.ProjectName != "" }
func (sc Scope) domain() bool  { return sc.DomainID != "" || sc.DomainName != "" }

// UserRef names a user by id, or by name and domain (id or name).
type UserRef struct {
	ID, Name, DomainID, DomainName string
}

// AuthRequest is POST /v3/auth/tokens, decoded.
type AuthRequest struct {
	Methods  []string
	Password *PasswordAuth
	Token    string // for the "token" method
	AppCred  *AppCredAuth
	TOTP     *TOTPAuth
	Scope    Scope
	// Receipt is an auth receipt (the Openstack-Auth-Receipt header):
	// the methods it records count with Methods towards the user's
	// multi-factor rules.
	Receipt string
}

// PasswordAuth is the "password" method.
type PasswordAuth struct {
	User     UserRef
	Password string
}

// AppCredAuth is the "application_credential" method.
type AppCredAuth struct {
	ID, Name string
	User     UserRef // with Name: whose credential
	Secret   string
}

// Token is a validated token and everything it stands for.
type Token struct {
	ID            string // the token itself: a secret
	Payload       fernet.Payload
	User          User
	UserDomain    Domain
	Project       *Project
	ProjectDomain *Domain
	Domain        *Domain
	System        bool
	Roles         []Role
	AppCred       *AppCred
	// Trust is the trust of a trust-scoped token. User is then the user
	// the token shows: the trustor when the trust impersonates, else the
	// trustee (Payload.UserID is always the trustee).
	Trust *Trust
}

// Authenticate checks the credentials, resolves the scope and issues a
// token. Every credential failure is the same 401. When the methods (a
// parent token's and the receipt's included) satisfy none of the user's
// multi-factor rules in force, the error is an *MFARequired carrying a
// new receipt, as Keystone's authenticate_for_token answers.
func (s *Auth) Authenticate(ctx context.Context, req AuthRequest) (Token, error) {
	if len(req.Methods) == 0 {
		return Token{}, fault.Invalid("auth.identity.methods", "at least one authentication method is required")
	}
	methods := slices.Compact(slices.Sorted(slices.Values(req.Methods)))
	var (
		user    *User
		parent  *fernet.Payload
		appCred *AppCred
	)
	// Every listed method must succeed, for the same user (Keystone's
	// multi-method authentication).
	served := s.Store.ServedMethods()
	for _, m := range methods {
		if !slices.Contains(served, m) {
			return Token{}, unauthorized("Attempted to authenticate with an unsupported method.")
		}
		u, err := s.authMethod(ctx, m, req, &parent, &appCred)
		if err != nil {
			return Token{}, err
		}
		if user != nil && user.ID != u.ID {
			return Token{}, errUnauthorized
		}
		user = &u
	}
	if req.Receipt != "" {
		got, err := s.receiptMethods(req.Receipt, user.ID)
		if err != nil {
			return Token{}, err
		}
		methods = mergeMethods(methods, got)
	}
	all := methods
	if parent != nil {
		all = mergeMethods(parent.Methods, methods)
	}
	if err := s.checkMFA(ctx, *user, all); err != nil {
		return Token{}, err
	}
	req.Methods = methods
	return s.issue(ctx, *user, req, parent, appCred)
}

// authMethod checks one method and returns its user.
func (s *Auth) authMethod(ctx context.Context, m string, req AuthRequest, parent **fernet.Payload, ac **AppCred) (User, error) {
	switch m {
	case "password":
		if req.Password == nil {
			return User{}, fault.Invalid("auth.identity.password", "the password method needs a password object")
		}
		return s.checkPassword(ctx, *req.Password)
	case "token":
		if req.Token == "" {
			return User{}, fault.Invalid("auth.identity.token.id", "the token method needs a token id")
		}
		p, u, err := s.checkToken(ctx, req.Token)
		*parent = &p
		return u, err
	case "application_credential":
		if req.AppCred == nil {
			return User{}, fault.Invalid("auth.identity.application_credential", "the application_credential method needs an application_credential object")
		}
		a, u, err := s.checkAppCred(ctx, *req.AppCred)
		*ac = &a
		return u, err
	case "totp":
		if req.TOTP == nil {
			return User{}, fault.Invalid("auth.identity.totp", "the totp method needs a totp object with a user and a passcode")
		}
		return s.checkTOTP(ctx, *req.TOTP)
	}
	return User{}, unauthorized("Attempted to authenticate with an unsupported method.")
}

func (s *Auth) lookupUser(ctx context.Context, ref UserRef) (User, error) {
	if ref.ID != "" {
		return s.Store.GetUser(ctx, ref.ID)
	}
	if ref.Name == "" {
		return User{}, fault.Invalid("auth.identity.password.user", "a user needs an id, or a name and a domain")
	}
	domainID := ref.DomainID
	if domainID == "" {
		if ref.DomainName == "" {
			return User{}, fault.Invalid("auth.identity.password.user.domain", "a user given by name needs a domain id or name")
		}
		d, err := s.Store.GetDomainByName(ctx, ref.DomainName)
		if err != nil {
			return User{}, err
		}
		domainID = d.ID
	}
	return s.Store.GetUserByName(ctx, domainID, ref.Name)
}

// usable: the user and their domain are enabled.
func (s *Auth) usable(ctx context.Context, u User) (Domain, error) {
	d, err := s.Store.GetDomain(ctx, u.DomainID)
	if err != nil || !u.Enabled || !d.Enabled {
		return d, errUnauthorized
	}
	return d, nil
}

func (s *Auth) checkPassword(ctx context.Context, pa PasswordAuth) (User, error) {
	u, err := s.lookupUser(ctx, pa.User)
	if fault.KindOf(err) == fault.BadRequest {
		return User{}, err
	}
	if err != nil {
		// Spend the time a real check would, so a missing user is not
		// told apart by timing.
		s.Hasher.Verify(pa.Password, s.dummyHash())
		return User{}, errUnauthorized
	}
	if err := s.verifyPassword(ctx, u, pa.Password); err != nil {
		return User{}, err
	}
	if _, err := s.usable(ctx, u); err != nil {
		return User{}, err
	}
	if expired(u, s.now()) {
		return User{}, unauthorized("The password is expired and needs to be changed for user: %s.", u.ID)
	}
	// Keystone's identity authenticate: a success is the user's activity.
	if err := s.Store.RecordActive(ctx, u); err != nil {
		return User{}, err
	}
	if u.FailedAuths > 0 { // a write only when there is something to forget
		return u, s.Store.ResetFailedAuth(ctx, u.ID)
	}
	return u, nil
}

// verifyPassword is the password check of Keystone's sql authenticate,
// with its lockout: a locked-out user is refused (the generic 401, as
// Keystone's notification wrapper turns AccountLocked into it) without
// a check; a wrong password counts as a failed authentication.
func (s *Auth) verifyPassword(ctx context.Context, u User, pw string) error {
	c := &s.Store.Compliance
	now := s.now()
	if c.locked(u, now) {
		return errUnauthorized
	}
	if u.FailedAuths >= c.LockoutFailureAttempts && c.LockoutFailureAttempts > 0 && !u.lockoutExempt() {
		// A lockout that ran out: its count starts again.
		if err := s.Store.ResetFailedAuth(ctx, u.ID); err != nil {
			return err
		}
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash() // no password: nothing matches, at the same cost
	}
	// A hash that cannot be read or a password too long to check
	// (password.ErrTooLong) fails as a wrong password does.
	if ok, err := s.Hasher.Verify(pw, hash); !ok || err != nil || u.PasswordHash == "" {
		if err := s.Store.RecordFailedAuth(ctx, u.ID); err != nil {
			return err
		}
		return errUnauthorized
	}
	return nil
}

// NewPasswordHash checks a password an administrator or a user sets
// against the password_regex (Keystone's validate_password, 400) and
// hashes it.
func (s *Auth) NewPasswordHash(pw string) (string, error) {
	if err := s.Store.Compliance.CheckPassword(pw); err != nil {
		return "", err
	}
	return s.Hasher.Hash(pw)
}

// dummyHash is a hash of a random password made with this Auth's hasher,
// so checking against it costs what a real check costs.
func (s *Auth) dummyHash() string {
	s.dummyOnce.Do(func() {
		var b [16]byte
		rand.Read(b[:])
		s.dummy, _ = s.Hasher.Hash(base64.StdEncoding.EncodeToString(b[:]))
	})
	return s.dummy
}

func (s *Auth) checkToken(ctx context.Context, tok string) (fernet.Payload, User, error) {
	t, err := s.Validate(ctx, tok)
	if err != nil {
		return fernet.Payload{}, User{}, err
	}
	// Keystone's token method: a trust-scoped token, or one from a
	// delegated credential (an application credential, an ec2 credential:
	// any method that is not primary, or none), gets no other token.
	const refused = "You are not authorized to perform the requested action: "
	if t.Trust != nil {
		return fernet.Payload{}, User{}, forbidden(refused + "Using trust-scoped token to create another token. Create a new trust-scoped token instead.")
	}
	if t.AppCred != nil || len(t.Payload.Methods) == 0 ||
		slices.ContainsFunc(t.Payload.Methods, func(m string) bool { return !slices.Contains(primaryMethods, m) }) {
		return fernet.Payload{}, User{}, forbidden(refused + "Using a delegated token to create another token is not allowed..")
	}
	return t.Payload, t.User, nil
}

// primaryMethods are Keystone's primary (not delegated) authentication
// methods (keystone/api/_shared/delegation.py): a token whose methods
// are all among them may be exchanged for another.
var primaryMethods = []string{"external", "kerberos", "mapped", "openid", "password", "saml2", "token", "totp", "x509"}

func (s *Auth) checkAppCred(ctx context.Context, a AppCredAuth) (AppCred, User, error) {
	var ac AppCred
	var err error
	if a.ID != "" {
		ac, err = s.Store.GetAppCred(ctx, a.ID)
	} else {
		var u User
		if u, err = s.lookupUser(ctx, a.User); err == nil {
			ac, err = s.Store.GetAppCredByName(ctx, u.ID, a.Name)
		}
	}
	if err != nil {
		s.Hasher.Verify(a.Secret, s.dummyHash())
		return AppCred{}, User{}, errUnauthorized
	}
	if ok, err := s.Hasher.Verify(a.Secret, ac.SecretHash); !ok || err != nil {
		return AppCred{}, User{}, errUnauthorized
	}
	if ac.ExpiresAt != nil && !s.now().Before(*ac.ExpiresAt) {
		return AppCred{}, User{}, errUnauthorized
	}
	u, err := s.Store.GetUser(ctx, ac.UserID)
	if err != nil {
		return AppCred{}, User{}, errUnauthorized
	}
	if _, err := s.usable(ctx, u); err != nil {
		return AppCred{}, User{}, err
	}
	return ac, u, nil
}

// newAuditID is Keystone's: 16 random bytes, URL-safe base64, unpadded.
func newAuditID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// issue resolves the scope, checks the user has roles there, and makes
// the token.
func (s *Auth) issue(ctx context.Context, u User, req AuthRequest, parent *fernet.Payload, ac *AppCred) (Token, error) {
	p := fernet.Payload{UserID: u.ID, Methods: slices.Clone(req.Methods), AuditIDs: []string{newAuditID()}}
	p.ExpiresAt = s.now().Add(s.TokenTTL).UTC().Truncate(time.Second)
	if parent != nil {
		// A rescoped token keeps its parent's expiry and audit chain.
		p.ExpiresAt = parent.ExpiresAt
		p.AuditIDs = append(p.AuditIDs, parent.AuditIDs[len(parent.AuditIDs)-1])
		p.Methods = mergeMethods(parent.Methods, req.Methods)
	}
	if ac != nil {
		if req.Scope.project() || req.Scope.domain() || req.Scope.System || req.Scope.TrustID != "" {
			if req.Scope.ProjectID != ac.ProjectID {
				return Token{}, forbidden("Application credentials cannot request a scope.")
			}
		}
		p.ProjectID, p.AppCredID = ac.ProjectID, ac.ID
		if ac.ExpiresAt != nil && ac.ExpiresAt.Before(p.ExpiresAt) {
			p.ExpiresAt = ac.ExpiresAt.Truncate(time.Second)
		}
	} else if req.Scope.TrustID != "" {
		if err := s.trustScope(ctx, u, req.Scope.TrustID, &p); err != nil {
			return Token{}, err
		}
	} else if err := s.resolveScope(ctx, u, req.Scope, &p); err != nil {
		return Token{}, err
	}
	tok, err := s.Tokens.Issue(p)
	if err != nil {
		return Token{}, err
	}
	p.IssuedAt = s.now().UTC().Truncate(time.Second)
	p.Version = fernet.PayloadVersion(p)
	t, err := s.expand(ctx, tok, p)
	if err != nil || p.TrustID == "" {
		return t, err
	}
	// Keystone takes a use only once the token is made; the token is not
	// handed out when the last use went to a concurrent request.
	if err := s.Store.ConsumeTrustUse(ctx, p.TrustID); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Token{}, unauthorized("Could not find trust: %s.", p.TrustID)
		}
		return Token{}, err
	}
	return t, nil
}

func mergeMethods(a, b []string) []string {
	out := slices.Clone(a)
	for _, m := range b {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Auth) resolveScope(ctx context.Context, u User, sc Scope, p *fernet.Payload) error {
	switch {
	case sc.project():
		proj, err := s.findProject(ctx, sc)
		if err != nil {
			return err
		}
		p.ProjectID = proj.ID
	case sc.domain():
		d, err := s.findDomain(ctx, sc.DomainID, sc.DomainName)
		if err != nil {
			return err
		}
		p.DomainID = d.ID
	case sc.System:
		p.System = "all"
	case !sc.Unscoped && u.DefaultProjectID != "":
		// Keystone scopes to the default project when the user still has
		// a role there, and issues an unscoped token otherwise.
		if roles, err := s.Store.EffectiveRoleIDs(ctx, u.ID, TargetProject, u.DefaultProjectID); err == nil && len(roles) > 0 {
			p.ProjectID = u.DefaultProjectID
		}
	}
	return nil
}

func (s *Auth) findProject(ctx context.Context, sc Scope) (Project, error) {
	var proj Project
	var err error
	if sc.ProjectID != "" {
		proj, err = s.Store.GetProject(ctx, sc.ProjectID)
	} else {
		var d Domain
		if d, err = s.findDomain(ctx, sc.ProjectDomainID, sc.ProjectDomainName); err != nil {
			if fault.KindOf(err) == fault.BadRequest {
				return Project{}, fault.Invalid("auth.scope.project.domain", "a project given by name needs a domain id or name")
			}
			return Project{}, unauthorized("Could not find project's domain.")
		}
		proj, err = s.Store.GetProjectByName(ctx, d.ID, sc.ProjectName)
	}
	if err != nil {
		return Project{}, unauthorized("Could not find project.")
	}
	return proj, nil
}

func (s *Auth) findDomain(ctx context.Context, id, name string) (Domain, error) {
	if id != "" {
		return s.Store.GetDomain(ctx, id)
	}
	if name == "" {
		return Domain{}, fault.Invalid("auth.scope.domain", "a domain needs an id or a name")
	}
	return s.Store.GetDomainByName(ctx, name)
}
