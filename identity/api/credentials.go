package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// credentialRoutes are /v3/credentials, OS-EC2's and /v3/ec2tokens:
// keystone/api/credentials.py, users.py and ec2tokens.py.
func (a *API) credentialRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v3/credentials", a.authed(a.withCreds(a.createCredential)))
	rt.HandleFunc("GET /v3/credentials", a.authed(a.withCreds(a.listCredentials)))
	rt.HandleFunc("GET /v3/credentials/{id}", a.authed(a.withCreds(a.getCredential)))
	rt.HandleFunc("PATCH /v3/credentials/{id}", a.authed(a.withCreds(a.updateCredential)))
	rt.HandleFunc("DELETE /v3/credentials/{id}", a.authed(a.withCreds(a.deleteCredential)))
	p := "/v3/users/{uid}/credentials/OS-EC2"
	rt.HandleFunc("POST "+p, a.authed(a.withCreds(a.createEC2)))
	rt.HandleFunc("GET "+p, a.authed(a.withCreds(a.listEC2)))
	rt.HandleFunc("GET "+p+"/{id}", a.authed(a.withCreds(a.getEC2)))
	rt.HandleFunc("DELETE "+p+"/{id}", a.authed(a.withCreds(a.deleteEC2)))
	rt.HandleFunc("POST /v3/ec2tokens", a.authed(a.withCreds(a.ec2Tokens)))
}

// withCreds answers 404 when the API has no credential keys: an API
// built without API.Credentials does not serve credentials.
func (a *API) withCreds(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Credentials == nil {
			a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: "The resource could not be found."})
			return
		}
		h(w, r)
	}
}

// primaryMethods are Keystone's primary (not delegated) authentication
// methods (keystone/api/_shared/delegation.py).
var primaryMethods = []string{"external", "kerberos", "mapped", "openid", "password", "saml2", "token", "totp", "x509"}

// delegated is Keystone's is_delegated_method: a token with no methods,
// or with one that is not primary (an application credential's, an
// ec2credential's), may not touch credentials.
func delegated(t *identity.Token) bool {
	if len(t.Payload.Methods) == 0 {
		return true
	}
	for _, m := range t.Payload.Methods {
		if !slices.Contains(primaryMethods, m) {
			return true
		}
	}
	return false
}

var errDelegated = &fault.Error{Kind: fault.Forbidden,
	Message: "You are not authorized to perform the requested action: Delegated tokens cannot access credentials directly."}

func renderCredential(r *http.Request, x identity.Credential) map[string]any {
	m := map[string]any{}
	for k, v := range x.Extra {
		m[k] = v
	}
	m["id"], m["user_id"], m["project_id"], m["type"], m["blob"] = x.ID, x.UserID, nilIfEmpty(x.ProjectID), x.Type, x.Blob
	m["links"] = selfLink(r, "credentials/"+x.ID)
	return m
}

func credentialTarget(x identity.Credential) map[string]any {
	return map[string]any{"credential": map[string]any{"id": x.ID, "user_id": x.UserID,
		"project_id": nilIfEmpty(x.ProjectID), "type": x.Type}}
}

// credentialBody reads the members of a credential object: the four
// strings of Keystone's schema (each a string when present) and the
// rest, which Keystone keeps as extra properties.
func credentialBody(raw map[string]json.RawMessage) (identity.Credential, map[string]bool, error) {
	var x identity.Credential
	has := map[string]bool{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"user_id", &x.UserID}, {"project_id", &x.ProjectID}, {"type", &x.Type}, {"blob", &x.Blob}} {
		v, ok := raw[f.name]
		if !ok {
			continue
		}
		if json.Unmarshal(v, f.dst) != nil || string(v) == "null" {
			return x, nil, fault.Invalid("credential."+f.name, "is not of type 'string'")
		}
		has[f.name] = true
	}
	for k, v := range raw {
		if identity.IsCredentialAttribute(k) {
			continue // the four above; "id" and "links" are Keystone's to choose
		}
		if x.Extra == nil {
			x.Extra = map[string]json.RawMessage{}
		}
		x.Extra[k] = v
	}
	return x, has, nil
}

func (a *API) createCredential(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Credential map[string]json.RawMessage `json:"credential"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	x, has, err := credentialBody(b.Credential)
	// Keystone enforces on the body before it checks the schema.
	target := map[string]any{"credential": map[string]any{"user_id": nilIfEmpty(x.UserID), "project_id": nilIfEmpty(x.ProjectID), "type": x.Type}}
	if !a.allow(w, r, "identity:create_credential", target) {
		return
	}
	if err == nil && b.Credential == nil {
		err = fault.Invalid("credential", "'credential' is a required property")
	}
	for _, f := range []string{"blob", "type", "user_id"} {
		if err == nil && !has[f] {
			err = fault.Invalid("credential."+f, "'%s' is a required property", f)
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if delegated(caller(r.Context())) {
		a.fail(w, r, errDelegated)
		return
	}
	if x, err = a.Credentials.Create(r.Context(), x); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"credential": renderCredential(r, x)})
}

// listCredentials is Keystone's: the list filtered by user_id and type,
// then each credential checked against identity:get_credential, so a
// caller sees only the credentials they may read (their own, or all for
// an admin or a system reader); a delegated token sees none.
func (a *API) listCredentials(w http.ResponseWriter, r *http.Request) {
	t := caller(r.Context())
	var target map[string]any
	if !t.System {
		target = map[string]any{"credential": map[string]any{"user_id": t.User.ID}}
	}
	if !a.allow(w, r, "identity:list_credentials", target) {
		return
	}
	q := r.URL.Query()
	xs, err := a.Credentials.List(r.Context(), identity.CredentialFilter{UserID: q.Get("user_id"), Type: q.Get("type")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	if !delegated(t) {
		for _, x := range xs {
			if a.Policy.Enforce(r.Context(), "identity:get_credential", policy.Flatten("target", credentialTarget(x)), Creds(t)) == nil {
				out = append(out, renderCredential(r, x))
			}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "credentials", out))
}

// credential loads the credential of the URL and checks rule on it; a
// missing one is checked with an empty target, as Keystone's
// _build_target_enforcement, so only a caller who may act on any
// credential learns it is missing.
func (a *API) credential(w http.ResponseWriter, r *http.Request, rule string) (identity.Credential, bool) {
	x, err := a.Credentials.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		if fault.KindOf(err) == fault.NotFound && a.allow(w, r, rule, nil) {
			a.fail(w, r, err)
		} else if fault.KindOf(err) != fault.NotFound {
			a.fail(w, r, err)
		}
		return x, false
	}
	if !a.allow(w, r, rule, credentialTarget(x)) {
		return x, false
	}
	if delegated(caller(r.Context())) {
		a.fail(w, r, errDelegated)
		return x, false
	}
	return x, true
}

func (a *API) getCredential(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.credential(w, r, "identity:get_credential"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"credential": renderCredential(r, x)})
	}
}

// updateCredential is Keystone 22's PATCH: the body is the blob and
// nothing else (type, owner and project never change).
func (a *API) updateCredential(w http.ResponseWriter, r *http.Request) {
	x, ok := a.credential(w, r, "identity:update_credential")
	if !ok {
		return
	}
	var b struct {
		Credential map[string]json.RawMessage `json:"credential"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	var blob string
	var err error
	for k := range b.Credential {
		if k != "blob" && err == nil {
			err = fault.Invalid("credential."+k, "Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if v, ok := b.Credential["blob"]; err == nil && (!ok || b.Credential == nil) {
		err = fault.Invalid("credential.blob", "'blob' is a required property")
	} else if err == nil && (json.Unmarshal(v, &blob) != nil || string(v) == "null") {
		err = fault.Invalid("credential.blob", "is not of type 'string'")
	}
	if err == nil {
		x, err = a.Credentials.UpdateBlob(r.Context(), x.ID, blob)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"credential": renderCredential(r, x)})
}

func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request) {
	x, ok := a.credential(w, r, "identity:delete_credential")
	if !ok {
		return
	}
	if err := a.Credentials.Delete(r.Context(), x.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
