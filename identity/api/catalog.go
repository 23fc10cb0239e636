package api

import (
	"net/http"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/fault"
	"github.com/gostack/gostack/internal/httpapi"
)

func (a *API) catalogRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/regions", a.authed(a.listRegions))
	rt.HandleFunc("POST /v3/regions", a.authed(a.createRegion))
	rt.HandleFunc("GET /v3/regions/{id}", a.authed(a.getRegion))
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
	Region *struct {
		ID             *string `json:"id"`
		Description    *string `json:"description"`
		ParentRegionID *string `json:"parent_region_id"`
	} `json:"region"`
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
	out := renderAll(r, rs, renderRegion)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "regions", out))
}

func (a *API) createRegion(w http.ResponseWriter, r *http.Request) {
	var b regionBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Region == nil {
		a.fail(w, r, orInvalid(err, "region", "'region' is a required property"))
		return
	}
	if !a.allow(w, r, "identity:create_region", nil) {
		return
	}
	var x identity.Region
	setStr(&x.ID, b.Region.ID)
	setStr(&x.Description, b.Region.Description)
	setStr(&x.ParentRegionID, b.Region.ParentRegionID)
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
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Region == nil {
		a.fail(w, r, orInvalid(err, "region", "'region' is a required property"))
		return
	}
	setStr(&x.Description, b.Region.Description)
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
	Service *struct {
		Type        *string `json:"type"`
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Enabled     *bool   `json:"enabled"`
	} `json:"service"`
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_services", nil) {
		return
	}
	vs, err := a.Store.ListServices(r.Context(), r.URL.Query().Get("type"), r.URL.Query().Get("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, vs, renderService)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "services", out))
}

func (a *API) createService(w http.ResponseWriter, r *http.Request) {
	var b serviceBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Service == nil || b.Service.Type == nil || *b.Service.Type == "" {
		a.fail(w, r, fault.Invalid("service.type", "'type' is a required property"))
		return
	}
	if !a.allow(w, r, "identity:create_service", nil) {
		return
	}
	x := identity.Service{Type: *b.Service.Type, Enabled: true}
	setStr(&x.Name, b.Service.Name)
	setStr(&x.Description, b.Service.Description)
	setBool(&x.Enabled, b.Service.Enabled)
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
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Service == nil {
		a.fail(w, r, orInvalid(err, "service", "'service' is a required property"))
		return
	}
	setStr(&x.Type, b.Service.Type)
	setStr(&x.Name, b.Service.Name)
	setStr(&x.Description, b.Service.Description)
	setBool(&x.Enabled, b.Service.Enabled)
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
	Endpoint *struct {
		ServiceID *string `json:"service_id"`
		Interface *string `json:"interface"`
		RegionID  *string `json:"region_id"`
		Region    *string `json:"region"`
		URL       *string `json:"url"`
		Enabled   *bool   `json:"enabled"`
	} `json:"endpoint"`
}

var interfaces = map[string]bool{"public": true, "internal": true, "admin": true}

func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) {
	if !a.allow(w, r, "identity:list_endpoints", nil) {
		return
	}
	q := r.URL.Query()
	es, err := a.Store.ListEndpoints(r.Context(), q.Get("service_id"), q.Get("interface"), q.Get("region_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, es, renderEndpoint)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "endpoints", out))
}

func (a *API) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var b endpointBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	e := b.Endpoint
	switch {
	case e == nil || e.ServiceID == nil:
		a.fail(w, r, fault.Invalid("endpoint.service_id", "'service_id' is a required property"))
		return
	case e.Interface == nil || !interfaces[*e.Interface]:
		a.fail(w, r, fault.Invalid("endpoint.interface", "'interface' must be public, internal or admin"))
		return
	case e.URL == nil || *e.URL == "":
		a.fail(w, r, fault.Invalid("endpoint.url", "'url' is a required property"))
		return
	}
	if !a.allow(w, r, "identity:create_endpoint", nil) {
		return
	}
	x := identity.Endpoint{ServiceID: *e.ServiceID, Interface: *e.Interface, URL: *e.URL, Enabled: true}
	setStr(&x.RegionID, e.Region)
	setStr(&x.RegionID, e.RegionID)
	setBool(&x.Enabled, e.Enabled)
	x, err := a.Store.CreateEndpoint(r.Context(), x)
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
	if err := httpapi.DecodeJSON(w, r, &b); err != nil || b.Endpoint == nil {
		a.fail(w, r, orInvalid(err, "endpoint", "'endpoint' is a required property"))
		return
	}
	e := b.Endpoint
	if e.Interface != nil && !interfaces[*e.Interface] {
		a.fail(w, r, fault.Invalid("endpoint.interface", "'interface' must be public, internal or admin"))
		return
	}
	setStr(&x.ServiceID, e.ServiceID)
	setStr(&x.Interface, e.Interface)
	setStr(&x.RegionID, e.Region)
	setStr(&x.RegionID, e.RegionID)
	setStr(&x.URL, e.URL)
	setBool(&x.Enabled, e.Enabled)
	if x, err = a.Store.UpdateEndpoint(r.Context(), x); err != nil {
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
