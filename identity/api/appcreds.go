package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) appCredRoutes(rt *httpapi.Router) {
	p := "/v3/users/{uid}/application_credentials"
	rt.HandleFunc("POST "+p, a.authed(a.createAppCred))
	rt.HandleFunc("GET "+p, a.authed(a.listAppCreds))
	rt.HandleFunc("GET "+p+"/{id}", a.authed(a.getAppCred))
	rt.HandleFunc("DELETE "+p+"/{id}", a.authed(a.deleteAppCred))
}

func (a *API) renderAppCred(r *http.Request, x identity.AppCred) map[string]any {
	roles := []any{}
	for _, id := range x.RoleIDs {
		if role, err := a.Store.GetRole(r.Context(), id); err == nil {
			roles = append(roles, map[string]any{"id": role.ID, "name": role.Name, "domain_id": nilIfEmpty(role.DomainID)})
		}
	}
	return map[string]any{"id": x.ID, "name": x.Name, "description": nilIfEmpty(x.Description), "user_id": x.UserID,
		"project_id": x.ProjectID, "expires_at": timeOrNil(x.ExpiresAt), "unrestricted": x.Unrestricted,
		"roles": roles, "access_rules": []any{}, "system": nil,
		"links": selfLink(r, "users/"+x.UserID+"/application_credentials/"+x.ID)}
}

func (a *API) createAppCred(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	if !a.allowWith(w, r, "identity:create_application_credential", nil, map[string]any{"user_id": uid}) {
		return
	}
	var b struct {
		AC *appCredFields `json:"application_credential"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.AC == nil || !b.AC.Name.Set {
		a.fail(w, r, fault.Invalid("application_credential.name", "'name' is a required property"))
		return
	}
	if len(b.AC.AccessRules) > 0 {
		a.fail(w, r, fault.Invalid("application_credential.access_rules", "access rules are not supported"))
		return
	}
	t := caller(r.Context())
	if restricted(t) {
		a.fail(w, r, restrictedErr)
		return
	}
	if t.Project == nil || t.User.ID != uid {
		a.fail(w, r, &fault.Error{Kind: fault.Forbidden, Message: "Application credentials are created by their user with a project-scoped token."})
		return
	}
	x := identity.AppCred{UserID: uid, ProjectID: t.Project.ID}
	refs, err := b.AC.apply(&x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Roles: those asked for, which the token must hold; default all of them.
	for _, want := range refs {
		found := ""
		for _, have := range t.Roles {
			if want.ID == have.ID || (want.ID == "" && want.Name == have.Name) {
				found = have.ID
			}
		}
		if found == "" {
			a.fail(w, r, &fault.Error{Kind: fault.Forbidden, Message: "Cannot delegate a role the token does not have: " + want.ID + want.Name + "."})
			return
		}
		x.RoleIDs = append(x.RoleIDs, found)
	}
	if len(refs) == 0 {
		for _, have := range t.Roles {
			x.RoleIDs = append(x.RoleIDs, have.ID)
		}
	}
	secret := newSecret()
	if b.AC.Secret.Set && !b.AC.Secret.Null {
		secret = b.AC.Secret.V
	}
	h, err := a.Auth.Hasher.Hash(secret)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	x.SecretHash = h
	if x, err = a.Store.CreateAppCred(r.Context(), x); err != nil {
		a.fail(w, r, err)
		return
	}
	out := a.renderAppCred(r, x)
	out["secret"] = secret
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"application_credential": out})
}

type appCredFields struct {
	Name         opt[string]           `json:"name"`
	Description  opt[string]           `json:"description"`
	Secret       opt[string]           `json:"secret"`
	ExpiresAt    opt[string]           `json:"expires_at"`
	Unrestricted opt[bool]             `json:"unrestricted"`
	Roles        opt[[]map[string]any] `json:"roles"`
	AccessRules  []any                 `json:"access_rules"`
}

// askedRole is a role asked for by id or by name.
type askedRole struct{ ID, Name string }

// apply copies the body onto x and returns the roles it asks for, each
// an object with exactly one of id and name (Keystone's schema); the
// identity rules check the values before the roles are looked up.
func (f *appCredFields) apply(x *identity.AppCred) ([]askedRole, error) {
	var maps []map[string]any
	if err := first(
		set(&x.Name, f.Name, "application_credential.name"),
		set(&x.Unrestricted, f.Unrestricted, "application_credential.unrestricted"),
		set(&maps, f.Roles, "application_credential.roles"),
	); err != nil {
		return nil, err
	}
	setNullable(&x.Description, f.Description)
	refs := make([]askedRole, 0, len(maps))
	asked := *x
	for i, m := range maps {
		id, isID := m["id"].(string)
		name, isName := m["name"].(string)
		if len(m) != 1 || !isID && !isName {
			return nil, fault.Invalid("application_credential.roles", "role %d must be an object with an id or a name, and nothing else", i)
		}
		if isName {
			if err := (identity.Role{Name: name}).Validate(); err != nil {
				return nil, fault.Invalid("application_credential.roles", "role %d: name %s", i, fault.Message(err))
			}
		} else {
			asked.RoleIDs = append(asked.RoleIDs, id)
		}
		refs = append(refs, askedRole{ID: id, Name: name})
	}
	if err := asked.Validate(); err != nil {
		return nil, err
	}
	if e := f.ExpiresAt; e.Set && !e.Null && e.V != "" {
		exp, err := parseTime(e.V)
		if err != nil {
			return nil, fault.Invalid("application_credential.expires_at", "is not an ISO 8601 time")
		}
		if !exp.After(time.Now()) {
			return nil, fault.Invalid("application_credential.expires_at", "is in the past")
		}
		x.ExpiresAt = &exp
	}
	return refs, nil
}

// restricted: a token from an application credential that is not
// unrestricted may not create or delete credentials (Keystone's
// _check_unrestricted_application_credential).
func restricted(t *identity.Token) bool { return t.AppCred != nil && !t.AppCred.Unrestricted }

var restrictedErr = &fault.Error{Kind: fault.Forbidden,
	Message: "Using a method not allowed with a restricted application credential: create or delete application credentials."}

func newSecret() string {
	var b [64]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fault.Invalid("expires_at", "bad time")
}

func (a *API) listAppCreds(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	if !a.allowWith(w, r, "identity:list_application_credentials", nil, map[string]any{"user_id": uid}) {
		return
	}
	xs, err := a.Store.ListAppCreds(r.Context(), uid, r.URL.Query().Get("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, x := range appCredFilters.apply(r.URL.Query(), xs) {
		out = append(out, a.renderAppCred(r, x))
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "application_credentials", out))
}

func (a *API) appCredFor(w http.ResponseWriter, r *http.Request, rule string) (identity.AppCred, bool) {
	uid := r.PathValue("uid")
	if !a.allowWith(w, r, rule, nil, map[string]any{"user_id": uid}) {
		return identity.AppCred{}, false
	}
	x, err := a.Store.GetAppCred(r.Context(), r.PathValue("id"))
	if err == nil && x.UserID != uid {
		err = &fault.Error{Kind: fault.NotFound, Message: "Could not find application credential: " + r.PathValue("id") + "."}
	}
	if err != nil {
		a.fail(w, r, err)
		return x, false
	}
	return x, true
}

func (a *API) getAppCred(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.appCredFor(w, r, "identity:get_application_credential"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"application_credential": a.renderAppCred(r, x)})
	}
}

func (a *API) deleteAppCred(w http.ResponseWriter, r *http.Request) {
	if restricted(caller(r.Context())) {
		a.fail(w, r, restrictedErr)
		return
	}
	x, ok := a.appCredFor(w, r, "identity:delete_application_credential")
	if !ok {
		return
	}
	if err := a.Store.DeleteAppCred(r.Context(), x.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
