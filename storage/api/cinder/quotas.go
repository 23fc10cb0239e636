package cinder

import (
	"context"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
)

// quotaRoutes are Cinder's os-quota-sets (contrib/quotas.py) and
// /limits (v3/limits.py with the used_limits extension).
func (a *API) quotaRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-quota-sets/{project}", a.op(a.showQuotas))
	rt.HandleFunc("GET /os-quota-sets/{project}/defaults", a.op(a.quotaDefaults))
	rt.HandleFunc("PUT /os-quota-sets/{project}", a.op(a.updateQuotas))
	rt.HandleFunc("DELETE /os-quota-sets/{project}", a.op(a.deleteQuotas))
	rt.HandleFunc("GET /limits", a.op(a.limits))
}

func projectTarget(project string) map[string]any { return map[string]any{"project_id": project} }

// showQuotas is GET /os-quota-sets/{project}: the limits, or with
// usage=true each resource's limit, in_use and reserved.
func (a *API) showQuotas(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "volume_extension:quotas:show", projectTarget(project)); err != nil {
		return err
	}
	usage, err := newListQuery(r.URL.Query()).boolParam("usage")
	if err != nil {
		return err
	}
	limits, err := a.Store.Quotas(r.Context(), project)
	if err != nil {
		return err
	}
	set := map[string]any{"id": project}
	if !usage {
		for k, v := range limits {
			set[k] = v
		}
	} else {
		used, err := a.Store.QuotaUsage(r.Context(), project)
		if err != nil {
			return err
		}
		for k, v := range limits {
			set[k] = map[string]int64{"limit": v, "in_use": used[k], "reserved": 0}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": set})
	return nil
}

// quotaDefaults is GET /os-quota-sets/{project}/defaults.
func (a *API) quotaDefaults(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "volume_extension:quotas:show", projectTarget(project)); err != nil {
		return err
	}
	defaults, err := a.Store.QuotaDefaultSet(r.Context())
	if err != nil {
		return err
	}
	set := map[string]any{"id": project}
	for k, v := range defaults {
		set[k] = v
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": set})
	return nil
}

// quotaKeys is the schema's check of quota keys: the resources there
// are now.
func (a *API) quotaKeys(ctx context.Context) (func(string) bool, error) {
	rs, err := a.Store.QuotaResources(ctx)
	if err != nil {
		return nil, err
	}
	return func(k string) bool { return slices.Contains(rs, k) }, nil
}

// updateQuotas is an admin's PUT /os-quota-sets/{project}: the limits
// given (tenant_id and id ignored), none below the project's use; the
// answer is every limit after.
func (a *API) updateQuotas(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	keys, err := a.quotaKeys(r.Context())
	if err != nil {
		return err
	}
	if err := quotaUpdateSchema.check(&checkEnv{quotaKey: keys}, body); err != nil {
		return err
	}
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "volume_extension:quotas:update", projectTarget(project)); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(project); n > 255 {
		return badRequest("Invalid input received: quota_set_name has %d characters, more than 255.", n)
	}
	set := body.Get("quota_set")
	limits := map[string]int64{}
	for i, k := range set.Keys {
		if k == "tenant_id" || k == "id" {
			continue
		}
		n, _ := pyjson.Int(set.Items[i].Str())
		limits[k] = n.Int64() // the schema's format kept it within -1 and 2147483647
	}
	out, err := a.Store.SetQuotas(r.Context(), project, limits)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

// deleteQuotas is an admin's DELETE /os-quota-sets/{project}: back to
// the defaults (200, no body).
func (a *API) deleteQuotas(w http.ResponseWriter, r *http.Request, q *request) error {
	project := r.PathValue("project")
	if err := a.authorize(r.Context(), q, "volume_extension:quotas:delete", projectTarget(project)); err != nil {
		return err
	}
	if err := a.Store.DeleteQuotas(r.Context(), project); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// absoluteLimits name Cinder's limits view (views/limits.py) and the
// used_limits extension.
var (
	absoluteLimits = map[string]string{"gigabytes": "maxTotalVolumeGigabytes", "backup_gigabytes": "maxTotalBackupGigabytes",
		"volumes": "maxTotalVolumes", "snapshots": "maxTotalSnapshots", "backups": "maxTotalBackups"}
	usedLimits = map[string]string{"volumes": "totalVolumesUsed", "gigabytes": "totalGigabytesUsed",
		"snapshots": "totalSnapshotsUsed", "backups": "totalBackupsUsed", "backup_gigabytes": "totalBackupGigabytesUsed"}
)

// limits is GET /limits: the caller's project's absolute limits (an
// admin's project_id or tenant_id from 3.39), with the use where
// limits_extension:used_limits allows; no rate limits.
func (a *API) limits(w http.ResponseWriter, r *http.Request, q *request) error {
	project := q.caller.ProjectID
	if q.at(39) && q.admin {
		query := newListQuery(r.URL.Query())
		if p, ok := query.last("tenant_id"); ok {
			project = p
		}
		if p, ok := query.last("project_id"); ok {
			project = p
		}
	}
	limits, err := a.Store.Quotas(r.Context(), project)
	if err != nil {
		return err
	}
	abs := map[string]int64{}
	for k, name := range absoluteLimits {
		if v, ok := limits[k]; ok {
			abs[name] = v
		}
	}
	if a.allowed(r.Context(), q, "limits_extension:used_limits", nil) {
		used, err := a.Store.QuotaUsage(r.Context(), project)
		if err != nil {
			return err
		}
		for k, name := range usedLimits {
			if _, ok := limits[k]; ok {
				abs[name] = used[k]
			}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}
