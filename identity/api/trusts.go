package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// trustRoutes are OS-TRUST (keystone/api/trusts.py). GET patterns answer
// HEAD too.
func (a *API) trustRoutes(rt *httpapi.Router) {
	p := "/v3/OS-TRUST/trusts"
	rt.HandleFunc("POST "+p, a.authed(a.createTrust))
	rt.HandleFunc("GET "+p, a.authed(a.listTrusts))
	rt.HandleFunc("GET "+p+"/{id}", a.authed(a.getTrust))
	rt.HandleFunc("DELETE "+p+"/{id}", a.authed(a.deleteTrust))
	rt.HandleFunc("GET "+p+"/{id}/roles", a.authed(a.listTrustRoles))
	rt.HandleFunc("GET "+p+"/{id}/roles/{role_id}", a.authed(a.getTrustRole))
}

// errDelegatedTrust is Keystone's _check_delegated_token.
var errDelegatedTrust = &fault.Error{Kind: fault.Forbidden,
	Message: "You are not authorized to perform the requested action: Delegated tokens cannot manage trusts."}

func renderTrustBase(r *http.Request, x identity.Trust) map[string]any {
	var expires any
	if x.ExpiresAt != nil {
		expires = isotime(*x.ExpiresAt)
	}
	var uses any
	if x.RemainingUses != nil {
		uses = *x.RemainingUses
	}
	return map[string]any{"id": x.ID, "trustor_user_id": x.TrustorUserID, "trustee_user_id": x.TrusteeUserID,
		"project_id": nilIfEmpty(x.ProjectID), "impersonation": x.Impersonation, "expires_at": expires,
		"remaining_uses": uses, "redelegated_trust_id": nil, "redelegation_count": x.RedelegationCount, "deleted_at": nil,
		"links": selfLink(r, "OS-TRUST/trusts/"+x.ID)}
}

// renderTrust is a trust with its roles, as get and create show it.
func (a *API) renderTrust(r *http.Request, x identity.Trust) map[string]any {
	m := renderTrustBase(r, x)
	m["roles"] = a.trustRoles(r.Context(), r, x)
	// Keystone's roles_links lacks "OS-TRUST/trusts/" (base_url of
	// "/<id>/roles").
	m["roles_links"] = map[string]any{"self": base(r) + "/v3/" + x.ID + "/roles", "next": nil, "previous": nil}
	return m
}

// trustRoles are the trust's roles that still exist, in full.
func (a *API) trustRoles(ctx context.Context, r *http.Request, x identity.Trust) []any {
	out := []any{}
	for _, id := range x.RoleIDs {
		if role, err := a.Store.GetRole(ctx, id); err == nil {
			out = append(out, renderRole(r, role))
		}
	}
	return out
}

// trustFields is Keystone's trust_create schema, member by member, so a
// member of the wrong type is a 400 naming it.
type trustFields struct {
	TrustorUserID     opt[string]           `json:"trustor_user_id"`
	TrusteeUserID     opt[string]           `json:"trustee_user_id"`
	Impersonation     opt[bool]             `json:"impersonation"`
	ProjectID         opt[string]           `json:"project_id"`
	RemainingUses     opt[int]              `json:"remaining_uses"`
	ExpiresAt         opt[string]           `json:"expires_at"`
	AllowRedelegation opt[bool]             `json:"allow_redelegation"`
	RedelegationCount opt[int]              `json:"redelegation_count"`
	Roles             opt[[]map[string]any] `json:"roles"`
}

// decodeTrust reads the body's "trust" object, each member checked
// against Keystone's schema.
func decodeTrust(w http.ResponseWriter, r *http.Request) (trustFields, error) {
	var b struct {
		Trust map[string]json.RawMessage `json:"trust"`
	}
	var f trustFields
	if err := decode(w, r, &b); err != nil {
		return f, err
	}
	if b.Trust == nil {
		return f, fault.Invalid("trust", "'trust' is a required property")
	}
	members := map[string]any{
		"trustor_user_id": &f.TrustorUserID, "trustee_user_id": &f.TrusteeUserID, "impersonation": &f.Impersonation,
		"project_id": &f.ProjectID, "remaining_uses": &f.RemainingUses, "expires_at": &f.ExpiresAt,
		"allow_redelegation": &f.AllowRedelegation, "redelegation_count": &f.RedelegationCount, "roles": &f.Roles,
	}
	for name, dst := range members {
		raw, ok := b.Trust[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return f, fault.Invalid("trust."+name, "has the wrong type")
		}
	}
	for _, req := range []struct {
		name string
		o    opt[string]
	}{{"trustor_user_id", f.TrustorUserID}, {"trustee_user_id", f.TrusteeUserID}} {
		if !req.o.Set || req.o.Null {
			return f, fault.Invalid("trust."+req.name, "'%s' is a required property", req.name)
		}
	}
	if !f.Impersonation.Set || f.Impersonation.Null {
		return f, fault.Invalid("trust.impersonation", "'impersonation' is a required property")
	}
	if f.RemainingUses.Set && !f.RemainingUses.Null && f.RemainingUses.V < 1 {
		return f, fault.Invalid("trust.remaining_uses", "must be at least 1")
	}
	if f.RedelegationCount.Set && !f.RedelegationCount.Null && f.RedelegationCount.V < 0 {
		return f, fault.Invalid("trust.redelegation_count", "must be at least 0")
	}
	if f.Roles.Null {
		return f, fault.Invalid("trust.roles", "must be an array")
	}
	for i, m := range f.Roles.V {
		id, isID := m["id"].(string)
		name, isName := m["name"].(string)
		if len(m) != 1 || !isID && !isName {
			return f, fault.Invalid("trust.roles", "role %d must be an object with an id or a name, and nothing else", i)
		}
		if isID {
			if err := (identity.Trust{TrustorUserID: "x", TrusteeUserID: "x", RoleIDs: []string{id}}).Validate(); err != nil {
				return f, err
			}
		} else if err := (identity.Role{Name: name}).Validate(); err != nil {
			return f, fault.Invalid("trust.roles", "role %d: name %s", i, fault.Message(err))
		}
	}
	return f, nil
}

func (a *API) createTrust(w http.ResponseWriter, r *http.Request) {
	f, err := decodeTrust(w, r)
	if err != nil {
		// Keystone checks the policy first, against the body's trustor:
		// a body it cannot read is refused as a 400 all the same.
		a.fail(w, r, err)
		return
	}
	if !a.allow(w, r, "identity:create_trust", map[string]any{"trust": map[string]any{
		"trustor_user_id": f.TrustorUserID.V, "trustee_user_id": f.TrusteeUserID.V}}) {
		return
	}
	t := caller(r.Context())
	x := identity.Trust{TrustorUserID: f.TrustorUserID.V, TrusteeUserID: f.TrusteeUserID.V, Impersonation: f.Impersonation.V}
	if !f.ProjectID.Null {
		x.ProjectID = f.ProjectID.V
	}
	if f.RemainingUses.Set && !f.RemainingUses.Null {
		x.RemainingUses = ptr(f.RemainingUses.V)
	}
	if err := x.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case delegated(t):
		err = errDelegatedTrust
	case x.ProjectID != "" && len(f.Roles.V) == 0:
		err = forbiddenAction("At least one role should be specified")
	case t.User.ID != x.TrustorUserID:
		err = forbiddenAction("The authenticated user should match the trustor")
	case t.Trust != nil:
		// Keystone redelegates from the token's trust, which needs a
		// redelegation depth; gostack's trusts have none.
		err = &fault.Error{Kind: fault.Forbidden, Message: "Remaining redelegation depth of 0 out of allowed range of [0..3]"}
	case f.AllowRedelegation.V && !(f.RedelegationCount.Set && !f.RedelegationCount.Null && f.RedelegationCount.V == 0):
		err = fault.Invalid("trust.allow_redelegation", "redelegation is not supported")
	}
	if err == nil {
		err = a.trustRolesAllowed(r.Context(), &x, f.Roles.V)
	}
	if err == nil && f.ExpiresAt.Set && !f.ExpiresAt.Null {
		x.ExpiresAt, err = expiration(f.ExpiresAt.V)
	}
	if err == nil {
		x, err = a.Store.CreateTrust(r.Context(), x)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"trust": a.renderTrust(r, x)})
}

func forbiddenAction(action string) error {
	return &fault.Error{Kind: fault.Forbidden, Message: "You are not authorized to perform the requested action: " + action + "."}
}

// trustRolesAllowed checks the trustee exists, resolves the roles asked
// for (by id, or by the name of a global role) and checks the trustor
// holds each on the project (effective roles: groups, inheritance,
// implied roles), as Keystone does, with its 404s.
func (a *API) trustRolesAllowed(ctx context.Context, x *identity.Trust, asked []map[string]any) error {
	if _, err := a.Store.GetUser(ctx, x.TrusteeUserID); err != nil {
		return err
	}
	for _, m := range asked {
		if id, ok := m["id"].(string); ok {
			x.RoleIDs = append(x.RoleIDs, id)
			continue
		}
		role, err := a.Store.GetRoleByName(ctx, "", m["name"].(string))
		if err != nil {
			return err
		}
		x.RoleIDs = append(x.RoleIDs, role.ID)
	}
	var held []string
	if x.ProjectID != "" {
		if _, err := a.Store.GetProject(ctx, x.ProjectID); err != nil {
			return err
		}
		var err error
		if held, err = a.Store.HeldRoleIDs(ctx, x.TrustorUserID, identity.TargetProject, x.ProjectID); err != nil {
			return err
		}
	}
	for _, id := range x.RoleIDs {
		found := false
		for _, h := range held {
			found = found || h == id
		}
		if !found {
			return &fault.Error{Kind: fault.NotFound, Message: "Could not find role: " + id + "."}
		}
	}
	return nil
}

// expiration is Keystone's parse_expiration_date: an ISO 8601 time in
// the future.
func expiration(s string) (*time.Time, error) {
	t, err := parseTime(s)
	if err != nil {
		return nil, fault.Invalid("trust.expires_at", "Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	if !t.After(time.Now()) {
		return nil, fault.Invalid("trust.expires_at", "The 'expires_at' must be later than now.")
	}
	return &t, nil
}

// trustFor loads the path's trust for rule: a missing, expired or
// used-up trust is a 404 before the policy (Keystone's lp#1840288), then
// the policy on it, then the delegated-token check.
func (a *API) trustFor(w http.ResponseWriter, r *http.Request, rule string) (identity.Trust, bool) {
	x, err := a.Store.GetTrust(r.Context(), r.PathValue("id"))
	if err == nil && !a.Auth.TrustUsable(x) {
		err = &fault.Error{Kind: fault.NotFound, Message: "Could not find trust: " + x.ID + "."}
	}
	if err != nil {
		a.fail(w, r, err)
		return x, false
	}
	if !a.allow(w, r, rule, map[string]any{"trust": map[string]any{"id": x.ID,
		"trustor_user_id": x.TrustorUserID, "trustee_user_id": x.TrusteeUserID, "project_id": nilIfEmpty(x.ProjectID)}}) {
		return x, false
	}
	if delegated(caller(r.Context())) {
		a.fail(w, r, errDelegatedTrust)
		return x, false
	}
	return x, true
}

func (a *API) getTrust(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.trustFor(w, r, "identity:get_trust"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"trust": a.renderTrust(r, x)})
	}
}

func (a *API) deleteTrust(w http.ResponseWriter, r *http.Request) {
	x, ok := a.trustFor(w, r, "identity:delete_trust")
	if !ok {
		return
	}
	if err := a.Auth.DeleteTrust(r.Context(), x.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listTrustRoles(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.trustFor(w, r, "identity:list_roles_for_trust"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"roles": a.trustRoles(r.Context(), r, x),
			"links": map[string]any{"self": base(r) + "/v3/" + x.ID + "/roles", "next": nil, "previous": nil}})
	}
}

func (a *API) getTrustRole(w http.ResponseWriter, r *http.Request) {
	x, ok := a.trustFor(w, r, "identity:get_role_for_trust")
	if !ok {
		return
	}
	id := r.PathValue("role_id")
	for _, have := range x.RoleIDs {
		if have == id {
			role, err := a.Store.GetRole(r.Context(), id)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"role": renderRole(r, role)})
			return
		}
	}
	a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: "Could not find role: " + id + "."})
}

// listTrusts: ?trustor_user_id (then Keystone ignores trustee_user_id)
// or ?trustee_user_id, each with its rule; no query lists all (admins and
// system readers); any other query lists nothing, as in Keystone.
func (a *API) listTrusts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f identity.TrustFilter
	switch f.TrustorUserID, f.TrusteeUserID = q.Get("trustor_user_id"), q.Get("trustee_user_id"); {
	case f.TrustorUserID != "":
		f.TrusteeUserID = ""
		if !a.allow(w, r, "identity:list_trusts_for_trustor", map[string]any{"trust": map[string]any{"trustor_user_id": f.TrustorUserID}}) {
			return
		}
	case f.TrusteeUserID != "":
		if !a.allow(w, r, "identity:list_trusts_for_trustee", map[string]any{"trust": map[string]any{"trustee_user_id": f.TrusteeUserID}}) {
			return
		}
	default:
		if !a.allow(w, r, "identity:list_trusts", nil) {
			return
		}
	}
	if delegated(caller(r.Context())) {
		a.fail(w, r, errDelegatedTrust)
		return
	}
	out := []any{}
	if len(q) == 0 || f != (identity.TrustFilter{}) {
		xs, err := a.Store.ListTrusts(r.Context(), f)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = renderAll(r, xs, renderTrustBase)
	}
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "trusts", out))
}
