package api

import (
	"net/http"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/httpapi"
)

// Service statuses (designate/api/v2/controllers/service_status.py): the
// heartbeats of the services that run (dns.Heartbeater), read-only,
// admin-only by Designate's policies.
func (a *API) serviceStatusRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/service_statuses", a.authed(a.listServiceStatuses))
	rt.HandleFunc("GET /v2/service_statuses/{service_id}", a.authed(a.showServiceStatus))
}

// serviceStatusView is ServiceStatusAPIv2Adapter's rendering.
type serviceStatusView struct {
	ID            string           `json:"id"`
	Hostname      string           `json:"hostname"`
	ServiceName   string           `json:"service_name"`
	Status        string           `json:"status"`
	Stats         map[string]int64 `json:"stats"`
	Capabilities  map[string]any   `json:"capabilities"`
	HeartbeatedAt string           `json:"heartbeated_at"`
	CreatedAt     string           `json:"created_at"`
	UpdatedAt     *string          `json:"updated_at"`
	Links         selfLink         `json:"links"`
}

func renderServiceStatus(r *http.Request, st dns.ServiceStatus) serviceStatusView {
	return serviceStatusView{
		ID: st.ID, Hostname: st.Hostname, ServiceName: st.ServiceName, Status: st.Status, Stats: st.Stats,
		Capabilities: st.Capabilities, HeartbeatedAt: timestamp(st.HeartbeatedAt), CreatedAt: timestamp(st.CreatedAt),
		UpdatedAt: updatedAt(st.CreatedAt, st.UpdatedAt), Links: selfLink{href(r, "service_statuses", st.ID)},
	}
}

func (a *API) listServiceStatuses(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	lq, err := parseList(r, q, serviceSortKeys, "hostname", "service_name", "status")
	if err == nil {
		err = a.enforce(ctx, q, "find_service_statuses", nil)
	}
	var sts []dns.ServiceStatus
	if err == nil {
		sts, err = a.Store.ListServiceStatuses(ctx, dns.ServiceStatusFilter{ServiceName: lq.filters["service_name"],
			Hostname: lq.filters["hostname"], Status: lq.filters["status"]})
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	writeMemoryList(w, r, lq, "service_statuses", false, sts, func(st dns.ServiceStatus) taskKeys {
		return taskKeys{id: st.ID, created: st.CreatedAt, updated: st.UpdatedAt, fields: map[string]string{
			"hostname": st.Hostname, "service_name": st.ServiceName, "status": st.Status}}
	}, func(r *http.Request, st dns.ServiceStatus) any { return renderServiceStatus(r, st) })
}

func (a *API) showServiceStatus(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	ids, err := pathIDs(r, "service_id")
	if err == nil {
		err = a.enforce(ctx, q, "find_service_status", nil)
	}
	var st dns.ServiceStatus
	if err == nil {
		st, err = a.Store.GetServiceStatus(ctx, ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderServiceStatus(r, st))
}
