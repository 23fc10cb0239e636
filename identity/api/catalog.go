package api

import (
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) catalogRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/regions", a.authed(a.listRegions))
	rt.HandleFunc("POST /v3/regions", a.authed(a.createRegion))
	rt.HandleFunc("GET /v3/regions/{id}", a.authed(a.getRegion))
	rt.HandleFunc("PUT /v3/regions/{id}", a.authed(a.putRegion))
	rt.HandleFunc("PATCH /v3/regions/{id}", a.authed(a.updateRegion))
	rt.HandleFunc("DELETE /v3/regions/{id}", a.authed(a.deleteRegion))
	rt.HandleFunc("GET /v3/services", a.authed(a.listServices))
	rt.HandleFunc("POST /v3/services", a.authed(a.createService))
	rt.HandleFunc("GET /v3/services/{id}", a.authed(a.getService))
	rt.HandleFunc("PATCH /v3/services/{id}", a.authed(a.updateService))
	rt.HandleFunc("DELETE /v3/services/{id}", a.authed(a.deleteService))
	rt.HandleFunc("GET /v3/endpoints", a.authed(a.listEndpoints))
	rt.HandleFunc("POST /v3/endpoints", a.authed(a.createEndpoint))
	rt.HandleFunc("GET /v3/endpoints/{id}", a.authed(a.getEndpoint))
	rt.HandleFunc("PATCH /v3/endpoints/{id}", a.authed(a.updateEndpoint))
	rt.HandleFunc("DELETE /v3/endpoints/{id}", a.authed(a.deleteEndpoint))
}

// ---- regions ----

type regionBody struct {
	Region *regionFields `json:"region"`
}

type regionFields struct {
	ID             opt[string] `json:"id"`
	Description    opt[string] `json:"description"`
	ParentRegionID opt[string] `json:"parent_region_id"`
}

// apply copies the body onto x, for POST (update false) and PATCH alike;
// the store checks the values, the parent and cycles.
func (f *regionFields) apply(x *identity.Region, update bool) error {
	if update {
		if err := sameID(f.ID, x.ID, "region.id"); err != nil {
			return err
		}
	} else if err := set(&x.ID, f.ID, "region.id"); err != nil {
		return err
	}
	setNullable(&x.Description, f.Description)
	setNullable(&x.ParentRegionID, f.ParentRegionID)
	return nil
}

func (a *API) listRegions(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_regions", nil) {
		return
	}
	rs, err := a.Store.ListRegions(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, regionFilters.apply(r.URL.Query(), rs), renderRegion)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "regions", out))
}

func (a *API) createRegion(w http.ResponseWriter, r *http.Request) {
	var b regionBody
	if err := decode(w, r, &b); err != nil || b.Region == nil {
		a.fail(w, r, orInvalid(err, "region", "'region' is a required property"))
		return
	}
	if !a.allow(w, r, "identity:create_region", nil) {
		return
	}
	var x identity.Region
	if err := b.Region.apply(&x, false); err != nil {
		a.fail(w, r, err)
		return
	}
	x, err := a.Store.CreateRegion(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"region": renderRegion(r, x)})
}

// putRegion is PUT /v3/regions/{id}: a region created with the id the
// path names (Keystone's identity:create_region, 201). A body id must be
// the same; an id already taken is a 409.
func (a *API) putRegion(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:create_region", nil) {
		return
	}
	var b regionBody
	if err := decode(w, r, &b); err != nil || b.Region == nil {
		a.fail(w, r, orInvalid(err, "region", "'region' is a required property"))
		return
	}
	id := r.PathValue("id")
	if f := b.Region.ID; f.Set && !f.Null && f.V != id {
		a.fail(w, r, fault.Invalid("region.id", "Conflicting region IDs specified: %q != %q", id, f.V))
		return
	}
	x := identity.Region{ID: id}
	if err := b.Region.apply(&x, false); err != nil {
		a.fail(w, r, err)
		return
	}
	x.ID = id
	x, err := a.Store.CreateRegion(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"region": renderRegion(r, x)})
}

func (a *API) getRegion(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_region", nil) {
		return
	}
	x, err := a.Store.GetRegion(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"region": renderRegion(r, x)})
}

func (a *API) updateRegion(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:update_region", nil) {
		return
	}
	x, err := a.Store.GetRegion(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b regionBody
	if err := decodeUpdate(w, r, "region", &b); err != nil || b.Region == nil {
		a.fail(w, r, orInvalid(err, "region", "'region' is a required property"))
		return
	}
	if err := b.Region.apply(&x, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if x, err = a.Store.UpdateRegion(r.Context(), x); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"region": renderRegion(r, x)})
}

func (a *API) deleteRegion(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:delete_region", nil) {
		return
	}
	if err := a.Store.DeleteRegion(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- services ----

type serviceBody struct {
	Service *serviceFields `json:"service"`
}

type serviceFields struct {
	ID          opt[string] `json:"id"`
	Type        opt[string] `json:"type"`
	Name        opt[string] `json:"name"`
	Description opt[string] `json:"description"`
	Enabled     opt[bool]   `json:"enabled"`
}

// apply copies the body onto x, for POST (update false) and PATCH alike;
// the store checks the values. A service may have no name, but a name
// given must not be empty (Keystone's parameter_types.name).
func (f *serviceFields) apply(x *identity.Service, update bool) error {
	if update {
		if err := sameID(f.ID, x.ID, "service.id"); err != nil {
			return err
		}
	}
	if f.Name.Set && !f.Name.Null && f.Name.V == "" {
		return fault.Invalid("service.name", "must not be empty")
	}
	setNullable(&x.Description, f.Description)
	return first(
		set(&x.Type, f.Type, "service.type"),
		set(&x.Name, f.Name, "service.name"),
		set(&x.Enabled, f.Enabled, "service.enabled"),
	)
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_services", nil) {
		return
	}
	q := r.URL.Query()
	typ, name := q.Get("type"), q.Get("name")
	vs, truncated, err := limitList(a.ListLimit, serviceFilters.inStore(q, map[string]string{"type": typ, "name": name}),
		func(n int) ([]identity.Service, error) { return a.Store.ListServices(r.Context(), typ, name, n) },
		func(vs []identity.Service) ([]identity.Service, error) { return serviceFilters.apply(q, vs), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, vs, renderService)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "services", out), truncated))
}

func (a *API) createService(w http.ResponseWriter, r *http.Request) {
	var b serviceBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Service == nil || !b.Service.Type.Set {
		a.fail(w, r, fault.Invalid("service.type", "'type' is a required property"))
		return
	}
	if !a.allow(w, r, "identity:create_service", nil) {
		return
	}
	x := identity.Service{Enabled: true}
	if err := b.Service.apply(&x, false); err != nil {
		a.fail(w, r, err)
		return
	}
	x, err := a.Store.CreateService(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"service": renderService(r, x)})
}

func (a *API) getService(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_service", nil) {
		return
	}
	x, err := a.Store.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"service": renderService(r, x)})
}

func (a *API) updateService(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:update_service", nil) {
		return
	}
	x, err := a.Store.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b serviceBody
	if err := decodeUpdate(w, r, "service", &b); err != nil || b.Service == nil {
		a.fail(w, r, orInvalid(err, "service", "'service' is a required property"))
		return
	}
	if err := b.Service.apply(&x, true); err != nil {
		a.fail(w, r, err)
		return
	}
	if x, err = a.Store.UpdateService(r.Context(), x); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"service": renderService(r, x)})
}

func (a *API) deleteService(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:delete_service", nil) {
		return
	}
	if err := a.Store.DeleteService(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- endpoints ----

type endpointBody struct {
	Endpoint *endpointFields `json:"endpoint"`
}

type endpointFields struct {
	ID        opt[string] `json:"id"`
	ServiceID opt[string] `json:"service_id"`
	Interface opt[string] `json:"interface"`
	RegionID  opt[string] `json:"region_id"`
	Region    opt[string] `json:"region"` // Keystone's older name for region_id
	URL       opt[string] `json:"url"`
	Enabled   opt[bool]   `json:"enabled"`
}

// apply copies the body onto x, for POST (update false) and PATCH alike;
// the store checks the values and that the service and region exist.
func (f *endpointFields) apply(x *identity.Endpoint, update bool) error {
	if update {
		if err := sameID(f.ID, x.ID, "endpoint.id"); err != nil {
			return err
		}
	}
	if f.Region.Set && f.Region.Null {
		return fault.Invalid("endpoint.region", "expected string, got null")
	}
	region := f.RegionID
	if !region.Set {
		region = f.Region
	}
	if region.Set && !region.Null && region.V == "" {
		return fault.Invalid("endpoint.region_id", "Could not find region: .")
	}
	return first(
		set(&x.ServiceID, f.ServiceID, "endpoint.service_id"),
		set(&x.Interface, f.Interface, "endpoint.interface"),
		set(&x.RegionID, region, "endpoint.region_id"),
		set(&x.URL, f.URL, "endpoint.url"),
		set(&x.Enabled, f.Enabled, "endpoint.enabled"),
	)
}

// legacyRegion reports whether the body names the region the v2 way:
// "region" without "region_id". Keystone's endpoint API then creates the
// region when it does not exist (_validate_endpoint_region).
func (f *endpointFields) legacyRegion() bool {
	return !f.RegionID.Set && f.Region.Set && !f.Region.Null
}

func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoints", nil) {
		return
	}
	q := r.URL.Query()
	svc, iface, region := q.Get("service_id"), q.Get("interface"), q.Get("region_id")
	sent := map[string]string{"service_id": svc, "interface": iface, "region_id": region}
	es, truncated, err := limitList(a.ListLimit, endpointFilters.inStore(q, sent),
		func(n int) ([]identity.Endpoint, error) {
			return a.Store.ListEndpoints(r.Context(), svc, iface, region, n)
		},
		func(es []identity.Endpoint) ([]identity.Endpoint, error) { return endpointFilters.apply(q, es), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, es, renderEndpoint)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "endpoints", out), truncated))
}

func (a *API) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var b endpointBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	e := b.Endpoint
	switch {
	case e == nil || !e.ServiceID.Set:
		a.fail(w, r, fault.Invalid("endpoint.service_id", "'service_id' is a required property"))
		return
	case !e.Interface.Set:
		a.fail(w, r, fault.Invalid("endpoint.interface", "'interface' is a required property"))
		return
	case !e.URL.Set:
		a.fail(w, r, fault.Invalid("endpoint.url", "'url' is a required property"))
		return
	}
	x := identity.Endpoint{Enabled: true}
	if err := e.apply(&x, false); err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.allow(w, r, "identity:create_endpoint", nil) {
		return
	}
	create := a.Store.CreateEndpoint
	if e.legacyRegion() {
		create = a.Store.CreateEndpointInRegion
	}
	x, err := create(r.Context(), x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"endpoint": renderEndpoint(r, x)})
}

func (a *API) getEndpoint(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:get_endpoint", nil) {
		return
	}
	x, err := a.Store.GetEndpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": renderEndpoint(r, x)})
}

func (a *API) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:update_endpoint", nil) {
		return
	}
	x, err := a.Store.GetEndpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b endpointBody
	if err := decodeUpdate(w, r, "endpoint", &b); err != nil || b.Endpoint == nil {
		a.fail(w, r, orInvalid(err, "endpoint", "'endpoint' is a required property"))
		return
	}
	if err := b.Endpoint.apply(&x, true); err != nil {
		a.fail(w, r, err)
		return
	}
	update := a.Store.UpdateEndpoint
	if b.Endpoint.legacyRegion() {
		update = a.Store.UpdateEndpointInRegion
	}
	if x, err = update(r.Context(), x); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": renderEndpoint(r, x)})
}

func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:delete_endpoint", nil) {
		return
	}
	if err := a.Store.DeleteEndpoint(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
