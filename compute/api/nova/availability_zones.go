package nova

import (
	"net/http"
	"slices"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-availability-zone (availability_zone.py over
// nova/availability_zones.py). A zone is available when an enabled
// service is in it, whether or not that service is up; a zone whose
// services are all disabled is listed as not available. Each service's
// zone is the Store's: its host's aggregates' zone for a compute
// service (compute.DefaultAvailabilityZone when none), the internal
// zone for the others.
func (a *API) availabilityZoneRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-availability-zone", a.op(a.listZones))
	rt.HandleFunc("GET /os-availability-zone/detail", a.op(a.zoneDetail))
}

// zoneStates are get_availability_zones: the sorted zones of enabled
// services, and the sorted zones of disabled services that are not
// among them.
func zoneStates(svcs []compute.Service) (available, unavailable []string) {
	for _, sv := range svcs {
		if !sv.Disabled && !slices.Contains(available, sv.Zone) {
			available = append(available, sv.Zone)
		}
	}
	for _, sv := range svcs {
		if sv.Disabled && !slices.Contains(available, sv.Zone) && !slices.Contains(unavailable, sv.Zone) {
			unavailable = append(unavailable, sv.Zone)
		}
	}
	slices.Sort(available)
	slices.Sort(unavailable)
	return available, unavailable
}

func zoneEntry(zone string, available bool, hosts any) map[string]any {
	return map[string]any{"zoneName": zone, "zoneState": map[string]any{"available": available}, "hosts": hosts}
}

// listZones is GET /os-availability-zone: every zone but the internal
// one, without hosts.
func (a *API) listZones(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-availability-zone:list", noTarget()); err != nil {
		return err
	}
	svcs, err := a.Store.Services(r.Context(), "", "")
	if err != nil {
		return err
	}
	available, unavailable := zoneStates(svcs)
	list := []any{}
	for _, zones := range []struct {
		names []string
		state bool
	}{{available, true}, {unavailable, false}} {
		for _, z := range zones.names {
			if z != compute.InternalAvailabilityZone {
				list = append(list, zoneEntry(z, zones.state, nil))
			}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": list})
	return nil
}

// zoneDetail is GET /os-availability-zone/detail: the internal zone too,
// and for each available zone its hosts with their enabled services
// (but the API services), whether each is up, active and when it last
// reported.
func (a *API) zoneDetail(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-availability-zone:detail", noTarget()); err != nil {
		return err
	}
	svcs, err := a.Store.Services(r.Context(), "", "")
	if err != nil {
		return err
	}
	available, unavailable := zoneStates(svcs)
	hosts := map[string]map[string]any{} // zone → host → binary → state
	for _, sv := range svcs {
		if sv.Disabled || slices.Contains(apiServices, sv.Binary) {
			continue
		}
		if hosts[sv.Zone] == nil {
			hosts[sv.Zone] = map[string]any{}
		}
		binaries, _ := hosts[sv.Zone][sv.Host].(map[string]any)
		if binaries == nil {
			binaries = map[string]any{}
			hosts[sv.Zone][sv.Host] = binaries
		}
		binaries[sv.Binary] = map[string]any{"available": sv.Up(q.now, 0), "active": !sv.Disabled, "updated_at": novaTime(sv.UpdatedAt)}
	}
	list := []any{}
	for _, z := range available {
		h := hosts[z]
		if h == nil {
			h = map[string]any{}
		}
		list = append(list, zoneEntry(z, true, h))
	}
	for _, z := range unavailable {
		list = append(list, zoneEntry(z, false, nil))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": list})
	return nil
}
