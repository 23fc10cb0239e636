package api

import (
	"maps"
	"net/http"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Designate's [service:central] name limits, as GET /v2/limits reports
// them. The store allows 253 characters and the final dot.
const maxNameLength = 254

func (a *API) quotaRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/quotas", a.authed(a.showOwnQuota))
	rt.HandleFunc("GET /v2/quotas/{project_id}", a.authed(a.showQuota))
	rt.HandleFunc("PATCH /v2/quotas/{project_id}", a.authed(a.setQuota))
	rt.HandleFunc("DELETE /v2/quotas/{project_id}", a.authed(a.resetQuota))
	rt.HandleFunc("GET /v2/limits", a.authed(a.limits))
}

// checkQuota checks a quota rule on central's target; reading or setting
// another project's quotas also needs all_tenants (403 otherwise).
func (a *API) checkQuota(r *http.Request, q *request, rule, project string) error {
	t := projectTarget(project)
	t["all_tenants"] = q.all
	if err := a.enforce(r.Context(), q, rule, t); err != nil {
		return err
	}
	if rule != "reset_quotas" && project != q.project && !q.all {
		return &fault.Error{Kind: fault.Forbidden, Type: "forbidden",
			Message: "Acting on the quotas of another project needs X-Auth-All-Projects"}
	}
	return nil
}

func (a *API) showOwnQuota(w http.ResponseWriter, r *http.Request, q *request) {
	a.writeQuota(w, r, q, q.project)
}

func (a *API) showQuota(w http.ResponseWriter, r *http.Request, q *request) {
	a.writeQuota(w, r, q, r.PathValue("project_id"))
}

func (a *API) writeQuota(w http.ResponseWriter, r *http.Request, q *request, project string) {
	if err := a.checkQuota(r, q, "get_quotas", project); err != nil {
		fail(w, r, err)
		return
	}
	quota, err := a.Store.GetQuota(r.Context(), project)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, quotaView(quota))
}

// setQuota is QuotasController.patch_one: {"zones": 20, ...}.
func (a *API) setQuota(w http.ResponseWriter, r *http.Request, q *request) {
	project := r.PathValue("project_id")
	raw, err := decodeObject(w, r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o := object{resource: "quota", raw: raw}
	limits := make(map[string]int, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		n, err := o.integer(k, false)
		if err != nil {
			fail(w, r, err)
			return
		}
		limits[k] = *n
	}
	if q.project == "" && !q.all {
		fail(w, r, &fault.Error{Kind: fault.Unauthorized, Type: "missing_project_id",
			Message: "The all-projects flag must be used when using non-project scoped tokens."})
		return
	}
	if err := a.checkQuota(r, q, "set_quota", project); err != nil {
		fail(w, r, err)
		return
	}
	quota, err := a.Store.SetQuota(r.Context(), project, limits)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, quotaView(quota))
}

func (a *API) resetQuota(w http.ResponseWriter, r *http.Request, q *request) {
	project := r.PathValue("project_id")
	if err := a.checkQuota(r, q, "reset_quotas", project); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.Store.ResetQuota(r.Context(), project); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// limits is LimitsController: the caller's quotas and the API's limits.
func (a *API) limits(w http.ResponseWriter, r *http.Request, q *request) {
	quota, err := a.Store.GetQuota(r.Context(), q.project)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, limitsView{
		MaxZones: quota.Zones, MaxZoneRecordSets: quota.ZoneRecordSets, MaxZoneRecords: quota.ZoneRecords,
		MaxRecordSetRecords: quota.RecordSetRecords, MaxZoneNameLength: maxNameLength,
		MaxRecordSetNameLength: maxNameLength, MaxPageLimit: maxLimit,
	})
}

type limitsView struct {
	MaxZones               int  `json:"max_zones"`
	MaxZoneRecordSets      int  `json:"max_zone_recordsets"`
	MaxZoneRecords         int  `json:"max_zone_records"`
	MaxRecordSetRecords    int  `json:"max_recordset_records"`
	MinTTL                 *int `json:"min_ttl"` // Designate's min_ttl: unset
	MaxZoneNameLength      int  `json:"max_zone_name_length"`
	MaxRecordSetNameLength int  `json:"max_recordset_name_length"`
	MaxPageLimit           int  `json:"max_page_limit"`
}
