package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// API serves Keystone v3.
type API struct {
	Auth   *identity.Auth
	Store  *identity.Store
	Policy *policy.Enforcer
	// ListLimit is Keystone's list_limit: the most entities the lists
	// Keystone limits answer (users, groups, a group's users, a user's
	// groups, projects, domains, roles, services and endpoints), with
	// "truncated": true when there were more. 0, Keystone's default, is
	// no limit.
	ListLimit int
	// Credentials keeps /v3/credentials and the EC2 credentials, their
	// blobs encrypted with the credential keys; nil answers 404 on those
	// routes and on /v3/ec2tokens.
	Credentials *identity.Credentials
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	rt := httpapi.NewRouter(httpapi.Keystone)
	rt.HandleFunc("GET /{$}", a.versions)
	rt.HandleFunc("GET /v3", a.version)
	rt.HandleFunc("GET /v3/{$}", a.version)
	a.tokenRoutes(rt)
	a.resourceRoutes(rt)
	a.tagRoutes(rt)
	a.userRoutes(rt)
	a.roleRoutes(rt)
	a.catalogRoutes(rt)
	a.appCredRoutes(rt)
	a.credentialRoutes(rt)
	a.trustRoutes(rt)
	a.epFilterRoutes(rt)
	a.policyBlobRoutes(rt)
	return rt
}

// Routes returns the route patterns Handler serves, for tests that must
// cover every route (the hostile-input suite) and for documentation.
func (a *API) Routes() []string { return a.Handler().(*httpapi.Router).Patterns() }

type callerKey struct{}

// caller returns the validated token of the request (set by authed).
func caller(ctx context.Context) *identity.Token {
	t, _ := ctx.Value(callerKey{}).(*identity.Token)
	return t
}

// authed wraps h: the request must carry a valid X-Auth-Token.
func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Auth-Token")
		if tok == "" {
			a.fail(w, r, &fault.Error{Kind: fault.Unauthorized, Message: "The request you have made requires authentication."})
			return
		}
		t, err := a.Auth.Validate(r.Context(), tok)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, &t)))
	}
}

// anyone serves calls that need no token, as Keystone's unenforced ones:
// a token sent must still be valid, and its caller is in the context.
func (a *API) anyone(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") == "" {
			h(w, r)
			return
		}
		a.authed(h)(w, r)
	}
}

// Creds are the policy view of a token.
func Creds(t *identity.Token) policy.Creds {
	c := policy.Creds{UserID: t.User.ID, UserDomainID: t.User.DomainID}
	switch {
	case t.Project != nil:
		c.ProjectID, c.ProjectDomainID = t.Project.ID, t.Project.DomainID
	case t.Domain != nil:
		c.DomainID = t.Domain.ID
	case t.System:
		c.SystemScope = "all"
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, r.Name)
	}
	// Keystone's rules also read the rendered token ("token.domain.id",
	// "token.project.domain.id").
	tok := map[string]any{"user": map[string]any{"id": t.User.ID, "domain": map[string]any{"id": t.User.DomainID}}}
	if t.Project != nil {
		tok["project"] = map[string]any{"id": t.Project.ID, "domain": map[string]any{"id": t.Project.DomainID}}
	}
	if t.Domain != nil {
		tok["domain"] = map[string]any{"id": t.Domain.ID}
	}
	c.Extra = map[string]any{"token": tok}
	return c
}

// allow runs the policy check with target flattened under "target."; on
// denial it writes the 403 and returns false.
func (a *API) allow(w http.ResponseWriter, r *http.Request, rule string, target map[string]any) bool {
	return a.allowWith(w, r, rule, target, nil)
}

// member loads the resource a URL names and checks rule on it. When it
// is missing, the rule is checked against the id asked for, so a caller
// who may not read such resources gets 403, never a 404 that tells them
// what exists.
func member[T any](a *API, w http.ResponseWriter, r *http.Request, rule, kind string,
	get func() (T, error), target func(T) map[string]any, attrs map[string]any) (T, bool) {
	v, err := get()
	if err != nil {
		if a.allowWith(w, r, rule, map[string]any{kind: map[string]any{"id": r.PathValue("id")}}, attrs) {
			a.fail(w, r, err)
		}
		return v, false
	}
	return v, a.allowWith(w, r, rule, target(v), attrs)
}

// allowWith also passes attrs as top-level target keys, as Keystone's
// target_attr ("user_id:%(user_id)s").
func (a *API) allowWith(w http.ResponseWriter, r *http.Request, rule string, target, attrs map[string]any) bool {
	flat := policy.Flatten("target", target)
	for k, v := range attrs {
		flat[k] = v
	}
	err := a.Policy.Enforce(r.Context(), rule, flat, Creds(caller(r.Context())))
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, httpapi.Keystone, err)
}

// base is the public URL of this API, from the request.
func base(r *http.Request) string { return strings.TrimSuffix(httpapi.BaseURL(r), "/") }

func selfLink(r *http.Request, path string) map[string]any {
	return map[string]any{"self": base(r) + "/v3/" + path}
}

// collection is Keystone's list envelope.
func collection(r *http.Request, key string, items any) map[string]any {
	self := base(r) + r.URL.Path
	return map[string]any{key: items, "links": map[string]any{"self": self, "previous": nil, "next": nil}}
}

// scopeTarget is Keystone's target_attr for list calls: the caller's
// domain when the token is domain-scoped, else no target at all (so
// "domain_id:%(target.domain_id)s" fails instead of matching None).
func scopeTarget(r *http.Request, wrap string) map[string]any {
	t := caller(r.Context())
	if t.Domain == nil {
		return nil
	}
	if wrap != "" {
		return map[string]any{wrap: map[string]any{"domain_id": t.Domain.ID}}
	}
	return map[string]any{"domain_id": t.Domain.ID}
}

// callerDomain is the domain of a domain-scoped caller ("" otherwise):
// lists are confined to it, whatever the query asks, as in Keystone.
func callerDomain(r *http.Request) string {
	if t := caller(r.Context()); t.Domain != nil {
		return t.Domain.ID
	}
	return ""
}

func ptr[T any](v T) *T { return &v }
