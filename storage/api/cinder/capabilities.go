package cinder

import (
	"net/http"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// resourceFilterConfig is the microversion of GET /resource_filters.
const resourceFilterConfig = 33

// capabilityRoutes are Cinder's backend capabilities
// (contrib/capabilities.py) and resource filters (v3/resource_filters.py).
func (a *API) capabilityRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /capabilities/{host}", a.op(a.showCapabilities))
	rt.HandleFunc("GET /resource_filters", a.since(resourceFilterConfig, a.listResourceFilters))
}

// resourceFilters is Cinder's default resource_filters.json, in its
// order: the filters each resource's list lets every user give (from
// 3.31; admins may give any).
var resourceFilters = []struct {
	resource string
	filters  []string
}{
	{"volume", volumeFilters},
	{"backup", backupFilters},
	{"snapshot", snapshotFilters},
	{"group", []string{}},
	{"group_snapshot", []string{"status", "group_id"}},
	{"attachment", attachmentFilters},
	{"message", messageFilters},
	{"pool", []string{"name", "volume_type"}},
	{"volume_type", []string{"is_public"}},
}

// listResourceFilters is GET /resource_filters (3.33): every resource's
// filters, or the one resource asked (?resource=); an unknown resource
// gives an empty list (Cinder 21 fails on it with a 500).
func (a *API) listResourceFilters(w http.ResponseWriter, r *http.Request, q *request) error {
	want, one := newListQuery(r.URL.Query()).last("resource")
	out := []map[string]any{}
	for _, f := range resourceFilters {
		if !one || want == "" || f.resource == want {
			out = append(out, map[string]any{"resource": f.resource, "filters": f.filters})
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_filters": out})
	return nil
}

// showCapabilities is GET /capabilities/{host} (admins): the volume
// service the host names, as Cinder's host_or_cluster filter matches it
// (host@backend itself, or a host's first backend; a pool is no
// service), shown from its first pool's report with Cinder's standard
// capabilities as the properties (thin provisioning, compression, QoS,
// replication), as the LVM and RBD drivers have no vendor ones.
func (a *API) showCapabilities(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:capabilities", nil); err != nil {
		return err
	}
	id := r.PathValue("host")
	services, err := a.volumeServices(r.Context())
	if err != nil {
		return err
	}
	var svc *volumeService
	for _, s := range services {
		if serviceMatches(s.host, id) {
			svc = s
			break
		}
	}
	if svc == nil {
		return notFound("Can't find service: %s", id)
	}
	b, err := a.Store.Backend(r.Context(), svc.pools[0])
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, capabilitiesView(svc.host, b.Report))
	return nil
}

// serviceMatches is Cinder's _filter_host of a service's host
// (host@backend) against value: with a pool ('#') only that pool, which
// no service is; with a backend ('@') that backend; else any backend of
// that host.
func serviceMatches(host, value string) bool {
	switch {
	case strings.Contains(value, "#"):
		return host == value
	case strings.Contains(value, "@"):
		return host == value || strings.HasPrefix(host, value+"#")
	}
	return host == value || strings.HasPrefix(host, value+"@") || strings.HasPrefix(host, value+"#")
}

// capabilitiesView is Cinder's capabilities summary view of a service's
// report.
func capabilitiesView(host string, r storage.BackendReport) map[string]any {
	prop := func(title, description string) map[string]any {
		return map[string]any{"title": title, "description": description, "type": "boolean"}
	}
	return map[string]any{
		"namespace":           "OS::Storage::Capabilities::" + host,
		"vendor_name":         orNull(r.VendorName),
		"volume_backend_name": orNull(r.VolumeBackendName),
		"pool_name":           nil,
		"driver_version":      orNull(r.DriverVersion),
		"storage_protocol":    orNull(r.StorageProtocol),
		"display_name":        nil,
		"description":         nil,
		"visibility":          nil,
		"replication_targets": []any{},
		"properties": map[string]any{
			"thin_provisioning":   prop("Thin Provisioning", "Sets thin provisioning."),
			"compression":         prop("Compression", "Enables compression."),
			"qos":                 prop("QoS", "Enables QoS."),
			"replication_enabled": prop("Replication", "Enables replication."),
		},
	}
}
