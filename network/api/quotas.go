package api

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

// quotaRoutes are Neutron's quotas and quota_details extensions
// (neutron/extensions/quotasv2.py, quotasv2_detail.py).
func (a *API) quotaRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2.0/quotas", a.authed(a.listQuotas))
	rt.HandleFunc("GET /v2.0/quotas/{project_id}", a.authed(a.showQuota))
	rt.HandleFunc("PUT /v2.0/quotas/{project_id}", a.authed(a.updateQuota))
	rt.HandleFunc("DELETE /v2.0/quotas/{project_id}", a.authed(a.deleteQuota))
	rt.HandleFunc("GET /v2.0/quotas/{project_id}/default", a.authed(a.showDefaultQuota))
	rt.HandleFunc("GET /v2.0/quotas/{project_id}/details", a.authed(a.showQuotaDetails))
}

// quotaTarget is what Neutron's quota rules are checked on: the caller's
// own project (quotasv2.validate_policy), whichever project the request
// names.
func quotaTarget(q *request) map[string]any {
	return map[string]any{"project_id": q.caller.ProjectID, "tenant_id": q.caller.ProjectID}
}

// quotaProject is the project of the path if rule allows the caller (or,
// with own, it is the caller's project, as Neutron's show and default
// need no rule for it), in Keystone's id form.
func (a *API) quotaProject(ctx context.Context, r *http.Request, q *request, rule string, own bool) (string, error) {
	id := r.PathValue("project_id")
	if !(own && id == q.caller.ProjectID) && !a.allowed(ctx, q, rule, quotaTarget(q)) {
		return "", notAuthorized(rule)
	}
	return id, network.CheckProjectID(id)
}

// listQuotas is the projects that have limits of their own (get_quota).
func (a *API) listQuotas(w http.ResponseWriter, r *http.Request, q *request) {
	if !a.allowed(r.Context(), q, "get_quota", quotaTarget(q)) {
		fail(w, r, notAuthorized("get_quota"))
		return
	}
	all, err := a.Store.ListQuotas(r.Context())
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(all))
	for _, p := range all {
		item := map[string]any{"project_id": p.ProjectID, "tenant_id": p.ProjectID}
		for k, v := range p.Limits {
			item[k] = v
		}
		out = append(out, item)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
}

// showQuota is a project's limits; "tenant" and "project" are Neutron's
// who-am-I actions (the caller's project id).
func (a *API) showQuota(w http.ResponseWriter, r *http.Request, q *request) {
	switch key := r.PathValue("project_id"); key {
	case "tenant", "project":
		if q.caller.ProjectID == "" {
			fail(w, r, &fault.Error{Kind: fault.BadRequest, Type: "QuotaMissingTenant", Message: "Tenant-id was missing from quota request."})
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{key: map[string]any{key + "_id": q.caller.ProjectID}})
		return
	}
	id, err := a.quotaProject(r.Context(), r, q, "get_quota", true)
	var limits map[string]int
	if err == nil {
		limits, err = a.Store.Quota(r.Context(), id)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": limits})
}

// showDefaultQuota is the limits of a project without its own.
func (a *API) showDefaultQuota(w http.ResponseWriter, r *http.Request, q *request) {
	if _, err := a.quotaProject(r.Context(), r, q, "get_quota", true); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": a.Store.QuotaDefaults()})
}

// showQuotaDetails is a project's limits with its use: the project's own
// or, for an admin (not a policy rule: Neutron checks is_admin), any.
func (a *API) showQuotaDetails(w http.ResponseWriter, r *http.Request, q *request) {
	id := r.PathValue("project_id")
	if id != q.caller.ProjectID && !q.admin {
		fail(w, r, &fault.Error{Kind: fault.Forbidden, Type: "AdminRequired",
			Message: "User does not have admin privileges: Only admin is authorized to access quotas for another project."})
		return
	}
	d, err := a.Store.QuotaDetails(r.Context(), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": d})
}

// updateQuota sets limits of a project (update_quota): {"quota":
// {resource: limit}}, with Neutron's check_limit (refuse a limit below
// the use) and force (the default: take it).
func (a *API) updateQuota(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	id, err := a.quotaProject(ctx, r, q, "update_quota", false)
	var attrs map[string]any
	if err == nil {
		attrs, err = decode(w, r, "quota")
	}
	var limits map[string]int
	var check *bool
	if err == nil {
		limits, check, err = parseQuota(attrs)
	}
	if err == nil {
		limits, err = a.Store.SetQuota(ctx, id, limits, check != nil && *check)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": limits})
}

// parseQuota reads an update's limits (Neutron's convert_to_int; the
// store checks their range) and its check_limit.
func parseQuota(attrs map[string]any) (map[string]int, *bool, error) {
	check, err := boolean(attrs, "check_limit")
	if err != nil {
		return nil, nil, err
	}
	if _, err := boolean(attrs, "force"); err != nil {
		return nil, nil, err
	}
	delete(attrs, "check_limit")
	delete(attrs, "force")
	if err := known(attrs, network.QuotaResources()...); err != nil {
		return nil, nil, err
	}
	limits := map[string]int{}
	for k, v := range attrs {
		if v == nil {
			return nil, nil, invalidInput("'None' is not an integer")
		}
		n, err := integer(attrs, k)
		if err != nil {
			return nil, nil, err
		}
		limits[k] = *n
	}
	return limits, check, nil
}

// deleteQuota puts a project back to the defaults (delete_quota).
func (a *API) deleteQuota(w http.ResponseWriter, r *http.Request, q *request) {
	id, err := a.quotaProject(r.Context(), r, q, "delete_quota", false)
	if err == nil {
		err = a.Store.DeleteQuota(r.Context(), id)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
