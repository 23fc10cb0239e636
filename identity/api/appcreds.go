package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/fault"
	"github.com/gostack/gostack/internal/httpapi"
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
		AC *struct {
			Name         *string `json:"name"`
			Description  *string `json:"description"`
			Secret       *string `json:"secret"`
			ExpiresAt    *string `json:"expires_at"`
			Unrestricted *bool   `json:"unrestricted"`
			Roles        []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"roles"`
			AccessRules []any `json:"access_rules"`
		} `json:"application_credential"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.AC == nil || b.AC.Name == nil || strings.TrimSpace(*b.AC.Name) == "" {
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
	x := identity.AppCred{Name: *b.AC.Name, UserID: uid, ProjectID: t.Project.ID}
	setStr(&x.Description, b.AC.Description)
	setBool(&x.Unrestricted, b.AC.Unrestricted)
	if b.AC.ExpiresAt != nil && *b.AC.ExpiresAt != "" {
		exp, err := parseTime(*b.AC.ExpiresAt)
		if err != nil {
			a.fail(w, r, fault.Invalid("application_credential.expires_at", "%q is not an ISO 8601 time", *b.AC.ExpiresAt))
			return
		}
		if !exp.After(time.Now()) {
			a.fail(w, r, fault.Invalid("application_credential.expires_at", "expires_at %s is in the past", *b.AC.ExpiresAt))
			return
		}
		x.ExpiresAt = &exp
	}
	// Roles: those asked for, which the token must hold; default all of them.
	for _, want := range b.AC.Roles {
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
	if len(b.AC.Roles) == 0 {
		for _, have := range t.Roles {
			x.RoleIDs = append(x.RoleIDs, have.ID)
		}
	}
	secret := newSecret()
	setStr(&secret, b.AC.Secret)
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
	for _, x := range xs {
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
