package middleware

import (
	"context"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Caller is who made a request, as a validated token says.
type Caller struct {
	UserID, UserName, UserDomainID, UserDomainName string
	ProjectID, ProjectName, ProjectDomainID        string
	DomainID, DomainName                           string
	System                                         bool // system scope ("all")
	Roles                                          []string
	AuditIDs                                       []string
	ExpiresAt                                      time.Time
	AppCredID                                      string
}

// Creds is the caller as oslo.policy sees it, for policy.Enforcer.Enforce:
// every service API behind this middleware checks its rules with it.
func (c *Caller) Creds() policy.Creds {
	cr := policy.Creds{UserID: c.UserID, UserDomainID: c.UserDomainID, ProjectID: c.ProjectID,
		ProjectDomainID: c.ProjectDomainID, DomainID: c.DomainID, Roles: slices.Clone(c.Roles)}
	if c.System {
		cr.SystemScope = "all"
	}
	return cr
}

// HasRole reports whether the caller holds the role (case-insensitive, as
// oslo.policy matches roles).
func (c *Caller) HasRole(role string) bool {
	return slices.ContainsFunc(c.Roles, func(r string) bool { return strings.EqualFold(r, role) })
}

// Validator turns a token into its caller. Generation must change whenever
// anything that could change a validation's outcome changes.
type Validator interface {
	ValidateCaller(ctx context.Context, token string) (Caller, error)
	Generation() int64
}

// Middleware authenticates requests. Set Validator; the rest is optional.
type Middleware struct {
	Validator Validator
	// Style is the error body format (default Keystone's).
	Style httpapi.Style
	// ServiceRoles make an X-Service-Token acceptable (default "service"
	// and "admin").
	ServiceRoles []string
	// Optional lets requests without a token through, unauthenticated
	// (keystonemiddleware's delay_auth_decision); a bad token is still a 401.
	Optional bool
	// MaxCached bounds the cache (default 100000 tokens).
	MaxCached int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.RWMutex
	cache map[[32]byte]entry
}

type entry struct {
	caller Caller
	gen    int64
}

type ctxKey int

const (
	callerKey ctxKey = iota
	serviceKey
)

// CallerFrom returns the authenticated caller of the request.
func CallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey).(*Caller)
	return c, ok
}

// ServiceCallerFrom returns the caller of a valid X-Service-Token.
func ServiceCallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(serviceKey).(*Caller)
	return c, ok
}

// identityHeaders are the headers keystonemiddleware sets; a client must
// never be able to send them.
var identityHeaders = []string{
	"X-Identity-Status", "X-Service-Identity-Status", "X-User-Id", "X-User-Name", "X-User-Domain-Id",
	"X-User-Domain-Name", "X-Project-Id", "X-Project-Name", "X-Project-Domain-Id", "X-Domain-Id",
	"X-Domain-Name", "X-System-Scope", "X-Roles", "X-Service-User-Id", "X-Service-Project-Id", "X-Service-Roles",
}

// Wrap returns next behind token validation.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range identityHeaders {
			r.Header.Del(h)
		}
		tok := r.Header.Get("X-Auth-Token")
		if tok == "" {
			if m.Optional {
				r.Header.Set("X-Identity-Status", "Invalid")
				next.ServeHTTP(w, r)
				return
			}
			m.deny(w, r)
			return
		}
		c, err := m.validate(r.Context(), tok)
		if err != nil {
			m.deny(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), callerKey, &c)
		setHeaders(r.Header, &c)
		if st := r.Header.Get("X-Service-Token"); st != "" {
			sc, err := m.validate(r.Context(), st)
			if err != nil || !slices.ContainsFunc(m.serviceRoles(), sc.HasRole) {
				m.deny(w, r)
				return
			}
			ctx = context.WithValue(ctx, serviceKey, &sc)
			r.Header.Set("X-Service-Identity-Status", "Confirmed")
			r.Header.Set("X-Service-User-Id", sc.UserID)
			r.Header.Set("X-Service-Project-Id", sc.ProjectID)
			r.Header.Set("X-Service-Roles", strings.Join(sc.Roles, ","))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (m *Middleware) serviceRoles() []string {
	if m.ServiceRoles == nil {
		return []string{"service", "admin"}
	}
	return m.ServiceRoles
}

func (m *Middleware) deny(w http.ResponseWriter, r *http.Request) {
	style := m.Style
	if style == httpapi.Plain {
		style = httpapi.Keystone
	}
	httpapi.WriteError(w, r, style, &fault.Error{Kind: fault.Unauthorized, Message: "The request you have made requires authentication."})
}

func setHeaders(h http.Header, c *Caller) {
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	h.Set("X-Identity-Status", "Confirmed")
	set("X-User-Id", c.UserID)
	set("X-User-Name", c.UserName)
	set("X-User-Domain-Id", c.UserDomainID)
	set("X-User-Domain-Name", c.UserDomainName)
	set("X-Project-Id", c.ProjectID)
	set("X-Project-Name", c.ProjectName)
	set("X-Project-Domain-Id", c.ProjectDomainID)
	set("X-Domain-Id", c.DomainID)
	set("X-Domain-Name", c.DomainName)
	if c.System {
		h.Set("X-System-Scope", "all")
	}
	h.Set("X-Roles", strings.Join(c.Roles, ","))
}

func (m *Middleware) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// validate answers from the cache when the entry is of the current
// generation and unexpired, else asks the Validator.
func (m *Middleware) validate(ctx context.Context, tok string) (Caller, error) {
	key := sha256.Sum256([]byte(tok))
	gen := m.Validator.Generation()
	m.mu.RLock()
	e, ok := m.cache[key]
	m.mu.RUnlock()
	if ok && e.gen == gen && m.now().Before(e.caller.ExpiresAt) {
		return e.caller, nil
	}
	c, err := m.Validator.ValidateCaller(ctx, tok)
	if err != nil {
		return Caller{}, err
	}
	m.mu.Lock()
	if m.cache == nil || len(m.cache) >= m.maxCached() {
		m.cache = map[[32]byte]entry{} // simple and bounded: start over
	}
	m.cache[key] = entry{caller: c, gen: gen}
	m.mu.Unlock()
	return c, nil
}

func (m *Middleware) maxCached() int {
	if m.MaxCached <= 0 {
		return 100000
	}
	return m.MaxCached
}
