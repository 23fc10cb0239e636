package cinder_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// A volume's life through the API: created (202, Cinder's view), shown,
// listed in summary and detail, updated, deleted; admins see the host
// and migration attributes, members the project.
func TestVolumeLifecycle(t *testing.T) {
	c := newAPI(t)
	created := c.must(t, 202, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"size": "2", "name": " data ", "description": "d", "metadata": map[string]any{"k": "v"}}})["volume"].(map[string]any)
	id := created["id"].(string)
	for k, want := range map[string]any{"status": "creating", "size": float64(2), "name": "data", "description": "d",
		"availability_zone": "nova", "bootable": "false", "encrypted": false, "multiattach": false, "user_id": "alice",
		"volume_type": "__DEFAULT__", "snapshot_id": nil, "source_volid": nil, "replication_status": "disabled"} {
		if created[k] != want {
			t.Errorf("created %s = %v, want %v", k, created[k], want)
		}
	}
	if _, ok := created["os-vol-tenant-attr:tenant_id"]; ok {
		t.Errorf("create answers the extensions' attributes: %v", created)
	}
	if md := created["metadata"].(map[string]any); md["k"] != "v" {
		t.Errorf("metadata %v", md)
	}
	links := created["links"].([]any)
	if self := links[0].(map[string]any)["href"]; self != c.URL+"/v3/volumes/"+id {
		t.Errorf("self link %v", self)
	}
	if bm := links[1].(map[string]any)["href"]; bm != c.URL+"/volumes/"+id {
		t.Errorf("bookmark link %v", bm)
	}

	shown := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if shown["os-vol-tenant-attr:tenant_id"] != projA || shown["os-vol-host-attr:host"] != nil {
		t.Errorf("member's show: %v", shown)
	}
	if _, ok := shown["os-vol-host-attr:host"]; ok {
		t.Errorf("a member sees the host: %v", shown)
	}
	if _, ok := shown["migration_status"]; ok {
		t.Errorf("a member sees migration_status: %v", shown)
	}
	adm := c.must(t, 200, "3.0", admin, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	for _, k := range []string{"os-vol-host-attr:host", "os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id", "migration_status"} {
		if _, ok := adm[k]; !ok {
			t.Errorf("admin's show lacks %s: %v", k, adm)
		}
	}
	// Fields by microversion.
	latest := c.must(t, 200, "3.70", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	for _, k := range []string{"group_id", "shared_targets", "service_uuid", "volume_type_id", "consumes_quota"} {
		if _, ok := latest[k]; !ok {
			t.Errorf("3.70 show lacks %s", k)
		}
	}
	for _, k := range []string{"provider_id", "cluster_name"} {
		if _, ok := latest[k]; ok {
			t.Errorf("a member's 3.70 show has %s", k)
		}
		if _, ok := c.must(t, 200, "3.70", admin, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)[k]; !ok {
			t.Errorf("an admin's 3.70 show lacks %s", k)
		}
	}
	if _, ok := shown["group_id"]; ok {
		t.Errorf("3.0 show has group_id")
	}

	list := c.must(t, 200, "3.0", alice, "GET", "/volumes", nil)["volumes"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)) != 3 || list[0].(map[string]any)["name"] != "data" {
		t.Fatalf("summary list: %v", list)
	}
	detail := c.must(t, 200, "3.0", alice, "GET", "/volumes/detail", nil)["volumes"].([]any)
	if len(detail) != 1 || detail[0].(map[string]any)["os-vol-tenant-attr:tenant_id"] != projA {
		t.Fatalf("detail list: %v", detail)
	}

	upd := c.must(t, 200, "3.53", alice, "PUT", "/volumes/"+id, map[string]any{"volume": map[string]any{
		"name": "renamed", "metadata": map[string]any{"a": "b"}}})["volume"].(map[string]any)
	if upd["name"] != "renamed" || upd["description"] != "d" || len(upd["metadata"].(map[string]any)) != 1 {
		t.Fatalf("update: %v", upd)
	}
	c.must(t, 200, "3.0", alice, "PUT", "/volumes/"+id, map[string]any{"volume": map[string]any{"display_description": nil}})
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["description"] != nil {
		t.Fatalf("description not cleared: %v", v)
	}

	// A volume is deleted once it is available, by its backend's agent.
	c.agentDone(t, id)
	if r := c.call(t, "3.0", alice, "DELETE", "/volumes/"+id, nil); r.Code != 202 {
		t.Fatalf("delete: %s", r)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "deleting" {
		t.Fatalf("deleting: %v", v)
	}
	c.agentDone(t, id)
	wantError(t, c.call(t, "3.0", alice, "GET", "/volumes/"+id, nil), 404, "itemNotFound", "Volume "+id+" could not be found.")
}

// Cinder's URLs with the project id after /v3 reach the same API: the
// project must be the caller's, and links keep it.
func TestProjectInPath(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	v := c.must(t, 200, "3.0", alice, "GET", "/"+projA+"/volumes/"+id, nil)["volume"].(map[string]any)
	links := v["links"].([]any)
	if self := links[0].(map[string]any)["href"]; self != c.URL+"/v3/"+projA+"/volumes/"+id {
		t.Errorf("self link %v", self)
	}
	if bm := links[1].(map[string]any)["href"]; bm != c.URL+"/"+projA+"/volumes/"+id {
		t.Errorf("bookmark link %v", bm)
	}
	wantError(t, c.call(t, "3.0", alice, "GET", "/"+projB+"/volumes/"+id, nil), 400, "badRequest", "Malformed request url")
	wantError(t, c.call(t, "3.0", admin, "GET", "/"+projA+"/volumes", nil), 400, "badRequest", "Malformed request url")
	wantError(t, c.call(t, "3.0", "", "GET", "/"+projA+"/volumes", nil), 401, "unauthorized")
	c.must(t, 202, "3.0", alice, "POST", "/"+projA+"/volumes", map[string]any{"volume": map[string]any{"size": 1}})
	if l := c.must(t, 200, "3.0", alice, "GET", "/"+projA+"/volumes/detail", nil)["volumes"].([]any); len(l) != 2 {
		t.Fatalf("detail under the project: %v", l)
	}
}

// Another project's volume is not found, whatever the call, and
// nothing changes; an admin sees every project's with all_tenants.
func TestVolumeIsolation(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	c.unchanged(t, func() {
		msg := "Volume " + id + " could not be found."
		wantError(t, c.call(t, "3.0", bob, "GET", "/volumes/"+id, nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "PUT", "/volumes/"+id, map[string]any{"volume": map[string]any{"name": "x"}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "DELETE", "/volumes/"+id, nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "POST", "/volumes/"+id+"/action", map[string]any{"os-extend": map[string]any{"new_size": 5}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "POST", "/volumes/"+id+"/action", map[string]any{"os-set_bootable": map[string]any{"bootable": true}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "POST", "/volumes/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "error"}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "GET", "/volumes/"+id+"/metadata", nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "POST", "/volumes/"+id+"/metadata", map[string]any{"metadata": map[string]any{"a": "b"}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "DELETE", "/volumes/"+id+"/metadata/k", nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.0", bob, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "source_volid": id}}), 404, "itemNotFound", msg)
		if l := c.must(t, 200, "3.0", bob, "GET", "/volumes/detail?all_tenants=1", nil)["volumes"].([]any); len(l) != 0 {
			t.Errorf("bob lists alice's volume: %v", l)
		}
	})
	if l := c.must(t, 200, "3.0", admin, "GET", "/volumes/detail", nil)["volumes"].([]any); len(l) != 0 {
		t.Errorf("admin's own project lists another's volume: %v", l)
	}
	if l := c.must(t, 200, "3.0", admin, "GET", "/volumes/detail?all_tenants=True", nil)["volumes"].([]any); len(l) != 1 {
		t.Errorf("admin's all_tenants: %v", l)
	}
	if l := c.must(t, 200, "3.0", admin, "GET", "/volumes?all_tenants=1&project_id="+projB, nil)["volumes"].([]any); len(l) != 0 {
		t.Errorf("admin's all_tenants of project B: %v", l)
	}
	c.must(t, 200, "3.0", admin, "GET", "/volumes/"+id, nil)
}

// Refusals answer Cinder's status and message, and change nothing.
func TestVolumeRefusals(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	vol := func(body map[string]any) map[string]any { return map[string]any{"volume": body} }
	for _, x := range []struct {
		v, token, method, path string
		body                   any
		code                   int
		key, msg               string
	}{
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 0}), 400, "badRequest",
			"Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{}), 400, "badRequest",
			"Invalid input received: Volume size 'None' must be an integer and greater than 0"},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": "01"}), 400, "badRequest",
			"Invalid input received: Invalid volume size provided for create request: 01 (size argument must be an integer (or string representation of an integer) and greater than zero)."},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": "x"}), 400, "badRequest",
			"Invalid input for field/attribute size. Value: x. 'x' does not match '^[0-9]+$'"},
		{"3.53", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "bogus": 1}), 400, "badRequest",
			"Additional properties are not allowed ('bogus' was unexpected)"},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "name": strings.Repeat("n", 256)}), 400, "badRequest",
			"Invalid input received: name has 256 characters, more than 255."},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "volume_type": "gold"}), 404, "itemNotFound",
			"Volume type with name gold could not be found."},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "snapshot_id": "11111111-2222-3333-4444-555555555555"}), 404, "itemNotFound",
			"Snapshot 11111111-2222-3333-4444-555555555555 could not be found."},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "imageRef": "cirros"}), 400, "badRequest",
			"Creating a volume from an image is not possible: this cloud has no image service."},
		{"3.0", alice, "POST", "/volumes", vol(map[string]any{"size": 1, "multiattach": true}), 400, "badRequest",
			"multiattach parameter has been removed."},
		{"3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}, "x": 1}, 400, "badRequest",
			"Additional properties are not allowed ('x' was unexpected)"},
		{"3.0", alice, "POST", "/volumes", map[string]any{}, 400, "badRequest", "'volume' is a required property"},
		{"3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}, "OS-SCH-HNT:scheduler_hints": map[string]any{"same_host": "x"}},
			400, "badRequest", "Invalid input for field/attribute same_host. Value: x. 'x' is not valid under any of the given schemas"},
		{"3.0", alice, "PUT", "/volumes/" + id, vol(map[string]any{"size": 3}), 400, "badRequest", "Additional properties are not allowed ('size' was unexpected)"},
		{"3.53", alice, "PUT", "/volumes/" + id, vol(map[string]any{}), 400, "badRequest", "{} is not valid under any of the given schemas"},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-extend": map[string]any{"new_size": 1}}, 400, "badRequest",
			"Invalid input received: New size for extend must be greater than current size. (current: 1, extended: 1)."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-extend": map[string]any{"new_size": 2}}, 400, "badRequest",
			"Invalid volume: Volume " + id + " status must be '{'status': 'available'}' to extend, currently creating."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-extend": map[string]any{}}, 400, "badRequest",
			"Invalid input for field/attribute os-extend. Value: {}. 'new_size' is a required property"},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "error"}}, 403, "forbidden",
			"Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed."},
		{"3.0", admin, "POST", "/volumes/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "bogus"}}, 400, "badRequest",
			"Volume status: bogus is invalid, valid statuses are: ('creating', 'available'"},
		{"3.0", admin, "POST", "/volumes/" + id + "/action", map[string]any{"os-reset_status": map[string]any{}}, 400, "badRequest",
			"Must specify 'status', 'attach_status' or 'migration_status' for update."},
		{"3.0", admin, "POST", "/volumes/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "in-use"}}, 400, "badRequest",
			"Cannot reset-state to in-use because volume does not have any attachments."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-force_delete": map[string]any{}}, 403, "forbidden",
			"Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be performed."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-bogus": map[string]any{}}, 400, "badRequest",
			"There is no such action: os-bogus. Verify the request body and Content-Type header and try again."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"a": 1, "b": 2}, 400, "badRequest", "Malformed request body"},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", []any{1}, 404, "itemNotFound", "The resource could not be found."},
		{"3.0", alice, "POST", "/volumes/" + id + "/action", map[string]any{"os-set_bootable": map[string]any{"bootable": "maybe"}}, 400, "badRequest",
			"Invalid input for field/attribute bootable. Value: maybe. 'maybe' is not one of [True, 'True'"},
		{"3.0", alice, "DELETE", "/volumes/" + id + "?cascade=maybe", nil, 400, "badRequest", "Value 'maybe' for 'cascade' is not a boolean."},
		{"3.23", alice, "DELETE", "/volumes/" + id + "?force=true", nil, 403, "forbidden", "Policy doesn't allow volume:force_delete to be performed."},
		{"3.0", alice, "GET", "/volumes/summary", nil, 404, "itemNotFound", "The resource could not be found."},
		{"3.0", alice, "GET", "/volumes?limit=x", nil, 400, "badRequest", "limit param must be an integer"},
		{"3.0", alice, "GET", "/volumes?limit=-1", nil, 400, "badRequest", "limit param must be positive"},
		{"3.0", alice, "GET", "/volumes?offset=-1", nil, 400, "badRequest", "offset must be >= 0"},
		{"3.0", alice, "GET", "/volumes?sort=name&sort_key=size", nil, 400, "badRequest",
			"The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter."},
		{"3.0", alice, "GET", "/volumes?sort_key=bogus", nil, 400, "badRequest", "Invalid sort key"},
		{"3.0", alice, "GET", "/volumes?marker=nope", nil, 404, "itemNotFound", "Volume nope could not be found."},
		{"3.31", alice, "GET", "/volumes?bogus=1&zzz=2", nil, 400, "badRequest", "Invalid filters bogus,zzz are found in query options."},
		{"3.2", alice, "GET", "/volumes?bootable=maybe", nil, 400, "badRequest", "Invalid input received: 'bootable = maybe'"},
		{"3.0", alice, "GET", "/volumes?size=1", nil, 400, "badRequest", "The volume filters size are not supported yet."},
		{"3.45", alice, "GET", "/volumes?with_count=maybe", nil, 400, "badRequest", "Value 'maybe' for 'with_count' is not a boolean."},
	} {
		t.Run(fmt.Sprintf("%s %s %v", x.method, x.path, x.body), func(t *testing.T) {
			c.unchanged(t, func() {
				wantError(t, c.call(t, x.v, x.token, x.method, x.path, x.body), x.code, x.key, x.msg)
			})
		})
	}
}

// Bodies are read as Cinder's wsgi reads them.
func TestVolumeBodies(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	post := func(path, ctype string, body any) apitest.Reply {
		return c.Call(t, apitest.Call{Method: "POST", Path: "/v3" + path, Token: alice, Type: ctype, Body: body})
	}
	c.unchanged(t, func() {
		wantError(t, post("/volumes", "text/plain", `{"volume": {"size": 1}}`), 415, "badMediaType", "Unsupported Content-Type")
		wantError(t, post("/volumes", "-", `{"volume": {"size": 1}}`), 400, "badRequest",
			"The server could not comply with the request since it is either malformed or otherwise incorrect.")
		wantError(t, post("/volumes", "application/json", `{"volume": `), 400, "badRequest", "Malformed request body")
		wantError(t, post("/volumes", "application/json", `{"volume": {"size": 1, "name": "a\u0000"}}`), 400, "badRequest", "NUL")
		wantError(t, post("/volumes", "application/json", strings.Repeat(" ", 114689)), 413, "overLimit",
			"Request is too large. Larger than max_request_body_size (114688).")
		wantError(t, post("/volumes/"+id+"/action", "-", `{"os-extend": {"new_size": 2}}`), 400, "badRequest",
			"There is no such action: None.")
		wantError(t, post("/volumes/"+id+"/action", "application/json", `not json`), 400, "badRequest", "Malformed request body")
	})
	r := post("/volumes", "application/vnd.openstack.volume+json", `{"volume": {"size": 1}}`)
	if r.Code != 202 {
		t.Fatalf("Cinder's own media type: %s", r)
	}
}

// Lists page as Cinder's do: limit (at most 1000), marker, offset, a
// next link when the page is full, sort keys, with_count (3.45).
func TestVolumePages(t *testing.T) {
	c := newAPI(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, c.newVolume(t, alice, map[string]any{"size": i + 1, "name": fmt.Sprintf("v%d", i)}))
	}
	names := func(body map[string]any) string {
		var out []string
		for _, v := range body["volumes"].([]any) {
			out = append(out, v.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	first := c.must(t, 200, "3.0", alice, "GET", "/volumes?limit=2&sort=name:asc", nil)
	if got := names(first); got != "v0,v1" {
		t.Fatalf("first page %s", got)
	}
	next := first["volumes_links"].([]any)[0].(map[string]any)
	u, err := url.Parse(next["href"].(string))
	if err != nil || next["rel"] != "next" || u.Path != "/v3/volumes" || u.Query().Get("marker") != ids[1] || u.Query().Get("sort") != "name:asc" {
		t.Fatalf("next link %v", next)
	}
	second := c.must(t, 200, "3.0", alice, "GET", strings.TrimPrefix(next["href"].(string), c.URL+"/v3"), nil)
	if got := names(second); got != "v2,v3" {
		t.Fatalf("second page %s", got)
	}
	if got := names(c.must(t, 200, "3.0", alice, "GET", "/volumes?sort_key=size&sort_dir=desc&offset=1&limit=2", nil)); got != "v3,v2" {
		t.Fatalf("offset page %s", got)
	}
	if body := c.must(t, 200, "3.0", alice, "GET", "/volumes?limit=10", nil); body["volumes_links"] != nil || len(body["volumes"].([]any)) != 5 {
		t.Fatalf("a page not full has a next link: %v", body)
	}
	if body := c.must(t, 200, "3.0", alice, "GET", "/volumes?limit=0", nil); len(body["volumes"].([]any)) != 0 {
		t.Fatalf("limit=0: %v", body)
	}
	detail := c.must(t, 200, "3.45", alice, "GET", "/volumes/detail?limit=1&with_count=true", nil)
	if detail["count"] != float64(5) || !strings.Contains(detail["volumes_links"].([]any)[0].(map[string]any)["href"].(string), "/v3/volumes/detail?") {
		t.Fatalf("with_count: %v", detail)
	}
	// Before 3.45 with_count is a filter like any other: refused from 3.31.
	wantError(t, c.call(t, "3.44", alice, "GET", "/volumes?with_count=true", nil), 400, "badRequest",
		"Invalid filters with_count are found in query options.")
}

// Filters: Cinder's user filters, like filters from 3.34, unknown ones
// refused from 3.31 and dropped before, metadata as a dict literal.
func TestVolumeFilters(t *testing.T) {
	c := newAPI(t)
	c.newVolume(t, alice, map[string]any{"size": 1, "name": "alpha", "metadata": map[string]any{"tier": "gold"}})
	beta := c.newVolume(t, alice, map[string]any{"size": 1, "name": "beta"})
	c.must(t, 200, "3.0", alice, "POST", "/volumes/"+beta+"/action", map[string]any{"os-set_bootable": map[string]any{"bootable": "yes"}})
	count := func(v, query string) int {
		return len(c.must(t, 200, v, alice, "GET", "/volumes?"+query, nil)["volumes"].([]any))
	}
	for _, x := range []struct {
		v, query string
		want     int
	}{
		{"3.0", "name=alpha", 1},
		{"3.0", "name=alp", 0},
		{"3.34", "name~=ALP", 1},
		{"3.0", "status=creating", 2},
		{"3.0", "status=available", 0},
		{"3.0", "metadata=" + url.QueryEscape("{'tier': 'gold'}"), 1},
		{"3.0", "metadata=notadict", 0},
		{"3.2", "bootable=true", 1},
		{"3.2", "bootable=0", 1},
		{"3.1", "bootable=whatever", 1}, // before 3.2 anything but False is true
		{"3.0", "availability_zone=nova", 2},
		{"3.0", "bogus=1", 2}, // dropped before 3.31
		{"3.0", "group_id=x", 0},
		{"3.0", "migration_status=None", 2},
		{"3.0", "migration_status=migrating", 0},
		{"3.31", "all_tenants=1", 2},
	} {
		if got := count(x.v, x.query); got != x.want {
			t.Errorf("%s at %s: %d volumes, want %d", x.query, x.v, got, x.want)
		}
	}
	if l := c.must(t, 200, "3.60", admin, "GET", "/volumes?all_tenants=1&bogus=1", nil)["volumes"].([]any); len(l) != 0 {
		t.Errorf("an admin's filter on no attribute: %v (Cinder's empty list)", l)
	}
	wantError(t, c.call(t, "3.60", admin, "GET", "/volumes?all_tenants=1&user_id=alice", nil), 400, "badRequest",
		"The volume filters user_id are not supported yet.")
	summary := c.must(t, 200, "3.36", alice, "GET", "/volumes/summary", nil)["volume-summary"].(map[string]any)
	if summary["total_count"] != float64(2) || summary["total_size"] != float64(2) || len(summary["metadata"].(map[string]any)) != 1 {
		t.Fatalf("summary %v", summary)
	}
	summary = c.must(t, 200, "3.36", alice, "GET", "/volumes/summary?name=beta&bogus=1", nil)["volume-summary"].(map[string]any)
	if summary["total_count"] != float64(1) || len(summary["metadata"].(map[string]any)) != 0 {
		t.Fatalf("summary of beta %v", summary)
	}
}

// Actions: extend, set_bootable, an admin's reset_status and
// force_delete.
func TestVolumeActions(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	act := func(token string, body map[string]any) apitest.Reply {
		return c.call(t, "3.0", token, "POST", "/volumes/"+id+"/action", body)
	}
	if r := act(admin, map[string]any{"os-reset_status": map[string]any{"status": "AVAILABLE", "attach_status": "detached"}}); r.Code != 202 {
		t.Fatalf("reset_status: %s", r)
	}
	v, err := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id)
	if err != nil || v.Status != storage.VolumeAvailable {
		t.Fatalf("after reset: %v %v", v.Status, err)
	}
	if r := act(alice, map[string]any{"os-extend": map[string]any{"new_size": "3"}}); r.Code != 202 {
		t.Fatalf("extend: %s", r)
	}
	if v, _ := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id); v.Status != storage.VolumeExtending || v.NewSize != 3 {
		t.Fatalf("after extend: %+v", v)
	}
	if r := act(alice, map[string]any{"os-set_bootable": map[string]any{"bootable": true}}); r.Code != 200 || len(r.Body) != 0 {
		t.Fatalf("set_bootable: %s", r)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["bootable"] != "true" || v["status"] != "extending" {
		t.Fatalf("after set_bootable: %v", v)
	}
	wantError(t, act(admin, map[string]any{"os-reset_status": map[string]any{"migration_status": "migrating"}}), 400, "badRequest", "migration_status")
	if r := act(admin, map[string]any{"os-reset_status": map[string]any{"migration_status": "none"}}); r.Code != 202 {
		t.Fatalf("reset of migration_status to none: %s", r)
	}
	if r := act(admin, map[string]any{"os-force_delete": map[string]any{}}); r.Code != 202 {
		t.Fatalf("force_delete: %s", r)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "deleting" {
		t.Fatalf("after force_delete: %v", v)
	}
}

// A volume's metadata items, with ETags from 3.15.
func TestVolumeMetadata(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, map[string]any{"size": 1, "metadata": map[string]any{"a": "1"}})
	base := "/volumes/" + id + "/metadata"
	if md := c.must(t, 200, "3.0", alice, "POST", base, map[string]any{"metadata": map[string]any{"b": "2"}})["metadata"].(map[string]any); len(md) != 2 {
		t.Fatalf("create: %v", md)
	}
	if m := c.must(t, 200, "3.0", alice, "GET", base+"/b", nil)["meta"].(map[string]any); m["b"] != "2" {
		t.Fatalf("show: %v", m)
	}
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "GET", base+"/zz", nil), 404, "itemNotFound", "Volume "+id+" has no metadata with key zz.")
		wantError(t, c.call(t, "3.0", alice, "PUT", base+"/b", map[string]any{"meta": map[string]any{"c": "3"}}), 400, "badRequest", "Request body and URI mismatch")
		wantError(t, c.call(t, "3.0", alice, "PUT", base+"/b", map[string]any{"meta": map[string]any{"b": "3", "c": "4"}}), 400, "badRequest",
			"has too many properties")
		wantError(t, c.call(t, "3.0", alice, "POST", base, map[string]any{"metadata": map[string]any{"a$": "1"}}), 400, "badRequest",
			"'a$' does not match any of the regexes")
		wantError(t, c.call(t, "3.0", alice, "POST", base, map[string]any{"metadata": map[string]any{"a": strings.Repeat("v", 256)}}), 400, "badRequest",
			"is too long")
		wantError(t, c.call(t, "3.0", reader, "DELETE", base+"/zz", nil), 404, "itemNotFound")
	})
	c.must(t, 200, "3.0", alice, "PUT", base+"/b", map[string]any{"meta": map[string]any{"b": "20"}})
	r := c.call(t, "3.15", alice, "GET", base, nil)
	etag := r.Header.Get("Etag")
	if r.Code != 200 || len(etag) != 32 {
		t.Fatalf("etag: %s %v", r, r.Header)
	}
	c.unchanged(t, func() {
		stale := c.Call(t, apitest.Call{Method: "PUT", Path: "/v3" + base, Token: alice, Body: map[string]any{"metadata": map[string]any{"x": "y"}},
			Header: map[string]string{"OpenStack-API-Version": "volume 3.15", "If-Match": `"0123"`}})
		if stale.Code != 412 {
			t.Fatalf("stale If-Match: %s", stale)
		}
	})
	fresh := c.Call(t, apitest.Call{Method: "PUT", Path: "/v3" + base, Token: alice, Body: map[string]any{"metadata": map[string]any{"x": "y"}},
		Header: map[string]string{"OpenStack-API-Version": "volume 3.15", "If-Match": `"` + etag + `"`}})
	if fresh.Code != 200 || len(fresh.JSON(t)["metadata"].(map[string]any)) != 1 {
		t.Fatalf("If-Match: %s", fresh)
	}
	if r := c.call(t, "3.0", alice, "DELETE", base+"/x", nil); r.Code != 200 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, c.call(t, "3.0", alice, "DELETE", base+"/x", nil), 404, "itemNotFound", "has no metadata with key x")
}
