package api

import (
	"encoding/json"
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) roleRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/roles", a.authed(a.listRoles))
	rt.HandleFunc("POST /v3/roles", a.authed(a.createRole))
	rt.HandleFunc("GET /v3/roles/{id}", a.authed(a.getRole))
	rt.HandleFunc("PATCH /v3/roles/{id}", a.authed(a.updateRole))
	rt.HandleFunc("DELETE /v3/roles/{id}", a.authed(a.deleteRole))
	rt.HandleFunc("GET /v3/roles/{id}/implies", a.authed(a.listImplied))
	rt.HandleFunc("PUT /v3/roles/{id}/implies/{implied}", a.authed(a.createImplied))
	rt.HandleFunc("GET /v3/roles/{id}/implies/{implied}", a.authed(a.getImplied))
	rt.HandleFunc("HEAD /v3/roles/{id}/implies/{implied}", a.authed(a.getImplied))
	rt.HandleFunc("DELETE /v3/roles/{id}/implies/{implied}", a.authed(a.deleteImplied))
	rt.HandleFunc("GET /v3/role_inferences", a.authed(a.listInferences))
	for _, scope := range []string{"projects", "domains"} {
		for _, actor := range []string{"users", "groups"} {
			p := "/v3/" + scope + "/{target}/" + actor + "/{actor}/roles"
			rt.HandleFunc("GET "+p, a.authed(a.listGrants))
			for _, m := range []string{"PUT", "HEAD", "GET", "DELETE"} {
				rt.HandleFunc(m+" "+p+"/{role}", a.authed(a.grant))
				rt.HandleFunc(m+" /v3/OS-INHERIT/"+scope+"/{target}/"+actor+"/{actor}/roles/{role}/inherited_to_projects", a.authed(a.grant))
			}
		}
	}
	for _, actor := range []string{"users", "groups"} {
		// OS-INHERIT lists inherited grants on domains only, as Keystone.
		rt.HandleFunc("GET /v3/OS-INHERIT/domains/{target}/"+actor+"/{actor}/roles/inherited_to_projects", a.authed(a.listGrants))
	}
	for _, actor := range []string{"users", "groups"} {
		p := "/v3/system/" + actor + "/{actor}/roles"
		rt.HandleFunc("GET "+p, a.authed(a.listGrants))
		for _, m := range []string{"PUT", "HEAD", "GET", "DELETE"} {
			rt.HandleFunc(m+" "+p+"/{role}", a.authed(a.grant))
		}
	}
	rt.HandleFunc("GET /v3/role_assignments", a.authed(a.listAssignments))
}

type roleBody struct {
	Role *roleFields `json:"role"`
}

type roleFields struct {
	ID          opt[string]                     `json:"id"`
	Name        opt[string]                     `json:"name"`
	DomainID    opt[string]                     `json:"domain_id"`
	Description opt[string]                     `json:"description"`
	Options     opt[map[string]json.RawMessage] `json:"options"`
}

// apply copies the body onto x, for POST (update false) and PATCH alike;
// the store checks the values and refuses a new domain (a null one is
// global).
func (f *roleFields) apply(x *identity.Role, update bool) error {
	if err := immutableOption("role.options", f.Options); err != nil {
		return err
	}
	if update {
		if err := sameID(f.ID, x.ID, "role.id"); err != nil {
			return err
		}
	}
	setNullable(&x.DomainID, f.DomainID)
	return first(
		set(&x.Name, f.Name, "role.name"),
		set(&x.Description, f.Description, "role.description"),
	)
}

func roleTarget(x identity.Role) map[string]any {
	return map[string]any{"role": map[string]any{"id": x.ID, "domain_id": nilIfEmpty(x.DomainID)}}
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rule := "identity:list_roles"
	if q.Get("domain_id") != "" {
		rule = "identity:list_domain_roles"
	}
	if !a.allow(w, r, rule, scopeTarget(r, "")) {
		return
	}
	domain, name := q.Get("domain_id"), q.Get("name")
	rs, truncated, err := limitList(a.ListLimit, roleFilters.inStore(q, map[string]string{"domain_id": domain, "name": name}),
		func(n int) ([]identity.Role, error) { return a.Store.ListRoles(r.Context(), domain, name, n) },
		func(rs []identity.Role) ([]identity.Role, error) { return roleFilters.apply(q, rs), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, rs, renderRole)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "roles", out), truncated))
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) {
	var b roleBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Role == nil || !b.Role.Name.Set {
		a.fail(w, r, fault.Invalid("role.name", "'name' is a required property"))
		return
	}
	var x identity.Role
	if err := b.Role.apply(&x, false); err != nil {
		a.fail(w, r, err)
		return
	}
	rule := "identity:create_role"
	if x.DomainID != "" {
		rule = "identity:create_domain_role"
	}
	if !a.allow(w, r, rule, roleTarget(x)) {
		return
	}
	x, err := a.Store.CreateRole(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"role": renderRole(r, x)})
}

func (a *API) roleFor(w http.ResponseWriter, r *http.Request, rule, domainRule, id string) (identity.Role, bool) {
	x, err := a.Store.GetRole(r.Context(), id)
	if err == nil && x.DomainID != "" {
		rule = domainRule
	}
	if err != nil {
		if a.allow(w, r, rule, map[string]any{"role": map[string]any{"id": id}}) {
			a.fail(w, r, err)
		}
		return x, false
	}
	return x, a.allow(w, r, rule, roleTarget(x))
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request) {
	if x, ok := a.roleFor(w, r, "identity:get_role", "identity:get_domain_role", r.PathValue("id")); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"role": renderRole(r, x)})
	}
}

func (a *API) updateRole(w http.ResponseWriter, r *http.Request) {
	x, ok := a.roleFor(w, r, "identity:update_role", "identity:update_domain_role", r.PathValue("id"))
	if !ok {
		return
	}
	var b roleBody
	if err := decodeUpdate(w, r, "role", &b); err != nil || b.Role == nil {
		a.fail(w, r, orInvalid(err, "role", "'role' is a required property"))
		return
	}
	if err := b.Role.apply(&x, true); err != nil {
		a.fail(w, r, err)
		return
	}
	x, err := a.Store.UpdateRole(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"role": renderRole(r, x)})
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	x, ok := a.roleFor(w, r, "identity:delete_role", "identity:delete_domain_role", r.PathValue("id"))
	if !ok {
		return
	}
	if err := a.Store.DeleteRole(r.Context(), x.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- implied roles ----

func roleRef(r *http.Request, x identity.Role) map[string]any {
	return map[string]any{"id": x.ID, "name": x.Name, "links": selfLink(r, "roles/"+x.ID)}
}

// inferenceBody is Keystone's reply of one implication
// (api/roles.py _get_implied_role), with its self link.
func inferenceBody(r *http.Request, prior, implied identity.Role) map[string]any {
	return map[string]any{"role_inference": map[string]any{"prior_role": roleRef(r, prior), "implies": roleRef(r, implied)},
		"links": selfLink(r, "roles/"+prior.ID+"/implies/"+implied.ID)}
}

func (a *API) inference(w http.ResponseWriter, r *http.Request, rule string) (identity.Role, identity.Role, bool) {
	if !a.allow(w, r, rule, nil) {
		return identity.Role{}, identity.Role{}, false
	}
	prior, err := a.Store.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return prior, prior, false
	}
	implied, err := a.Store.GetRole(r.Context(), r.PathValue("implied"))
	if err != nil {
		a.fail(w, r, err)
		return prior, implied, false
	}
	return prior, implied, true
}

func (a *API) createImplied(w http.ResponseWriter, r *http.Request) {
	prior, implied, ok := a.inference(w, r, "identity:create_implied_role")
	if !ok {
		return
	}
	if err := a.Store.Imply(r.Context(), prior.ID, implied.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, inferenceBody(r, prior, implied))
}

func (a *API) getImplied(w http.ResponseWriter, r *http.Request) {
	prior, implied, ok := a.inference(w, r, "identity:get_implied_role")
	if !ok {
		return
	}
	imp, err := a.Store.Implications(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, id := range imp[prior.ID] {
		if id == implied.ID {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			httpapi.WriteJSON(w, http.StatusOK, inferenceBody(r, prior, implied))
			return
		}
	}
	a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: "Could not find implied role: " + implied.ID + "."})
}

func (a *API) deleteImplied(w http.ResponseWriter, r *http.Request) {
	prior, implied, ok := a.inference(w, r, "identity:delete_implied_role")
	if !ok {
		return
	}
	if err := a.Store.Unimply(r.Context(), prior.ID, implied.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listImplied(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_implied_roles", nil) {
		return
	}
	prior, err := a.Store.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	inf, err := a.inferences(r, prior.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(inf) == 0 {
		inf = []any{map[string]any{"prior_role": roleRef(r, prior), "implies": []any{}}}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"role_inference": inf[0], "links": selfLink(r, "roles/"+prior.ID+"/implies")})
}

func (a *API) listInferences(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_role_inference_rules", nil) {
		return
	}
	inf, err := a.inferences(r, "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"role_inferences": inf, "links": selfLink(r, "role_inferences")})
}

// inferences renders implications (all, or of one prior role).
func (a *API) inferences(r *http.Request, only string) ([]any, error) {
	imp, err := a.Store.Implications(r.Context())
	if err != nil {
		return nil, err
	}
	out := []any{}
	for prior, ids := range imp {
		if only != "" && prior != only {
			continue
		}
		p, err := a.Store.GetRole(r.Context(), prior)
		if err != nil {
			return nil, err
		}
		implies := []any{}
		for _, id := range ids {
			x, err := a.Store.GetRole(r.Context(), id)
			if err != nil {
				return nil, err
			}
			implies = append(implies, roleRef(r, x))
		}
		out = append(out, map[string]any{"prior_role": roleRef(r, p), "implies": implies})
	}
	return out, nil
}
