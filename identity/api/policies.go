package api

import (
	"encoding/json"
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// policyBlobRoutes are Keystone's /v3/policies (keystone/api/policy.py):
// stored policy blobs, which nothing here enforces. The rule is checked
// first, as Keystone's enforce_call comes first.
func (a *API) policyBlobRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v3/policies", a.authed(a.createPolicyBlob))
	rt.HandleFunc("GET /v3/policies", a.authed(a.listPolicyBlobs))
	rt.HandleFunc("GET /v3/policies/{id}", a.authed(a.getPolicyBlob))
	rt.HandleFunc("PATCH /v3/policies/{id}", a.authed(a.updatePolicyBlob))
	rt.HandleFunc("DELETE /v3/policies/{id}", a.authed(a.deletePolicyBlob))
}

type policyBlobBody struct {
	Policy map[string]json.RawMessage `json:"policy"`
}

// apply copies a body onto p as Keystone's policy_create and
// policy_update schemas read it: type and blob strings (required on
// create), every other member kept as an extra property but "links"
// (ignored, as for users) and "id": ignored on create (Keystone assigns
// one), and on update a 400 when it is not p's.
func applyPolicyBlob(body map[string]json.RawMessage, p *identity.Policy, update bool) error {
	if !update {
		for _, k := range []string{"blob", "type"} {
			if _, ok := body[k]; !ok {
				return fault.Invalid("policy."+k, "'%s' is a required property", k)
			}
		}
	}
	if p.Extra == nil {
		p.Extra = map[string]json.RawMessage{}
	}
	for k, v := range body {
		switch k {
		case "type", "blob":
			var s *string
			if json.Unmarshal(v, &s) != nil || s == nil {
				return fault.Invalid("policy."+k, "expected string")
			}
			if k == "type" {
				p.Type = *s
			} else {
				p.Blob = *s
			}
		case "id":
			var s *string
			if update && (json.Unmarshal(v, &s) != nil || s == nil || *s != p.ID) {
				return fault.Invalid("policy.id", "Cannot change policy ID")
			}
		case "links":
		default:
			p.Extra[k] = v
		}
	}
	return nil
}

func renderPolicyBlob(r *http.Request, p identity.Policy) map[string]any {
	out := map[string]any{}
	for k, v := range p.Extra {
		out[k] = v
	}
	out["id"], out["type"], out["blob"] = p.ID, p.Type, p.Blob
	out["links"] = selfLink(r, "policies/"+p.ID)
	return out
}

// decodePolicyBlob reads {"policy": {...}}; a missing or null policy is
// Keystone's {} (its request_body_json.get('policy', {})).
func decodePolicyBlob(w http.ResponseWriter, r *http.Request, update bool) (map[string]json.RawMessage, error) {
	var b policyBlobBody
	var err error
	if update {
		err = decodeUpdate(w, r, "policy", &b)
	} else {
		err = decode(w, r, &b)
	}
	if err != nil {
		return nil, err
	}
	if update && len(b.Policy) == 0 {
		return nil, fault.Invalid("policy", "does not have enough properties: at least one is needed")
	}
	return b.Policy, nil
}

func (a *API) createPolicyBlob(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:create_policy", nil) {
		return
	}
	body, err := decodePolicyBlob(w, r, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var p identity.Policy
	if err := applyPolicyBlob(body, &p, false); err != nil {
		a.fail(w, r, err)
		return
	}
	if p, err = a.Store.CreatePolicy(r.Context(), p); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"policy": renderPolicyBlob(r, p)})
}

// listPolicyBlobs takes Keystone's type filter (exact and inexact) and
// list_limit.
func (a *API) listPolicyBlobs(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_policies", nil) {
		return
	}
	q := r.URL.Query()
	ps, truncated, err := limitList(a.ListLimit, false,
		func(int) ([]identity.Policy, error) { return a.Store.ListPolicies(r.Context()) },
		func(ps []identity.Policy) ([]identity.Policy, error) { return policyBlobFilters.apply(q, ps), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "policies", renderAll(r, ps, renderPolicyBlob)), truncated))
}

var policyBlobFilters = filters[identity.Policy]{
	text: map[string]func(identity.Policy) string{"type": func(p identity.Policy) string { return p.Type }},
}

func (a *API) getPolicyBlob(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_policy", nil) {
		return
	}
	p, err := a.Store.GetPolicy(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"policy": renderPolicyBlob(r, p)})
}

// updatePolicyBlob checks the body before it looks for the policy, as
// Keystone validates before its driver answers 404; extra members merge
// into those kept, as Keystone's update does.
func (a *API) updatePolicyBlob(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:update_policy", nil) {
		return
	}
	body, err := decodePolicyBlob(w, r, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	probe := identity.Policy{ID: id}
	if err := applyPolicyBlob(body, &probe, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := probe.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.Store.GetPolicy(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := applyPolicyBlob(body, &p, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if p, err = a.Store.UpdatePolicy(r.Context(), p); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"policy": renderPolicyBlob(r, p)})
}

func (a *API) deletePolicyBlob(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:delete_policy", nil) {
		return
	}
	if err := a.Store.DeletePolicy(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
