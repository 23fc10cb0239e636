package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// Bad create bodies: the status and message Glance answers with, and no
// image made.
func TestCreateBadInput(t *testing.T) {
	c := newCloud(t)
	existing := c.mkImage(t, memberA, map[string]any{"name": "existing"})
	tests := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"malformed JSON", `{"name":`, 400, "not valid JSON"},
		{"not JSON", `name=x`, 400, "not valid JSON"},
		{"empty body", ``, 400, "empty"},
		// Glance's JSONRequestDeserializer takes objects and arrays only;
		// the image schema then wants an object.
		{"null body", `null`, 400, "Unexpected body type. Expected list/dict."},
		{"string body", `"cirros"`, 400, "Unexpected body type. Expected list/dict."},
		{"number body", `5`, 400, "Unexpected body type. Expected list/dict."},
		{"boolean body", `true`, 400, "Unexpected body type. Expected list/dict."},
		{"array body", `[]`, 400, "Provided object does not match schema 'image': [] is not of type 'object'"},
		{"array of an object", `[{"name":"x"}]`, 400, "is not of type 'object'"},
		{"two values", `{} {}`, 400, "data after the JSON value"},
		{"id not a UUID", `{"id":"image-1"}`, 400, "UUID"},
		{"id not a string", `{"id":5}`, 400, "UUID"},
		{"existing id", `{"id":"` + existing + `"}`, 409, "already exists"},
		{"name too long", `{"name":"` + strings.Repeat("n", 256) + `"}`, 400, "too long"},
		{"name far too long", `{"name":"` + strings.Repeat("n", 100000) + `"}`, 400, "too long"},
		{"array of a long string", `["` + strings.Repeat("a", 100000) + `"]`, 400, "is not of type 'object'"},
		{"name not a string", `{"name":5}`, 400, "name"},
		{"bad disk_format", `{"disk_format":"qcow3"}`, 400, "'qcow3' is not one of"},
		{"bad container_format", `{"container_format":"box"}`, 400, "'box' is not one of"},
		{"bad visibility", `{"visibility":"secret"}`, 400, "visibility"},
		{"visibility null", `{"visibility":null}`, 400, "visibility"},
		{"negative min_ram", `{"min_ram":-1}`, 400, "min_ram"},
		{"min_ram a string", `{"min_ram":"512"}`, 400, "min_ram"},
		{"min_ram a fraction", `{"min_ram":1.5}`, 400, "min_ram"},
		{"min_disk null", `{"min_disk":null}`, 400, "min_disk"},
		{"protected a string", `{"protected":"yes"}`, 400, "boolean"},
		{"os_hidden null", `{"os_hidden":null}`, 400, "boolean"},
		{"tags a string", `{"tags":"linux"}`, 400, "tags"},
		{"tags null", `{"tags":null}`, 400, "tags"},
		{"tag a number", `{"tags":[5]}`, 400, "tags"},
		{"owner a number", `{"owner":5}`, 400, "owner"},
		{"empty tag", `{"tags":[""]}`, 400, "tag"},
		{"tag too long", `{"tags":["` + strings.Repeat("t", 256) + `"]}`, 400, "tag"},
		{"extra property a number", `{"hw_cpu_cores":4}`, 400, "is not of type 'string'"},
		{"extra property null", `{"hw_cpu_cores":null}`, 400, "is not of type 'string'"},
		{"extra property an object", `{"hw":{"cores":4}}`, 400, "is not of type 'string'"},
		{"extra property name too long", `{"` + strings.Repeat("k", 256) + `":"v"}`, 400, "Custom property should not be greater than 255 characters."},
		{"extra property value too long", `{"note":"` + strings.Repeat("v", 65536) + `"}`, 400, "longer than"},
		{"reserved location", `{"location":"file:///etc/passwd"}`, 403, "Attribute 'location' is reserved."},
		{"reserved deleted", `{"deleted":"true"}`, 403, "Attribute 'deleted' is reserved."},
		{"reserved deleted_at", `{"deleted_at":"2020-01-01T00:00:00Z"}`, 403, "reserved"},
		{"reserved namespace", `{"os_glance_import_task":"x"}`, 403, "Attribute 'os_glance_import_task' is reserved."},
	}
	for _, ro := range []string{"status", "checksum", "size", "virtual_size", "created_at", "updated_at", "os_hash_algo",
		"os_hash_value", "direct_url", "self", "file", "schema", "locations", "stores"} {
		tests = append(tests, struct {
			name, body string
			code       int
			msg        string
		}{"read-only " + ro, `{"name":"x","` + ro + `":"active"}`, 403, "Attribute '" + ro + "' is read-only."})
	}
	before := c.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Call(t, call{Method: "POST", Path: "/v2/images", Token: memberA, Body: tt.body})
			wantError(t, r, tt.code, tt.msg)
			if len(r.Body) > 1024 {
				t.Errorf("the error repeats the input: %d bytes", len(r.Body))
			}
		})
	}
	c.unchanged(t, before)
}

// Bad PATCH requests, in both media types: Glance's status and message,
// and the image exactly as it was (a bad operation anywhere in the list
// leaves the good ones before it unapplied).
func TestPatchBadInput(t *testing.T) {
	c := newCloud(t)
	id := c.mkImage(t, memberA, map[string]any{"name": "img", "disk_format": "raw", "container_format": "bare",
		"tags": []string{"t1"}, "foo": "bar"})
	active := c.mkImage(t, memberA, map[string]any{"name": "active", "disk_format": "raw", "container_format": "bare"})
	if r := c.upload(t, memberA, active, rawData(32)); r.Code != http.StatusNoContent {
		t.Fatalf("upload: %s", r)
	}
	const v20 = "application/openstack-images-v2.0-json-patch"
	rename := `{"op":"replace","path":"/name","value":"renamed"}`
	tests := []struct {
		name, typ, body string
		image           string // default id
		code            int
		msg             string
	}{
		{"JSON media type", "application/json", `[` + rename + `]`, "", 415, "Unsupported Content-Type"},
		{"JSON merge patch", "application/merge-patch+json", `{"name":"x"}`, "", 415, ""},
		{"no media type", "", `[` + rename + `]`, "", 415, ""},
		{"body an object", patchV21, rename, "", 400, "Request body must be a JSON array of operation objects."},
		{"body an empty object", patchV21, `{}`, "", 400, "Request body must be a JSON array of operation objects."},
		{"body null", patchV21, `null`, "", 400, "Unexpected body type. Expected list/dict."},
		{"v2.0 body null", v20, `null`, "", 400, "Unexpected body type. Expected list/dict."},
		{"body a string", patchV21, `"replace"`, "", 400, "Unexpected body type. Expected list/dict."},
		{"body a number", patchV21, `1`, "", 400, "Unexpected body type. Expected list/dict."},
		{"body malformed", patchV21, `[{"op":`, "", 400, ""},
		{"operation a string", patchV21, `["replace"]`, "", 400, "Operations must be JSON objects."},
		{"operation null", patchV21, `[null]`, "", 400, "Operations must be JSON objects."},
		{"operation a number", patchV21, `[1]`, "", 400, "Operations must be JSON objects."},
		{"operation an array", patchV21, `[[` + rename + `]]`, "", 400, "Operations must be JSON objects."},
		{"good then null", patchV21, `[` + rename + `,null]`, "", 400, "Operations must be JSON objects."},
		{"v2.0 operation null", v20, `[null]`, "", 400, "Operations must be JSON objects."},
		{"no op", patchV21, `[{"path":"/name","value":"x"}]`, "", 400, "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace."},
		{"unknown op", patchV21, `[{"op":"move","path":"/name","value":"x"}]`, "", 400, "Invalid operation: `move`. It must be one of the following: add, remove, replace."},
		{"op null", patchV21, `[{"op":null,"path":"/name","value":"x"}]`, "", 400, "Invalid operation"},
		{"no path", patchV21, `[{"op":"replace","value":"x"}]`, "", 400, "path"},
		{"path not a string", patchV21, `[{"op":"replace","path":5,"value":"x"}]`, "", 400, "path"},
		{"path null", patchV21, `[{"op":"replace","path":null,"value":"x"}]`, "", 400, "path"},
		{"v2.0 path not a string", v20, `[{"replace":5,"value":"x"}]`, "", 400, "path"},
		{"relative pointer", patchV21, `[{"op":"replace","path":"name","value":"x"}]`, "", 400, `does not start with "/"`},
		{"nested pointer", patchV21, `[{"op":"add","path":"/foo/bar","value":"x"}]`, "", 400, "Invalid JSON pointer"},
		{"empty pointer", patchV21, `[{"op":"add","path":"/","value":"x"}]`, "", 400, ""},
		{"bad escape", patchV21, `[{"op":"add","path":"/a~2b","value":"x"}]`, "", 400, "recognized escape sequence"},
		{"trailing tilde", patchV21, `[{"op":"add","path":"/a~","value":"x"}]`, "", 400, "recognized escape sequence"},
		{"replace without value", patchV21, `[{"op":"replace","path":"/name"}]`, "", 400, `requires a member named "value"`},
		{"add without value", patchV21, `[{"op":"add","path":"/foo"}]`, "", 400, `Operation "add" requires a member named "value".`},
		{"v2.0 replace without value", v20, `[{"replace":"/name"}]`, "", 400, `Operation "replace" requires a member named "value".`},
		{"read-only status", patchV21, `[{"op":"replace","path":"/status","value":"active"}]`, "", 403, "Attribute 'status' is read-only."},
		{"read-only checksum", patchV21, `[{"op":"replace","path":"/checksum","value":"x"}]`, "", 403, "read-only"},
		{"read-only size", patchV21, `[{"op":"replace","path":"/size","value":1}]`, "", 403, "read-only"},
		{"read-only id", patchV21, `[{"op":"replace","path":"/id","value":"x"}]`, "", 403, "read-only"},
		{"read-only created_at", patchV21, `[{"op":"remove","path":"/created_at"}]`, "", 403, "read-only"},
		{"read-only self", patchV21, `[{"op":"add","path":"/self","value":"x"}]`, "", 403, "read-only"},
		{"read-only os_hash_value", patchV21, `[{"op":"add","path":"/os_hash_value","value":"x"}]`, "", 403, "read-only"},
		{"reserved namespace", patchV21, `[{"op":"add","path":"/os_glance_import_task","value":"x"}]`, "", 403, "Attribute 'os_glance_import_task' is reserved."},
		{"reserved deleted", patchV21, `[{"op":"add","path":"/deleted","value":"x"}]`, "", 403, "reserved"},
		{"reserved location", patchV21, `[{"op":"add","path":"/location","value":"x"}]`, "", 403, "reserved"},
		{"extra property a number", patchV21, `[{"op":"add","path":"/cores","value":4}]`, "", 400, "is not of type 'string'"},
		{"extra property null", patchV21, `[{"op":"replace","path":"/foo","value":null}]`, "", 400, "is not of type 'string'"},
		{"bad disk_format", patchV21, `[{"op":"replace","path":"/disk_format","value":"qcow3"}]`, "", 400, "'qcow3' is not one of"},
		{"bad visibility", patchV21, `[{"op":"replace","path":"/visibility","value":"everyone"}]`, "", 400, "visibility"},
		{"negative min_ram", patchV21, `[{"op":"replace","path":"/min_ram","value":-1}]`, "", 400, "min_ram"},
		{"tags not an array", patchV21, `[{"op":"replace","path":"/tags","value":"t2"}]`, "", 400, "tags"},
		// A value of the wrong type for a core attribute: the image
		// schema refuses it before any policy is looked at (so a
		// non-admin's owner is a 400 too, not a 403).
		{"name a number", patchV21, `[{"op":"replace","path":"/name","value":5}]`, "", 400, "name"},
		{"name too long", patchV21, `[{"op":"replace","path":"/name","value":"` + strings.Repeat("n", 256) + `"}]`, "", 400, "too long"},
		{"visibility a number", patchV21, `[{"op":"replace","path":"/visibility","value":5}]`, "", 400, "visibility"},
		{"visibility null", patchV21, `[{"op":"replace","path":"/visibility","value":null}]`, "", 400, "visibility"},
		{"protected a string", patchV21, `[{"op":"replace","path":"/protected","value":"yes"}]`, "", 400, "boolean"},
		{"os_hidden null", patchV21, `[{"op":"replace","path":"/os_hidden","value":null}]`, "", 400, "boolean"},
		{"min_disk a string", patchV21, `[{"op":"replace","path":"/min_disk","value":"10"}]`, "", 400, "min_disk"},
		{"min_ram a fraction", patchV21, `[{"op":"replace","path":"/min_ram","value":1.5}]`, "", 400, "min_ram"},
		{"min_ram null", patchV21, `[{"op":"replace","path":"/min_ram","value":null}]`, "", 400, "min_ram"},
		{"disk_format a number", patchV21, `[{"op":"replace","path":"/disk_format","value":5}]`, "", 400, "disk_format"},
		{"container_format an array", patchV21, `[{"op":"replace","path":"/container_format","value":["bare"]}]`, "", 400, "container_format"},
		{"owner a number", patchV21, `[{"op":"replace","path":"/owner","value":5}]`, "", 400, "owner"},
		{"tags null", patchV21, `[{"op":"replace","path":"/tags","value":null}]`, "", 400, "tags"},
		{"tag a number", patchV21, `[{"op":"replace","path":"/tags","value":[1]}]`, "", 400, "tags"},
		{"tag null", patchV21, `[{"op":"replace","path":"/tags","value":[null]}]`, "", 400, "tag"},
		{"tag too long", patchV21, `[{"op":"replace","path":"/tags","value":["` + strings.Repeat("t", 256) + `"]}]`, "", 400, "tag"},
		{"extra property an object", patchV21, `[{"op":"add","path":"/hw","value":{"cores":4}}]`, "", 400, "is not of type 'string'"},
		{"extra property name too long", patchV21, `[{"op":"add","path":"/` + strings.Repeat("k", 256) + `","value":"v"}]`, "", 400, "Custom property should not be greater than 255 characters."},
		{"extra property value too long", patchV21, `[{"op":"add","path":"/note","value":"` + strings.Repeat("v", 65536) + `"}]`, "", 400, "longer than"},
		{"v2.0 visibility a number", v20, `[{"replace":"/visibility","value":5}]`, "", 400, "visibility"},
		{"good then a bad value", patchV21, `[` + rename + `,{"op":"replace","path":"/min_ram","value":"x"}]`, "", 400, "min_ram"},
		{"replace a missing property", patchV21, `[{"op":"replace","path":"/nope","value":"x"}]`, "", 409, "Property nope does not exist."},
		{"remove a missing property", patchV21, `[{"op":"remove","path":"/nope"}]`, "", 409, "Property nope does not exist."},
		{"remove name", patchV21, `[{"op":"remove","path":"/name"}]`, "", 403, "Property name may not be removed."},
		{"remove tags", patchV21, `[{"op":"remove","path":"/tags"}]`, "", 403, "may not be removed"},
		{"remove visibility", patchV21, `[{"op":"remove","path":"/visibility"}]`, "", 403, "may not be removed"},
		{"good then bad", patchV21, `[` + rename + `,{"op":"remove","path":"/nope"}]`, "", 409, "does not exist"},
		{"disk_format of an active image", patchV21, `[{"op":"replace","path":"/disk_format","value":"qcow2"}]`, "active", 403, "can be only replaced for a queued image"},
		{"v2.0 add an existing property", v20, `[{"add":"/foo","value":"baz"}]`, "", 409, "Property foo already present."},
		{"v2.0 add a base attribute", v20, `[{"add":"/name","value":"x"}]`, "", 409, "Property name already present."},
		{"v2.0 replace a missing property", v20, `[{"replace":"/nope","value":"x"}]`, "", 409, "does not exist"},
		{"v2.0 two operations", v20, `[{"add":"/a","replace":"/b","value":"x"}]`, "", 400, "only one member"},
		{"v2.0 no operation", v20, `[{"op":"add","path":"/a","value":"x"}]`, "", 400, "exactly one member"},
		{"v2.0 read-only", v20, `[{"replace":"/status","value":"active"}]`, "", 403, "read-only"},
		{"v2.0 good then bad", v20, `[{"replace":"/name","value":"renamed"},{"add":"/foo","value":"x"}]`, "", 409, "already present"},
	}
	before := c.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := id
			if tt.image == "active" {
				target = active
			}
			r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + target, Token: memberA, Body: tt.body, Type: tt.typ})
			wantError(t, r, tt.code, tt.msg)
			if tt.code == http.StatusUnsupportedMediaType {
				if got := r.Header.Get("Accept-Patch"); got != "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch" {
					t.Errorf("Accept-Patch = %q", got)
				}
			}
		})
	}
	c.unchanged(t, before)

	t.Run("unknown image", func(t *testing.T) {
		r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11", Token: memberA, Body: "[" + rename + "]", Type: patchV21})
		wantError(t, r, http.StatusNotFound, "No image found with ID")
	})
	// Glance's deserializer checks the body before the image is looked up.
	t.Run("unknown image, bad value", func(t *testing.T) {
		r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11", Token: memberA,
			Body: `[{"op":"replace","path":"/min_ram","value":"x"}]`, Type: patchV21})
		wantError(t, r, http.StatusBadRequest, "min_ram")
	})
}

// Bad member bodies: Glance's deserializer answers before the image is
// looked up, and nothing changes.
func TestMemberBadInput(t *testing.T) {
	c := newCloud(t)
	shared := c.mkImage(t, memberA, map[string]any{"name": "s", "visibility": "shared"})
	c.Must(t, http.StatusOK, "POST", "/v2/images/"+shared+"/members", memberA, map[string]any{"member": projectB})
	unknown := "5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11"
	const (
		unexpected = "Unexpected body type. Expected list/dict."
		memberForm = `Expected a member in the form: {"member": "image_id"}`
	)
	tests := []struct {
		name, method, image, body string
		msg                       string
	}{
		{"add: null", "POST", shared, `null`, unexpected},
		{"add: a string", "POST", shared, `"` + projectC + `"`, unexpected},
		{"add: a number", "POST", shared, `5`, unexpected},
		{"add: an array", "POST", shared, `[]`, memberForm},
		{"add: an array of the object", "POST", shared, `[{"member":"` + projectC + `"}]`, memberForm},
		{"add: no member", "POST", shared, `{}`, "Member to be added not specified"},
		{"add: member null", "POST", shared, `{"member":null}`, "Member can't be empty"},
		{"add: member empty", "POST", shared, `{"member":""}`, "Member can't be empty"},
		{"add: member a number", "POST", shared, `{"member":5}`, memberForm},
		{"add: member an object", "POST", shared, `{"member":{"id":"x"}}`, memberForm},
		{"add: member too long", "POST", shared, `{"member":"` + strings.Repeat("m", 256) + `"}`, "member"},
		{"add: null, unknown image", "POST", unknown, `null`, unexpected},
		{"status: null", "PUT", shared, `null`, unexpected},
		{"status: a string", "PUT", shared, `"accepted"`, unexpected},
		{"status: an array", "PUT", shared, `[]`, `Expected a status in the form: {"status": "status"}`},
	}
	before := c.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/v2/images/" + tt.image + "/members"
			tok := memberA
			if tt.method == "PUT" {
				path, tok = path+"/"+projectB, memberB
			}
			wantError(t, c.Call(t, call{Method: tt.method, Path: path, Token: tok, Body: tt.body}), http.StatusBadRequest, tt.msg)
		})
	}
	c.unchanged(t, before)
}

// Bad list queries are 400 and name the problem.
func TestListBadInput(t *testing.T) {
	c := newCloud(t)
	c.mkImage(t, memberA, map[string]any{"name": "x"})
	tests := []struct{ query, msg string }{
		{"limit=-1", "limit"},
		{"limit=ten", "limit"},
		{"sort_key=bogus", "Invalid sort key: bogus"},
		{"sort_key=name&sort_dir=up", "Invalid sort direction: up"},
		{"sort_dir=sideways", "Invalid sort direction"},
		{"sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc", "does not match the number of sort keys"},
		{"sort=name:up", "Invalid sort direction: up"},
		{"sort=bogus:asc", "Invalid sort key: bogus"},
		{"sort=name:asc&sort_key=id", "cannot be combined"},
		{"marker=5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11", "marker [5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11] not found"},
		{"visibility=secret", "Invalid visibility value: secret"},
		{"member_status=maybe", "member_status"},
		{"os_hidden=perhaps", "os_hidden"},
		{"protected=perhaps", "protected"},
		{"size_min=big", "Unable to filter on a range with a non-numeric value."},
		{"size_max=1.5", "Unable to filter on a range with a non-numeric value."},
		{"size_min=", "Unable to filter on a range with a non-numeric value."},
		{"size_max=1__0", "Unable to filter on a range with a non-numeric value."},
		{"size_min=99999999999999999999", "Unable to filter on a range with a non-numeric value."},
		{"size=big", "Invalid value for size filter: big"},
		{"created_at=gt:yesterday", "Unable to parse datetime"},
	}
	before := c.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantError(t, c.Do(t, "GET", "/v2/images?"+tt.query, memberA, nil), http.StatusBadRequest, tt.msg)
		})
	}
	c.unchanged(t, before)
}

// Calls on unknown images, routes and actions in the wrong state.
func TestMiscBadInput(t *testing.T) {
	c := newCloud(t)
	queued := c.mkImage(t, memberA, map[string]any{"name": "q", "disk_format": "raw", "container_format": "bare"})
	unknown := "5d7e4a5e-8c83-4f33-9df3-5cbf4f2b1f11"
	before := c.snapshot(t)
	tests := []struct {
		name, method, path string
		body               any
		code               int
		msg                string
	}{
		{"show unknown", "GET", "/v2/images/" + unknown, nil, 404, "No image found with ID " + unknown},
		{"delete unknown", "DELETE", "/v2/images/" + unknown, nil, 404, ""},
		{"download unknown", "GET", "/v2/images/" + unknown + "/file", nil, 404, ""},
		{"members of unknown", "GET", "/v2/images/" + unknown + "/members", nil, 404, ""},
		{"deactivate queued", "POST", "/v2/images/" + queued + "/actions/deactivate", nil, 403, "Not allowed to deactivate image in status 'queued'"},
		{"reactivate queued", "POST", "/v2/images/" + queued + "/actions/reactivate", nil, 403, "status 'queued'"},
		{"delete a tag it lacks", "DELETE", "/v2/images/" + queued + "/tags/none", nil, 404, "Tag none not found"},
		{"import nothing staged", "POST", "/v2/images/" + queued + "/import", importBody, 409, ""},
		{"import no method", "POST", "/v2/images/" + queued + "/import", map[string]any{}, 400, "method"},
		{"import unknown method", "POST", "/v2/images/" + queued + "/import", map[string]any{"method": map[string]any{"name": "copy-image"}}, 400, "copy-image"},
		{"import web-download disabled", "POST", "/v2/images/" + queued + "/import",
			map[string]any{"method": map[string]any{"name": "web-download", "uri": "http://example.com/x"}}, 400, "not enabled"},
		{"member of a private image", "POST", "/v2/images/" + queued + "/members", map[string]any{"member": ""}, 400, "Member"},
		{"member status missing", "PUT", "/v2/images/" + queued + "/members/" + projectB, map[string]any{}, 404, ""},
		{"unknown route", "GET", "/v2/flavors", nil, 404, ""},
		{"wrong method", "POST", "/v2/images/" + queued, nil, 405, ""},
		{"no token", "GET", "/v2/images", nil, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := memberA
			if tt.code == 401 {
				tok = ""
			}
			wantError(t, c.Do(t, tt.method, tt.path, tok, tt.body), tt.code, tt.msg)
		})
	}
	t.Run("bad token", func(t *testing.T) {
		wantError(t, c.Do(t, "GET", "/v2/images", "forged", nil), 401, "")
	})
	t.Run("plain text for clients that do not ask for JSON", func(t *testing.T) {
		r := c.Call(t, call{Method: "GET", Path: "/v2/images/" + unknown, Token: memberA, Header: map[string]string{"Accept": "*/*"}})
		if r.Code != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") ||
			string(r.Body) != "404 Not Found\n\nNo image found with ID "+unknown {
			t.Fatalf("%s (%s)", r, r.Header.Get("Content-Type"))
		}
	})
	c.unchanged(t, before)
}
