package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/ec2"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// renderEC2 is Keystone's _convert_v3_to_ec2_credential with its self
// link.
func renderEC2(r *http.Request, x identity.Credential) map[string]any {
	b, m, _ := identity.ParseEC2Blob(x.Blob)
	var trust any
	if v, ok := m["trust_id"]; ok {
		trust = v
	}
	return map[string]any{"user_id": x.UserID, "tenant_id": nilIfEmpty(x.ProjectID), "access": b.Access, "secret": b.Secret,
		"trust_id": trust, "links": selfLink(r, "users/"+x.UserID+"/credentials/OS-EC2/"+b.Access)}
}

func hexID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (a *API) createEC2(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	target := map[string]any{"credential": map[string]any{"user_id": uid}}
	if !a.allowWith(w, r, "identity:ec2_create_credential", target, map[string]any{"user_id": uid}) {
		return
	}
	var b struct {
		TenantID *json.RawMessage `json:"tenant_id"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := a.Store.GetUser(ctx, uid); err != nil {
		a.fail(w, r, err)
		return
	}
	var tenant string
	if b.TenantID == nil || json.Unmarshal(*b.TenantID, &tenant) != nil || tenant == "" {
		a.fail(w, r, fault.Invalid("tenant_id", "must be the id of a project"))
		return
	}
	if _, err := a.Store.GetProject(ctx, tenant); err != nil {
		a.fail(w, r, err)
		return
	}
	if delegated(caller(ctx)) {
		a.fail(w, r, errDelegated)
		return
	}
	blob, _ := json.Marshal(map[string]any{"access": hexID(), "secret": hexID(), "trust_id": nil})
	x, err := a.Credentials.Create(ctx, identity.Credential{UserID: uid, ProjectID: tenant, Type: identity.CredentialEC2, Blob: string(blob)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"credential": renderEC2(r, x)})
}

// listEC2 lists a user's ec2 credentials. Its target is the path's user,
// so the owner clause of Keystone's new default applies (Keystone 22
// passes no target, and lets the owner list only through the deprecated
// rule a stock deployment ORs in).
func (a *API) listEC2(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	target := map[string]any{"credential": map[string]any{"user_id": uid}}
	if !a.allowWith(w, r, "identity:ec2_list_credentials", target, map[string]any{"user_id": uid}) {
		return
	}
	ctx := r.Context()
	if delegated(caller(ctx)) {
		a.fail(w, r, errDelegated)
		return
	}
	if _, err := a.Store.GetUser(ctx, uid); err != nil {
		a.fail(w, r, err)
		return
	}
	xs, err := a.Credentials.List(ctx, identity.CredentialFilter{UserID: uid, Type: identity.CredentialEC2})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []any{}
	for _, x := range xs {
		out = append(out, renderEC2(r, x))
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "credentials", out))
}

// ec2Credential loads the ec2 credential of the URL's access key and
// checks rule on it. It must be the URL user's (Keystone does not
// check): another user's is as missing.
func (a *API) ec2Credential(w http.ResponseWriter, r *http.Request, rule string) (identity.Credential, bool) {
	uid, access := r.PathValue("uid"), r.PathValue("id")
	attrs := map[string]any{"user_id": uid, "credential_id": access}
	x, err := a.Credentials.Get(r.Context(), identity.EC2CredentialID(access))
	if err == nil && (x.UserID != uid || x.Type != identity.CredentialEC2) {
		err = &fault.Error{Kind: fault.NotFound, Message: "Could not find credential: " + access + "."}
	}
	if err != nil {
		if fault.KindOf(err) != fault.NotFound {
			a.fail(w, r, err)
		} else if a.allowWith(w, r, rule, map[string]any{"credential": map[string]any{"user_id": uid}}, attrs) {
			a.fail(w, r, err)
		}
		return x, false
	}
	if !a.allowWith(w, r, rule, credentialTarget(x), attrs) {
		return x, false
	}
	if delegated(caller(r.Context())) {
		a.fail(w, r, errDelegated)
		return x, false
	}
	return x, true
}

func (a *API) getEC2(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.ec2Credential(w, r, "identity:ec2_get_credential"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"credential": renderEC2(r, x)})
	}
}

func (a *API) deleteEC2(w http.ResponseWriter, r *http.Request) {
	x, ok := a.ec2Credential(w, r, "identity:ec2_delete_credential")
	if !ok {
		return
	}
	if err := a.Credentials.Delete(r.Context(), x.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ec2Tokens is POST /v3/ec2tokens: an EC2 API (a service) asks for a
// token for the request it received, signed with an ec2 credential. The
// body's object is "credentials", "credential" or "ec2Credentials", the
// first present, as Keystone reads it.
func (a *API) ec2Tokens(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:ec2tokens_validate", nil) {
		return
	}
	var b map[string]json.RawMessage
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(b) == 0 {
		a.fail(w, r, fault.Invalid("credentials", "request must include a request body"))
		return
	}
	raw := json.RawMessage("{}")
	for _, k := range []string{"credentials", "credential", "ec2Credentials"} {
		if v, ok := b[k]; ok && !falsy(v) {
			raw = v
			break
		}
	}
	req, err := ec2.Parse(raw)
	if err != nil {
		a.fail(w, r, fault.Invalid("credentials", "%s", err.Error()))
		return
	}
	t, err := a.Auth.AuthenticateEC2(r.Context(), a.Credentials, req)
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
	httpapi.WriteJSON(w, http.StatusOK, renderToken(&t, cat))
}

// falsy is Python's truth of a JSON value for Keystone's "or" chain.
func falsy(v json.RawMessage) bool {
	switch string(v) {
	case "null", "false", "0", `""`, "{}", "[]":
		return true
	}
	return false
}
