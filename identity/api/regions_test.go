package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// TestRegionHierarchy: PUT /v3/regions/{id}, the parent_region_id filter
// and the cycle check, as Keystone 22 answers them.
func TestRegionHierarchy(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	r := c.Must(t, http.StatusCreated, "PUT", "/v3/regions/east", admin, map[string]any{"region": map[string]any{"description": "East"}})
	if at(r, "region.id") != "east" || at(r, "region.description") != "East" || at(r, "region.parent_region_id") != nil ||
		at(r, "region.links.self") != c.URL+"/v3/regions/east" {
		t.Fatalf("PUT region = %v", r)
	}
	c.Must(t, http.StatusCreated, "PUT", "/v3/regions/east-1", admin, map[string]any{"region": map[string]any{"id": "east-1", "parent_region_id": "east"}})
	c.Must(t, http.StatusCreated, "PUT", "/v3/regions/east-1a", admin, map[string]any{"region": map[string]any{"parent_region_id": "east-1", "description": nil}})
	c.Must(t, http.StatusCreated, "POST", "/v3/regions", admin, map[string]any{"region": map[string]any{"id": "west"}})
	children := func(parent string) []string {
		return ids(t, c.Must(t, http.StatusOK, "GET", "/v3/regions?parent_region_id="+parent, admin, nil), "regions", "id")
	}
	if got := children("east"); !slices.Equal(got, []string{"east-1"}) {
		t.Errorf("children of east = %v", got)
	}
	if got := children("east-1"); !slices.Equal(got, []string{"east-1a"}) {
		t.Errorf("children of east-1 = %v", got)
	}
	c.Must(t, http.StatusOK, "PATCH", "/v3/regions/west", admin, map[string]any{"region": map[string]any{"parent_region_id": "east-1a"}})
	if got := children("east-1a"); !slices.Equal(got, []string{"west"}) {
		t.Errorf("children of east-1a = %v", got)
	}
	c.Must(t, http.StatusOK, "PATCH", "/v3/regions/west", admin, map[string]any{"region": map[string]any{"parent_region_id": nil}})
	if got := children("east-1a"); len(got) != 0 {
		t.Errorf("children of east-1a after unparenting west = %v", got)
	}

	before := c.snapshot(t, admin)
	bad := []struct {
		name, method, path, body string
		want                     int
		msg                      string
	}{
		{"PUT a taken id", "PUT", "/v3/regions/east", `{"region":{}}`, 409,
			"Conflict occurred attempting to store region - Duplicate ID, east.."},
		{"PUT a taken id with an unknown parent", "PUT", "/v3/regions/east", `{"region":{"parent_region_id":"nope"}}`, 409, "Duplicate ID"},
		{"PUT with another body id", "PUT", "/v3/regions/north", `{"region":{"id":"south"}}`, 400,
			`Conflicting region IDs specified: "north" != "south"`},
		{"PUT with an unknown parent", "PUT", "/v3/regions/north", `{"region":{"parent_region_id":"nope"}}`, 404, "Could not find region: nope."},
		{"PUT without a region", "PUT", "/v3/regions/north", `{"x":1}`, 400, "'region'"},
		{"PUT a null id", "PUT", "/v3/regions/north", `{"region":{"id":null}}`, 400, "'region.id'"},
		{"PUT a description a number", "PUT", "/v3/regions/north", `{"region":{"description":5}}`, 400, "'region.description'"},
		{"PUT an empty body", "PUT", "/v3/regions/north", ``, 400, "request body is empty"},
		{"PUT an id with a slash", "PUT", "/v3/regions/a%2Fb", `{"region":{}}`, 400, "'region.id'"},
		{"parent itself", "PATCH", "/v3/regions/east", `{"region":{"parent_region_id":"east"}}`, 400,
			"The specified parent region east would create a circular region hierarchy."},
		{"parent its grandchild", "PATCH", "/v3/regions/east", `{"region":{"parent_region_id":"east-1a"}}`, 400,
			"The specified parent region east would create a circular region hierarchy."},
		{"parent its child", "PATCH", "/v3/regions/east-1", `{"region":{"parent_region_id":"east-1a"}}`, 400,
			"The specified parent region east-1 would create a circular region hierarchy."},
		{"parent unknown", "PATCH", "/v3/regions/east", `{"region":{"parent_region_id":"nope"}}`, 404, "Could not find region: nope."},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: tt.method, Path: tt.path, Token: admin, Body: tt.body}), tt.want, tt.msg)
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a rejected call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}

// TestEndpointLegacyRegion: an endpoint given "region" (and no
// "region_id") gets that region, created when it does not exist, on
// create and update, as Keystone's endpoint API does; a refused endpoint
// leaves no region behind.
func TestEndpointLegacyRegion(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	svc := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/services", admin, map[string]any{"service": map[string]any{"type": "compute"}}), "service.id")
	e := c.Must(t, http.StatusCreated, "POST", "/v3/endpoints", admin, map[string]any{"endpoint": map[string]any{
		"service_id": svc, "interface": "public", "url": "http://x", "region": "legacy"}})
	if at(e, "endpoint.region_id") != "legacy" || at(e, "endpoint.region") != "legacy" {
		t.Fatalf("endpoint = %v", e)
	}
	reg := c.Must(t, http.StatusOK, "GET", "/v3/regions/legacy", admin, nil)
	if at(reg, "region.description") != "" || at(reg, "region.parent_region_id") != nil {
		t.Errorf("created region = %v", reg)
	}
	// An existing region is used as it is.
	c.Must(t, http.StatusOK, "PATCH", "/v3/regions/legacy", admin, map[string]any{"region": map[string]any{"description": "kept"}})
	c.Must(t, http.StatusCreated, "POST", "/v3/endpoints", admin, map[string]any{"endpoint": map[string]any{
		"service_id": svc, "interface": "internal", "url": "http://x", "region": "legacy"}})
	if d := at(c.Must(t, http.StatusOK, "GET", "/v3/regions/legacy", admin, nil), "region.description"); d != "kept" {
		t.Errorf("region description = %v", d)
	}
	// With region_id, "region" is ignored and region_id must exist.
	c.Must(t, http.StatusCreated, "POST", "/v3/endpoints", admin, map[string]any{"endpoint": map[string]any{
		"service_id": svc, "interface": "admin", "url": "http://x", "region": "ignored", "region_id": "RegionOne"}})
	c.Must(t, http.StatusNotFound, "GET", "/v3/regions/ignored", admin, nil)
	// PATCH moves the endpoint to a new region the same way.
	id := str(t, e, "endpoint.id")
	p := c.Must(t, http.StatusOK, "PATCH", "/v3/endpoints/"+id, admin, map[string]any{"endpoint": map[string]any{"region": "moved"}})
	if at(p, "endpoint.region_id") != "moved" {
		t.Fatalf("patched endpoint = %v", p)
	}
	c.Must(t, http.StatusOK, "GET", "/v3/regions/moved", admin, nil)

	before := c.snapshot(t, admin)
	bad := []struct {
		name, method, path, body string
		msg                      string
	}{
		{"unknown service", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"nope","interface":"public","url":"http://x","region":"orphan"}}`, "'endpoint.service_id'"},
		{"bad interface", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"` + svc + `","interface":"web","url":"http://x","region":"orphan"}}`, "'endpoint.interface'"},
		{"region with a slash", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"` + svc + `","interface":"public","url":"http://x","region":"a/b"}}`, "'endpoint.region'"},
		{"region null", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"` + svc + `","interface":"public","url":"http://x","region":null}}`, "'endpoint.region'"},
		{"region a number", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"` + svc + `","interface":"public","url":"http://x","region":5}}`, "'endpoint.region'"},
		{"unknown region_id", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"` + svc + `","interface":"public","url":"http://x","region_id":"orphan"}}`, "'endpoint.region_id'"},
		{"patch with a bad url", "PATCH", "/v3/endpoints/" + id, `{"endpoint":{"region":"orphan","url":"nope"}}`, "'endpoint.url'"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: tt.method, Path: tt.path, Token: admin, Body: tt.body}), http.StatusBadRequest, tt.msg)
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a rejected call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}
