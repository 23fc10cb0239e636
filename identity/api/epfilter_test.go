package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// catalogEndpoints lists a catalog as sorted "<service type> <endpoint
// id>" lines, a service without endpoints as "<type> -".
func catalogEndpoints(t *testing.T, cat []any) []string {
	t.Helper()
	var out []string
	for _, svc := range cat {
		eps := list(t, svc, "endpoints")
		if len(eps) == 0 {
			out = append(out, str(t, svc, "type")+" -")
		}
		for _, e := range eps {
			out = append(out, str(t, svc, "type")+" "+str(t, e, "id"))
		}
	}
	slices.Sort(out)
	return out
}

func lines(s ...string) []string { return sorted(s) }

// epCloud is a cloud with a compute service (public and internal
// endpoints in RegionOne) and an image service (a public endpoint in
// RegionOne, a disabled one and one without a region), besides the
// identity service's three.
type epCloud struct {
	*cloud
	f                              *tenants
	compute, image                 string // service ids
	computePub, computeInt         string
	imagePub, imageOff, imageNoReg string
	identity                       []string // the identity endpoints, as catalog lines
}

func newEPCloud(t *testing.T, dsn string) *epCloud {
	c := newCloudOn(t, dsn)
	e := &epCloud{cloud: c, f: newTenants(t, c)}
	admin := e.f.admin
	svc := func(typ string) string {
		return str(t, c.Must(t, http.StatusCreated, "POST", "/v3/services", admin,
			map[string]any{"service": map[string]any{"type": typ, "name": typ}}), "service.id")
	}
	ep := func(service, iface, region string, enabled bool) string {
		body := map[string]any{"service_id": service, "interface": iface, "url": "http://" + iface + ".example/", "enabled": enabled}
		if region != "" {
			body["region_id"] = region
		}
		return str(t, c.Must(t, http.StatusCreated, "POST", "/v3/endpoints", admin, map[string]any{"endpoint": body}), "endpoint.id")
	}
	e.compute, e.image = svc("compute"), svc("image")
	e.computePub, e.computeInt = ep(e.compute, "public", "RegionOne", true), ep(e.compute, "internal", "RegionOne", true)
	e.imagePub, e.imageOff, e.imageNoReg = ep(e.image, "public", "RegionOne", true), ep(e.image, "public", "RegionOne", false), ep(e.image, "admin", "", true)
	for _, id := range ids(t, c.Must(t, http.StatusOK, "GET", "/v3/endpoints?service_id="+str(t, c.Must(t, http.StatusOK, "GET", "/v3/services?type=identity", admin, nil), "services.0.id"), admin, nil), "endpoints", "id") {
		e.identity = append(e.identity, "identity "+id)
	}
	return e
}

// catalogs checks alice's catalog on A three ways: a new token's, her
// token validated again, and GET /v3/auth/catalog.
func (e *epCloud) catalogs(t *testing.T, want []string) {
	t.Helper()
	tok := e.issue(t, passwordAuth("alice", "alice-pw", projectScope(e.f.a)), "")
	if tok.Code != http.StatusCreated {
		t.Fatalf("token: %s", tok)
	}
	if got := catalogEndpoints(t, list(t, tok.JSON(t), "token.catalog")); !slices.Equal(got, want) {
		t.Errorf("token catalog = %v, want %v", got, want)
	}
	v := e.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Token: e.f.admin, Subject: e.f.alice})
	if got := catalogEndpoints(t, list(t, v.JSON(t), "token.catalog")); !slices.Equal(got, want) {
		t.Errorf("validated token's catalog = %v, want %v", got, want)
	}
	if got := catalogEndpoints(t, list(t, e.Must(t, http.StatusOK, "GET", "/v3/auth/catalog", e.f.alice, nil), "catalog")); !slices.Equal(got, want) {
		t.Errorf("/v3/auth/catalog = %v, want %v", got, want)
	}
}

// TestEndpointFilter drives OS-EP-FILTER on both engines: project
// associations with endpoints and endpoint groups, the lists, and the
// project-scoped catalog Keystone's endpoint filter makes of them.
func TestEndpointFilter(t *testing.T) {
	for _, en := range testenv.Engines(t) {
		t.Run(en.Name, func(t *testing.T) {
			e := newEPCloud(t, en.DSN)
			c, f, admin := e.cloud, e.f, e.f.admin
			ep := "/v3/OS-EP-FILTER"
			full := append(lines("compute "+e.computePub, "compute "+e.computeInt, "image "+e.imagePub, "image "+e.imageNoReg), e.identity...)
			slices.Sort(full)
			e.catalogs(t, full)

			// A project's own endpoints: only those, services without one dropped.
			c.Must(t, http.StatusNoContent, "PUT", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil)
			wantError(t, c.Do(t, "PUT", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil), 409,
				"Conflict occurred attempting to store project_endpoint - Duplicate entry.")
			c.Must(t, http.StatusNoContent, "GET", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil)
			c.Must(t, http.StatusNoContent, "HEAD", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil)
			wantError(t, c.Do(t, "GET", ep+"/projects/"+f.a+"/endpoints/"+e.computeInt, admin, nil), 404,
				"Endpoint "+e.computeInt+" not found in project "+f.a)
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/projects/"+f.a+"/endpoints", admin, nil), "endpoints", "id"); !slices.Equal(got, []string{e.computePub}) {
				t.Errorf("A's endpoints = %v", got)
			}
			r := c.Must(t, http.StatusOK, "GET", ep+"/endpoints/"+e.computePub+"/projects", admin, nil)
			if got := ids(t, r, "projects", "id"); !slices.Equal(got, []string{f.a}) || !strings.HasSuffix(str(t, r, "projects.0.links.self"), "/v3/projects/"+f.a) {
				t.Errorf("the endpoint's projects = %v", r)
			}
			e.catalogs(t, lines("compute "+e.computePub))

			// An endpoint group adds what its filters match: enabled ones in
			// the catalog, every one in its list.
			g := c.Must(t, http.StatusCreated, "POST", ep+"/endpoint_groups", admin, map[string]any{"endpoint_group": map[string]any{
				"name": "images", "filters": map[string]any{"service_id": e.image}}})
			gid := str(t, g, "endpoint_group.id")
			if at(g, "endpoint_group.name") != "images" || !has(g, "endpoint_group.description") || at(g, "endpoint_group.description") != nil ||
				at(g, "endpoint_group.filters.service_id") != e.image || !strings.HasSuffix(str(t, g, "endpoint_group.links.self"), "/v3/OS-EP-FILTER/endpoint_groups/"+gid) {
				t.Errorf("create reply: %v", g)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups/"+gid+"/endpoints", admin, nil), "endpoints", "id"); !slices.Equal(got, sorted([]string{e.imagePub, e.imageOff, e.imageNoReg})) {
				t.Errorf("the group's endpoints = %v", got)
			}
			c.Must(t, http.StatusNoContent, "PUT", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil)
			wantError(t, c.Do(t, "PUT", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil), 409,
				"Conflict occurred attempting to store project_endpoint_group - Duplicate entry.")
			pg := c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil)
			if at(pg, "project_endpoint_group.endpoint_group_id") != gid || at(pg, "project_endpoint_group.project_id") != f.a ||
				at(pg, "project_endpoint_group.links.self") != "/OS-EP-FILTER/endpoint_groups/"+gid+"/projects/"+f.a {
				t.Errorf("association: %v", pg)
			}
			c.Must(t, http.StatusOK, "HEAD", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil)
			wantError(t, c.Do(t, "GET", ep+"/endpoint_groups/"+gid+"/projects/"+f.b, admin, nil), 404, "Endpoint Group Project Association not found")
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/projects/"+f.a+"/endpoint_groups", admin, nil), "endpoint_groups", "id"); !slices.Equal(got, []string{gid}) {
				t.Errorf("A's groups = %v", got)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups/"+gid+"/projects", admin, nil), "projects", "id"); !slices.Equal(got, []string{f.a}) {
				t.Errorf("the group's projects = %v", got)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/projects/"+f.a+"/endpoints", admin, nil), "endpoints", "id"); !slices.Equal(got, sorted([]string{e.computePub, e.imagePub, e.imageOff, e.imageNoReg})) {
				t.Errorf("A's endpoints with the group = %v", got)
			}
			e.catalogs(t, lines("compute "+e.computePub, "image "+e.imagePub, "image "+e.imageNoReg))

			// Filters on interface and a null region; the name filter.
			c.Must(t, http.StatusOK, "PATCH", ep+"/endpoint_groups/"+gid, admin, map[string]any{"endpoint_group": map[string]any{
				"filters": map[string]any{"interface": "internal"}, "description": "internal ones"}})
			e.catalogs(t, append(lines("compute "+e.computePub, "compute "+e.computeInt), identityLines(t, c, admin, "internal")...))
			c.Must(t, http.StatusOK, "PATCH", ep+"/endpoint_groups/"+gid, admin, map[string]any{"endpoint_group": map[string]any{
				"filters": map[string]any{"region_id": nil}}})
			e.catalogs(t, lines("compute "+e.computePub, "image "+e.imageNoReg))
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups?name=images", admin, nil), "endpoint_groups", "id"); !slices.Equal(got, []string{gid}) {
				t.Errorf("groups named images = %v", got)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups?name=other", admin, nil), "endpoint_groups", "id"); len(got) != 0 {
				t.Errorf("groups named other = %v", got)
			}

			// Only a disabled endpoint associated: an empty catalog.
			c.Must(t, http.StatusNoContent, "DELETE", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil)
			c.Must(t, http.StatusNoContent, "DELETE", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil)
			wantError(t, c.Do(t, "DELETE", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil), 404, "not found in project")
			c.Must(t, http.StatusNoContent, "PUT", ep+"/projects/"+f.a+"/endpoints/"+e.imageOff, admin, nil)
			e.catalogs(t, nil)

			// A group matching nothing filters nothing: the whole catalog.
			c.Must(t, http.StatusNoContent, "DELETE", ep+"/projects/"+f.a+"/endpoints/"+e.imageOff, admin, nil)
			none := str(t, c.Must(t, http.StatusCreated, "POST", ep+"/endpoint_groups", admin, map[string]any{"endpoint_group": map[string]any{
				"name": "none", "filters": map[string]any{"region_id": "Nowhere"}}}), "endpoint_group.id")
			c.Must(t, http.StatusNoContent, "PUT", ep+"/endpoint_groups/"+none+"/projects/"+f.a, admin, nil)
			e.catalogs(t, full)

			// A domain-scoped token's catalog is never filtered.
			c.Must(t, http.StatusNoContent, "PUT", ep+"/projects/"+c.AdminProject.ID+"/endpoints/"+e.computePub, admin, nil)
			c.grant(t, admin, "domains/default", c.Admin.ID, "admin")
			dom := c.issue(t, passwordAuth("admin", adminPassword, domainScope("default")), "")
			if got := catalogEndpoints(t, list(t, dom.JSON(t), "token.catalog")); !slices.Equal(got, full) {
				t.Errorf("domain-scoped catalog = %v", got)
			}
			adm := c.issue(t, passwordAuth("admin", adminPassword, projectScope(c.AdminProject.ID)), "")
			if got := catalogEndpoints(t, list(t, adm.JSON(t), "token.catalog")); !slices.Equal(got, lines("compute "+e.computePub)) {
				t.Errorf("the admin project's catalog = %v", got)
			}

			// Deletes take their associations with them.
			c.Must(t, http.StatusNoContent, "PUT", ep+"/projects/"+f.b+"/endpoints/"+e.computeInt, admin, nil)
			c.Must(t, http.StatusNoContent, "PUT", ep+"/endpoint_groups/"+none+"/projects/"+f.b, admin, nil)
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+f.b, admin, nil)
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoints/"+e.computeInt+"/projects", admin, nil), "projects", "id"); len(got) != 0 {
				t.Errorf("a deleted project's association stays: %v", got)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups/"+none+"/projects", admin, nil), "projects", "id"); !slices.Equal(got, []string{f.a}) {
				t.Errorf("the group's projects after B's delete = %v", got)
			}
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/endpoints/"+e.computePub, admin, nil)
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/projects/"+c.AdminProject.ID+"/endpoints", admin, nil), "endpoints", "id"); len(got) != 0 {
				t.Errorf("a deleted endpoint's association stays: %v", got)
			}
			c.Must(t, http.StatusNoContent, "DELETE", ep+"/endpoint_groups/"+none, admin, nil)
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/projects/"+f.a+"/endpoint_groups", admin, nil), "endpoint_groups", "id"); len(got) != 0 {
				t.Errorf("a deleted group's association stays: %v", got)
			}
			wantError(t, c.Do(t, "GET", ep+"/endpoint_groups/"+none, admin, nil), 404, "Could not find Endpoint Group: "+none+".")
			// Keystone does not look for the group here.
			if got := ids(t, c.Must(t, http.StatusOK, "GET", ep+"/endpoint_groups/"+none+"/projects", admin, nil), "projects", "id"); len(got) != 0 {
				t.Errorf("a deleted group's projects = %v", got)
			}
		})
	}
}

// identityLines are the identity service's endpoints of one interface as
// catalog lines.
func identityLines(t *testing.T, c *cloud, admin, iface string) []string {
	svc := str(t, c.Must(t, http.StatusOK, "GET", "/v3/services?type=identity", admin, nil), "services.0.id")
	var out []string
	for _, id := range ids(t, c.Must(t, http.StatusOK, "GET", "/v3/endpoints?interface="+iface+"&service_id="+svc, admin, nil), "endpoints", "id") {
		out = append(out, "identity "+id)
	}
	return out
}

// TestEndpointFilterBadInput: every refused call answers Keystone's status
// and message and changes nothing.
func TestEndpointFilterBadInput(t *testing.T) {
	e := newEPCloud(t, "sqlite://"+t.TempDir()+"/identity.db")
	c, f, admin := e.cloud, e.f, e.f.admin
	ep := "/v3/OS-EP-FILTER"
	gid := str(t, c.Must(t, http.StatusCreated, "POST", ep+"/endpoint_groups", admin, map[string]any{"endpoint_group": map[string]any{
		"name": "g", "filters": map[string]any{"interface": "public"}}}), "endpoint_group.id")
	c.Must(t, http.StatusNoContent, "PUT", ep+"/endpoint_groups/"+gid+"/projects/"+f.a, admin, nil)
	c.Must(t, http.StatusNoContent, "PUT", ep+"/projects/"+f.a+"/endpoints/"+e.computePub, admin, nil)
	before := c.snapshot(t, admin)
	missing := strings.Repeat("0", 32)
	group := func(fields string) string { return `{"endpoint_group":{` + fields + `}}` }
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"no body", "POST", "/endpoint_groups", ``, 400, "empty"},
		{"no group", "POST", "/endpoint_groups", `{}`, 400, "'name' is a required property"},
		{"group null", "POST", "/endpoint_groups", `{"endpoint_group":null}`, 400, "'name' is a required property"},
		{"group a string", "POST", "/endpoint_groups", `{"endpoint_group":"g"}`, 400, "endpoint_group"},
		{"no name", "POST", "/endpoint_groups", group(`"filters":{"interface":"public"}`), 400, "'name' is a required property"},
		{"no filters", "POST", "/endpoint_groups", group(`"name":"x"`), 400, "'filters' is a required property"},
		{"empty filters", "POST", "/endpoint_groups", group(`"name":"x","filters":{}`), 400, "filters field is required and cannot be empty"},
		{"null filters", "POST", "/endpoint_groups", group(`"name":"x","filters":null`), 400, "endpoint_group.filters"},
		{"filters a string", "POST", "/endpoint_groups", group(`"name":"x","filters":"interface"`), 400, "endpoint_group.filters"},
		{"filter on url", "POST", "/endpoint_groups", group(`"name":"x","filters":{"url":"http://x"}`), 400,
			"Expecting to find service_id or region_id or interface in endpoint_group."},
		{"number filter", "POST", "/endpoint_groups", group(`"name":"x","filters":{"interface":5}`), 400, "expected string or null"},
		{"list filter", "POST", "/endpoint_groups", group(`"name":"x","filters":{"service_id":["a"]}`), 400, "endpoint_group.filters.service_id"},
		{"long filter", "POST", "/endpoint_groups", group(`"name":"x","filters":{"region_id":"` + strings.Repeat("r", 256) + `"}`), 400, "endpoint_group.filters.region_id"},
		{"empty name", "POST", "/endpoint_groups", group(`"name":"","filters":{"interface":"public"}`), 400, "endpoint_group.name"},
		{"blank name", "POST", "/endpoint_groups", group(`"name":"  ","filters":{"interface":"public"}`), 400, "endpoint_group.name"},
		{"long name", "POST", "/endpoint_groups", group(`"name":"` + strings.Repeat("n", 256) + `","filters":{"interface":"public"}`), 400, "endpoint_group.name"},
		{"null name", "POST", "/endpoint_groups", group(`"name":null,"filters":{"interface":"public"}`), 400, "endpoint_group.name"},
		{"number name", "POST", "/endpoint_groups", group(`"name":5,"filters":{"interface":"public"}`), 400, "endpoint_group.name"},
		{"number description", "POST", "/endpoint_groups", group(`"name":"x","description":5,"filters":{"interface":"public"}`), 400, "endpoint_group.description"},
		{"NUL description", "POST", "/endpoint_groups", group(`"name":"x","description":"a\u0000b","filters":{"interface":"public"}`), 400, "NUL"},
		{"patch empty", "PATCH", "/endpoint_groups/" + gid, group(``), 400, "at least one"},
		{"patch no group", "PATCH", "/endpoint_groups/" + gid, `{}`, 400, "'endpoint_group' is a required property"},
		{"patch another id", "PATCH", "/endpoint_groups/" + gid, group(`"id":"other"`), 400, "Cannot change ID"},
		{"patch bad filter", "PATCH", "/endpoint_groups/" + gid, group(`"filters":{"enabled":true}`), 400, "Expecting to find"},
		{"patch null filters", "PATCH", "/endpoint_groups/" + gid, group(`"filters":null`), 400, "endpoint_group.filters"},
		{"patch null name", "PATCH", "/endpoint_groups/" + gid, group(`"name":null`), 400, "endpoint_group.name"},
		{"patch a missing group", "PATCH", "/endpoint_groups/" + missing, group(`"name":"x"`), 404, "Could not find Endpoint Group: " + missing + "."},
		{"patch a missing group badly", "PATCH", "/endpoint_groups/" + missing, group(`"filters":{"url":"x"}`), 400, "Expecting to find"},
		{"delete a missing group", "DELETE", "/endpoint_groups/" + missing, ``, 404, "Could not find Endpoint Group"},
		{"a missing group's endpoints", "GET", "/endpoint_groups/" + missing + "/endpoints", ``, 404, "Could not find Endpoint Group"},
		{"add a missing group", "PUT", "/endpoint_groups/" + missing + "/projects/" + f.a, ``, 404, "Could not find Endpoint Group"},
		{"add to a missing project", "PUT", "/endpoint_groups/" + gid + "/projects/" + missing, ``, 404, "Could not find project: " + missing + "."},
		{"add the group again", "PUT", "/endpoint_groups/" + gid + "/projects/" + f.a, ``, 409, "Duplicate entry"},
		{"remove a group not added", "DELETE", "/endpoint_groups/" + gid + "/projects/" + f.b, ``, 404, "Endpoint Group Project Association not found"},
		{"remove from a missing project", "DELETE", "/endpoint_groups/" + gid + "/projects/" + missing, ``, 404, "Could not find project"},
		{"add a missing endpoint", "PUT", "/projects/" + f.a + "/endpoints/" + missing, ``, 404, "Could not find endpoint: " + missing + "."},
		{"add an endpoint to a missing project", "PUT", "/projects/" + missing + "/endpoints/" + e.computeInt, ``, 404, "Could not find project"},
		{"add the endpoint again", "PUT", "/projects/" + f.a + "/endpoints/" + e.computePub, ``, 409, "Duplicate entry"},
		{"remove an endpoint not added", "DELETE", "/projects/" + f.b + "/endpoints/" + e.computePub, ``, 404,
			"Endpoint " + e.computePub + " not found in project " + f.b},
		{"a missing project's endpoints", "GET", "/projects/" + missing + "/endpoints", ``, 404, "Could not find project"},
		{"a missing project's groups", "GET", "/projects/" + missing + "/endpoint_groups", ``, 404, "Could not find project"},
		{"a missing endpoint's projects", "GET", "/endpoints/" + missing + "/projects", ``, 404, "Could not find endpoint"},
		{"check a missing endpoint", "GET", "/projects/" + f.a + "/endpoints/" + missing, ``, 404, "Could not find endpoint"},
		{"check in a missing project", "GET", "/projects/" + missing + "/endpoints/" + e.computePub, ``, 404, "Could not find project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: tt.method, Path: ep + tt.path, Token: admin, Body: tt.body}), tt.code, tt.msg)
		})
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("refused calls changed the state:\n%s", apitest.LineDiff(before, after))
	}
}
