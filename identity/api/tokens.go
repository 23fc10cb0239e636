package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) tokenRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v3/auth/tokens", a.issueToken)
	rt.HandleFunc("GET /v3/auth/tokens", a.authed(a.validateToken))
	rt.HandleFunc("HEAD /v3/auth/tokens", a.authed(a.checkToken))
	rt.HandleFunc("DELETE /v3/auth/tokens", a.authed(a.revokeToken))
	rt.HandleFunc("GET /v3/auth/catalog", a.authed(a.authCatalog))
	rt.HandleFunc("GET /v3/auth/projects", a.authed(a.authProjects))
	rt.HandleFunc("GET /v3/auth/domains", a.authed(a.authDomains))
	rt.HandleFunc("GET /v3/auth/system", a.authed(a.authSystem))
}

type nameOrID struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain *nameOrID `json:"domain"`
}

type authBody struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					ID       string    `json:"id"`
					Name     string    `json:"name"`
					Domain   *nameOrID `json:"domain"`
					Password *string   `json:"password"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
			AppCred *struct {
				ID     string    `json:"id"`
				Name   string    `json:"name"`
				Secret string    `json:"secret"`
				User   *nameOrID `json:"user"`
			} `json:"application_credential"`
			TOTP *struct {
				User *struct {
					ID       string    `json:"id"`
					Name     string    `json:"name"`
					Domain   *nameOrID `json:"domain"`
					Passcode *string   `json:"passcode"`
				} `json:"user"`
			} `json:"totp"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

func userRef(n *nameOrID) identity.UserRef {
	ref := identity.UserRef{ID: n.ID, Name: n.Name}
	if n.Domain != nil {
		ref.DomainID, ref.DomainName = n.Domain.ID, n.Domain.Name
	}
	return ref
}

// decodeAuth turns the request body into an AuthRequest, with 400s that
// name the bad field.
func decodeAuth(w http.ResponseWriter, r *http.Request) (identity.AuthRequest, error) {
	var body authBody
	if err := decode(w, r, &body); err != nil {
		return identity.AuthRequest{}, err
	}
	if body.Auth == nil || body.Auth.Identity == nil {
		return identity.AuthRequest{}, fault.Invalid("auth.identity", "'identity' is a required property")
	}
	id := body.Auth.Identity
	req := identity.AuthRequest{Methods: id.Methods, Receipt: r.Header.Get(receiptHeader)}
	if len(req.Methods) == 0 {
		return req, fault.Invalid("auth.identity.methods", "'methods' is a required property")
	}
	if p := id.Password; p != nil {
		if p.User == nil || p.User.Password == nil {
			return req, fault.Invalid("auth.identity.password.user", "'user' with a 'password' is required")
		}
		u := nameOrID{ID: p.User.ID, Name: p.User.Name, Domain: p.User.Domain}
		req.Password = &identity.PasswordAuth{User: userRef(&u), Password: *p.User.Password}
	}
	if id.Token != nil {
		req.Token = id.Token.ID
	}
	if p := id.TOTP; p != nil {
		if p.User == nil || p.User.Passcode == nil {
			return req, fault.Invalid("auth.identity.totp.user", "'user' with a 'passcode' is required")
		}
		u := nameOrID{ID: p.User.ID, Name: p.User.Name, Domain: p.User.Domain}
		req.TOTP = &identity.TOTPAuth{User: userRef(&u), Passcode: *p.User.Passcode}
	}
	if ac := id.AppCred; ac != nil {
		req.AppCred = &identity.AppCredAuth{ID: ac.ID, Name: ac.Name, Secret: ac.Secret}
		if ac.User != nil {
			req.AppCred.User = userRef(ac.User)
		}
	}
	sc, err := decodeScope(body.Auth.Scope)
	req.Scope = sc
	return req, err
}

func decodeScope(raw json.RawMessage) (identity.Scope, error) {
	var sc identity.Scope
	if len(raw) == 0 || string(raw) == "null" {
		return sc, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s != "unscoped" {
			return sc, fault.Invalid("auth.scope", "scope must be an object or \"unscoped\"")
		}
		sc.Unscoped = true
		return sc, nil
	}
	var obj struct {
		Project *nameOrID `json:"project"`
		Domain  *nameOrID `json:"domain"`
		System  *struct {
			All bool `json:"all"`
		} `json:"system"`
		Trust *struct {
			ID string `json:"id"`
		} `json:"OS-TRUST:trust"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return sc, fault.Invalid("auth.scope", "scope is malformed")
	}
	n := 0
	for _, set := range []bool{obj.Project != nil, obj.Domain != nil, obj.System != nil, obj.Trust != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return sc, fault.Invalid("auth.scope", "only one of system, project, domain, OS-TRUST:trust or unscoped")
	}
	switch {
	case obj.Trust != nil:
		if sc.TrustID = obj.Trust.ID; sc.TrustID == "" {
			return sc, fault.Invalid("auth.scope.OS-TRUST:trust.id", "a trust needs an id")
		}
	case obj.Project != nil:
		sc.ProjectID, sc.ProjectName = obj.Project.ID, obj.Project.Name
		if obj.Project.Domain != nil {
			sc.ProjectDomainID, sc.ProjectDomainName = obj.Project.Domain.ID, obj.Project.Domain.Name
		}
		if sc.ProjectID == "" && sc.ProjectName == "" {
			return sc, fault.Invalid("auth.scope.project", "a project needs an id or a name")
		}
	case obj.Domain != nil:
		sc.DomainID, sc.DomainName = obj.Domain.ID, obj.Domain.Name
		if sc.DomainID == "" && sc.DomainName == "" {
			return sc, fault.Invalid("auth.scope.domain", "a domain needs an id or a name")
		}
	case obj.System != nil:
		sc.System = obj.System.All
	}
	return sc, nil
}

func (a *API) catalogFor(r *http.Request, t *identity.Token) ([]identity.CatalogEntry, error) {
	if _, no := r.URL.Query()["nocatalog"]; no || (t.Project == nil && t.Domain == nil && !t.System) {
		return nil, nil
	}
	return a.Store.Catalog(r.Context(), projectOf(t))
}

// projectOf is the project whose catalog a token gets: its project's,
// filtered by OS-EP-FILTER, or "" (domain and system scope: no filter).
func projectOf(t *identity.Token) string {
	if t.Project == nil {
		return ""
	}
	return t.Project.ID
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request) {
	req, err := decodeAuth(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.Auth.Authenticate(r.Context(), req)
	var mfa *identity.MFARequired
	if errors.As(err, &mfa) {
		w.Header().Set(receiptHeader, mfa.Receipt)
		httpapi.WriteJSON(w, http.StatusUnauthorized, renderReceipt(mfa))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cat, err := a.catalogFor(r, &t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("X-Subject-Token", t.ID)
	httpapi.WriteJSON(w, http.StatusCreated, renderToken(&t, cat))
}

// subject validates X-Subject-Token; a bad one is a 404, as in Keystone.
func (a *API) subject(w http.ResponseWriter, r *http.Request, rule string) (*identity.Token, bool) {
	tok := r.Header.Get("X-Subject-Token")
	if tok == "" {
		a.fail(w, r, fault.Invalid("X-Subject-Token", "the X-Subject-Token header is required"))
		return nil, false
	}
	t, err := a.Auth.Validate(r.Context(), tok)
	if err != nil {
		a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: "Could not find token: " + truncate(tok) + ".", Err: err})
		return nil, false
	}
	if !a.allow(w, r, rule, map[string]any{"token": map[string]any{"user_id": t.User.ID}}) {
		return nil, false
	}
	return &t, true
}

// truncate keeps a token out of a response in full (it is a secret even
// when invalid: it may be valid elsewhere).
func truncate(tok string) string {
	if len(tok) > 8 {
		return tok[:8] + "..."
	}
	return tok
}

func (a *API) validateToken(w http.ResponseWriter, r *http.Request) {
	t, ok := a.subject(w, r, "identity:validate_token")
	if !ok {
		return
	}
	cat, err := a.catalogFor(r, t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("X-Subject-Token", t.ID)
	httpapi.WriteJSON(w, http.StatusOK, renderToken(t, cat))
}

func (a *API) checkToken(w http.ResponseWriter, r *http.Request) {
	if t, ok := a.subject(w, r, "identity:check_token"); ok {
		w.Header().Set("X-Subject-Token", t.ID)
		w.WriteHeader(http.StatusOK)
	}
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	t, ok := a.subject(w, r, "identity:revoke_token")
	if !ok {
		return
	}
	if err := a.Auth.RevokeToken(r.Context(), t.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) authCatalog(w http.ResponseWriter, r *http.Request) {
	t := caller(r.Context())
	if t.Project == nil && t.Domain == nil && !t.System {
		a.fail(w, r, &fault.Error{Kind: fault.Forbidden, Message: "A project-scoped token is required to produce a service catalog."})
		return
	}
	cat, err := a.Store.Catalog(r.Context(), projectOf(t))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"catalog": renderCatalog(cat), "links": map[string]any{"self": base(r) + r.URL.Path, "previous": nil, "next": nil}})
}

// authProjects lists the projects the caller can scope to.
func (a *API) authProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.scopableProjects(r, caller(r.Context()).User.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, ps, renderProject)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "projects", out))
}

func (a *API) scopableProjects(r *http.Request, userID string) ([]identity.Project, error) {
	all, err := a.Store.ListProjects(r.Context(), identity.ProjectFilter{Enabled: ptr(true)})
	if err != nil {
		return nil, err
	}
	out := []identity.Project{}
	for _, p := range all {
		roles, err := a.Store.EffectiveRoleIDs(r.Context(), userID, identity.TargetProject, p.ID)
		if err != nil {
			return nil, err
		}
		if len(roles) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

func (a *API) authDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := a.Store.ListDomains(r.Context(), "", ptr(true), 0)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, d := range ds {
		roles, err := a.Store.EffectiveRoleIDs(r.Context(), caller(r.Context()).User.ID, identity.TargetDomain, d.ID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if len(roles) > 0 {
			out = append(out, renderDomain(r, d))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "domains", out))
}

func (a *API) authSystem(w http.ResponseWriter, r *http.Request) {
	roles, err := a.Store.EffectiveRoleIDs(r.Context(), caller(r.Context()).User.ID, identity.TargetSystem, "all")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sys := []any{}
	if len(roles) > 0 {
		sys = append(sys, map[string]any{"all": true})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"system": sys, "links": map[string]any{"self": base(r) + r.URL.Path, "previous": nil, "next": nil}})
}

// receiptHeader carries an auth receipt both ways (Keystone's
// AUTH_RECEIPT_HEADER).
const receiptHeader = "Openstack-Auth-Receipt"

// renderReceipt is Keystone's auth receipt reply
// (keystone/receipt/handlers.py): what the user authenticated with, who
// they are, the receipt's times, and the rules still open to them.
func renderReceipt(e *identity.MFARequired) map[string]any {
	required := e.Required
	if required == nil {
		required = [][]string{}
	}
	return map[string]any{
		"receipt": map[string]any{
			"methods": e.Methods,
			"user": map[string]any{"id": e.User.ID, "name": e.User.Name,
				"domain": map[string]any{"id": e.UserDomain.ID, "name": e.UserDomain.Name}},
			"expires_at": isotime(e.ExpiresAt),
			"issued_at":  isotime(e.IssuedAt),
		},
		"required_auth_methods": required,
	}
}
