package nova

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) quotaRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-quota-sets/{project}", a.op(a.showQuotas(false)))
	rt.HandleFunc("GET /os-quota-sets/{project}/detail", a.op(a.showQuotas(true)))
	rt.HandleFunc("GET /os-quota-sets/{project}/defaults", a.op(a.quotaDefaults))
	rt.HandleFunc("PUT /os-quota-sets/{project}", a.op(a.updateQuotas))
	rt.HandleFunc("DELETE /os-quota-sets/{project}", a.op(a.deleteQuotas))
	rt.HandleFunc("GET /limits", a.op(a.limits))
}

// filteredQuotas are what a microversion no longer shows: Neutron's
// proxies from 2.36, injected files from 2.57.
func filteredQuotas(q *request) []string {
	switch {
	case q.at(57):
		return []string{"fixed_ips", "floating_ips", "security_group_rules", "security_groups", "injected_files",
			"injected_file_content_bytes", "injected_file_path_bytes"}
	case q.at(36):
		return []string{"fixed_ips", "floating_ips", "security_group_rules", "security_groups"}
	}
	return nil
}

// quotaSet is Nova's _format_quota_set.
func quotaSet(q *request, project string, values map[string]any) map[string]any {
	out := map[string]any{}
	if project != "" {
		out["id"] = project
	}
	skip := filteredQuotas(q)
	for _, r := range compute.QuotaResources {
		if v, ok := values[r]; ok && !slices.Contains(skip, r) {
			out[r] = v
		}
	}
	return map[string]any{"quota_set": out}
}

func limitsAny(m map[string]int64) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// quotaQuery checks the query: per-user quotas are not kept here.
func (a *API) quotaQuery(r *http.Request, q *request) error {
	if err := checkQuery(r, q, "user_id"); err != nil {
		return err
	}
	if _, ok := r.URL.Query()["user_id"]; ok {
		return badRequest("Per-user quotas are not supported by this cloud; quotas are per project.")
	}
	return nil
}

func (a *API) showQuotas(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		project := r.PathValue("project")
		rule := "os_compute_api:os-quota-sets:show"
		if detail {
			rule = "os_compute_api:os-quota-sets:detail"
		}
		if err := a.authorize(r.Context(), q, rule, map[string]any{"project_id": project}); err != nil {
			return err
		}
		if err := a.quotaQuery(r, q); err != nil {
			return err
		}
		limits, err := a.Store.Quotas(r.Context(), project)
		if err != nil {
			return err
		}
		if !detail {
			httpapi.WriteJSON(w, http.StatusOK, quotaSet(q, project, limitsAny(limits)))
			return nil
		}
		used, err := a.Store.QuotaUsage(r.Context(), project)
		if err != nil {
			return err
		}
		values := map[string]any{}
		for k, v := range limits {
			values[k] = map[string]any{"limit": v, "in_use": used[k], "reserved": 0}
		}
		httpapi.WriteJSON(w, http.StatusOK, quotaSet(q, project, values))
		return nil
	}
}

func (a *API) quotaDefaults(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "os_compute_api:os-quota-sets:defaults", map[string]any{"project_id": project}); err != nil {
		return err
	}
	defaults, err := a.Store.Quotas(r.Context(), "")
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, quotaSet(q, project, limitsAny(defaults)))
	return nil
}

func (a *API) updateQuotas(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "os_compute_api:os-quota-sets:update", map[string]any{"project_id": project}); err != nil {
		return err
	}
	if err := a.quotaQuery(r, q); err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	qs, err := topObject(v, "quota_set")
	if err != nil {
		return err
	}
	allowed := append([]string{"force", "networks"}, compute.QuotaResources...)
	if q.at(36) {
		allowed = slices.DeleteFunc(allowed, func(k string) bool {
			return k == "networks" || slices.Contains([]string{"fixed_ips", "floating_ips", "security_group_rules", "security_groups"}, k)
		})
	}
	if q.at(57) {
		allowed = slices.DeleteFunc(allowed, func(k string) bool { return strings.HasPrefix(k, "injected_file") })
	}
	if err := qs.onlyAt("quota_set", allowed...); err != nil {
		return err
	}
	if _, ok := qs.m["networks"]; ok {
		return badRequest("The networks quota has been removed")
	}
	force := false
	if f, ok := qs.m["force"]; ok {
		switch b := f.(type) {
		case bool:
			force = b
		case string:
			force = strings.EqualFold(b, "true") || b == "1" || strings.EqualFold(b, "yes") || strings.EqualFold(b, "on")
		default:
			return badRequest("Invalid input for field/attribute force. Value: %s. %s is not of type 'boolean', 'string'", pyBare(f), py(f))
		}
	}
	limits := map[string]int64{}
	for k, raw := range qs.m {
		if k == "force" {
			continue
		}
		var s string
		switch x := raw.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = x
		default:
			return badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'integer', 'string'", k, pyBare(raw), py(raw))
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < -1 || n > 0x7FFFFFFF {
			return badRequest("Invalid input for field/attribute %s. Value: %s. %s is not a valid quota limit (-1 to 2147483647)", k, s, py(raw))
		}
		limits[k] = n
	}
	after, err := a.Store.SetQuotas(r.Context(), project, limits, force)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, quotaSet(q, "", limitsAny(after)))
	return nil
}

func (a *API) deleteQuotas(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "os_compute_api:os-quota-sets:delete", map[string]any{"project_id": project}); err != nil {
		return err
	}
	if err := a.quotaQuery(r, q); err != nil {
		return err
	}
	if err := a.Store.DeleteQuotas(r.Context(), project); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// limitNames are Nova's views/limits.py names of each quota.
var limitNames = map[string][]string{
	"ram": {"maxTotalRAMSize"}, "instances": {"maxTotalInstances"}, "cores": {"maxTotalCores"}, "key_pairs": {"maxTotalKeypairs"},
	"floating_ips": {"maxTotalFloatingIps"}, "metadata_items": {"maxServerMeta", "maxImageMeta"}, "injected_files": {"maxPersonality"},
	"injected_file_content_bytes": {"maxPersonalitySize"}, "security_groups": {"maxSecurityGroups"},
	"security_group_rules": {"maxSecurityGroupRules"}, "server_groups": {"maxServerGroups"}, "server_group_members": {"maxServerGroupMembers"},
}

// limits is GET /limits: the caller's project's absolute limits and use
// (an admin may name another project with tenant_id); no rate limits.
func (a *API) limits(w http.ResponseWriter, r *http.Request, q *request) error {
	project := q.caller.ProjectID
	if t := r.URL.Query().Get("tenant_id"); t != "" {
		if err := a.authorize(r.Context(), q, "os_compute_api:limits:other_project", map[string]any{"project_id": t}); err != nil {
			return err
		}
		project = t
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:limits", map[string]any{"project_id": project}); err != nil {
		return err
	}
	if q.at(75) {
		if err := strictQuery(r, "tenant_id"); err != nil {
			return err
		}
	}
	limits, err := a.Store.Quotas(r.Context(), project)
	if err != nil {
		return err
	}
	used, err := a.Store.QuotaUsage(r.Context(), project)
	if err != nil {
		return err
	}
	skip := []string{}
	switch {
	case q.at(57):
		skip = []string{"floating_ips", "security_groups", "security_group_rules", "injected_files", "injected_file_content_bytes"}
	case q.at(36):
		skip = []string{"floating_ips", "security_groups", "security_group_rules"}
	}
	abs := map[string]any{}
	for res, names := range limitNames {
		if slices.Contains(skip, res) {
			continue
		}
		for _, n := range names {
			if n == "maxImageMeta" && q.at(39) {
				continue
			}
			abs[n] = limits[res]
		}
	}
	abs["totalRAMUsed"], abs["totalCoresUsed"], abs["totalInstancesUsed"], abs["totalServerGroupsUsed"] = used["ram"], used["cores"], used["instances"], used["server_groups"]
	if !q.at(36) {
		abs["totalFloatingIpsUsed"], abs["totalSecurityGroupsUsed"] = 0, 0
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}
