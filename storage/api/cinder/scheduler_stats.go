package cinder

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// schedulerStatsRoutes are Cinder's scheduler-stats
// (contrib/scheduler_stats.py): the pools the scheduler may place on.
func (a *API) schedulerStatsRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /scheduler-stats/get_pools", a.op(a.getPools))
}

// poolCapabilities is a pool's capabilities as Cinder's scheduler keeps
// them: the driver's report (backend and pool figures and its own
// capabilities), the pool's name, what its volumes take and the
// report's time.
func poolCapabilities(b storage.Backend) map[string]any {
	rep := b.Report
	out := map[string]any{}
	for k, v := range rep.Capabilities {
		out[k] = v
	}
	_, pool, _ := strings.Cut(b.Host, "#")
	for k, v := range map[string]any{
		"pool_name": pool, "volume_backend_name": rep.VolumeBackendName, "vendor_name": orNull(rep.VendorName),
		"driver_version": orNull(rep.DriverVersion), "storage_protocol": orNull(rep.StorageProtocol),
		"total_capacity_gb": rep.TotalCapacityGB, "free_capacity_gb": rep.FreeCapacityGB,
		"allocated_capacity_gb":     b.AllocatedCapacityGB,
		"thin_provisioning_support": rep.ThinProvisioningSupport, "thick_provisioning_support": rep.ThickProvisioningSupport,
		"reserved_percentage": rep.ReservedPercentage, "multiattach": rep.Multiattach,
		"timestamp": isoTime(b.UpdatedAt),
	} {
		out[k] = v
	}
	if rep.ProvisionedCapacityGB != nil {
		out["provisioned_capacity_gb"] = *rep.ProvisionedCapacityGB
	}
	if rep.ThinProvisioningSupport {
		ratio := rep.MaxOverSubscriptionRatio
		if ratio == 0 {
			ratio = storage.DefaultMaxOverSubscriptionRatio
		}
		out["max_over_subscription_ratio"] = ratio
	}
	return out
}

// getPools is an admin's GET /scheduler-stats/get_pools: the pools of
// the backends that are up and enabled (the scheduler's), with detail
// their capabilities; from 3.28 the name filter (other filters refused
// as Cinder refuses them, volume_type from 3.35 not supported yet).
func (a *API) getPools(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "scheduler_extension:scheduler_stats:get_pools", nil); err != nil {
		return err
	}
	query := newListQuery(r.URL.Query())
	detail, err := query.boolParam("detail")
	if err != nil {
		return err
	}
	delete(query.Values, "detail")
	name := ""
	if q.at(28) {
		var invalid []string
		for k := range query.Values {
			if k != "name" && k != "volume_type" && k != "all_tenants" {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			slices.Sort(invalid)
			return badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
		name, _ = query.last("name")
		if _, ok := query.Values["volume_type"]; ok && q.at(35) {
			return badRequest("The pool filter volume_type is not supported yet.")
		}
	}
	backends, err := a.Store.Backends(r.Context())
	if err != nil {
		return err
	}
	pools := []map[string]any{}
	for _, b := range backends {
		if !b.Up || b.Disabled || name != "" && b.Host != name {
			continue
		}
		p := map[string]any{"name": b.Host}
		if detail {
			p["capabilities"] = poolCapabilities(b)
		}
		pools = append(pools, p)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"pools": pools})
	return nil
}
