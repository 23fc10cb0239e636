package cinder

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

// availabilityZoneRoutes are Cinder's os-availability-zone
// (contrib/availability_zones.py): the zones of the backends, each
// available unless every backend in it is disabled. Cinder checks no
// policy here.
func (a *API) availabilityZoneRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-availability-zone", a.op(a.availabilityZones))
}

func (a *API) availabilityZones(w http.ResponseWriter, r *http.Request, q *request) error {
	zones, err := a.Store.AvailabilityZones(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(zones))
	for i, z := range zones {
		out[i] = map[string]any{"zoneName": z.Name, "zoneState": map[string]bool{"available": z.Available}}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}
