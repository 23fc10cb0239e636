package api_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// keysOf is the sorted keys of a JSON object.
func keysOf(t *testing.T, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %v", v)
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), " ")
}

// TestTLDs: an admin creates, lists (by name, paged), shows, renames and
// deletes TLDs in Designate's rendering; once one exists a zone must lie
// below one and may not be one — for admins too, for imports too — and a
// zone under a TLD is accepted.
func TestTLDs(t *testing.T) {
	c := newCloud(t)
	before := c.mkZone(t, memberA, "example.net.")

	r := c.Do(t, "POST", "/v2/tlds", adminA, map[string]any{"name": "org", "description": "for .org"})
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	org := r.JSON(t)
	id := str(t, org, "id")
	if got := keysOf(t, org); got != "created_at description id links name updated_at" {
		t.Errorf("tld keys = %s", got)
	}
	if org["updated_at"] != nil || org["name"] != "org" || r.Header.Get("Location") != c.URL+"/v2/tlds/"+id {
		t.Errorf("created tld: %v, Location %q", org, r.Header.Get("Location"))
	}
	couk := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tlds", adminA, map[string]any{"name": "co.uk"}), "id")

	list := c.Must(t, http.StatusOK, "GET", "/v2/tlds?sort_key=name", adminA, nil)
	if got := ids(t, list, "tlds"); !slices.Equal(got, []string{couk, id}) {
		t.Errorf("by name: %v", got)
	}
	if got := keysOf(t, list); got != "links tlds" {
		t.Errorf("list keys = %s", got)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/tlds?name=org", adminA, nil), "tlds"); !slices.Equal(got, []string{id}) {
		t.Errorf("name=org: %v", got)
	}
	page := c.Must(t, http.StatusOK, "GET", "/v2/tlds?limit=1&sort_key=name", adminA, nil)
	if got := ids(t, page, "tlds"); !slices.Equal(got, []string{couk}) || page["links"].(map[string]any)["next"] == nil {
		t.Errorf("page 1: %v", page)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/tlds/"+id, adminA, nil); got["description"] != "for .org" {
		t.Errorf("show: %v", got)
	}

	// Zones below no TLD, or a TLD itself, are refused to everyone.
	snap := c.snapshot(t)
	for _, tc := range []struct{ token, name, msg string }{
		{memberA, "example.com.", "Invalid TLD"},
		{adminA, "example.com.", "Invalid TLD"},
		{memberA, "example.uk.", "Invalid TLD"},
		{memberA, "co.uk.", "Zone name cannot be the same as a TLD"},
		{adminA, "co.uk.", "Zone name cannot be the same as a TLD"},
	} {
		r := c.Do(t, "POST", "/v2/zones", tc.token, zoneBody(tc.name))
		wantError(t, r, http.StatusBadRequest, "invalid_zone_name", tc.msg)
	}
	c.unchanged(t, snap)
	c.mkZone(t, memberA, "example.org.")
	c.mkZone(t, memberB, "example.co.uk.")
	r = c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/imports", Token: memberA, Type: "text/dns",
		Body: "$ORIGIN example.com.\n@ IN SOA ns.example. h.example.com. 1 2 3 4 5\n"})
	if r.Code != http.StatusAccepted {
		t.Fatalf("import: %s", r)
	}
	if imp := r.JSON(t); imp["status"] != "ERROR" || imp["message"] != "An undefined error occurred. Invalid TLD" {
		t.Errorf("import under no TLD: %v", imp)
	}

	// Renamed, the TLD lets the new name through; deleted, it is gone.
	upd := c.Must(t, http.StatusOK, "PATCH", "/v2/tlds/"+id, adminA, map[string]any{"name": "com", "description": nil})
	if upd["name"] != "com" || upd["description"] != nil || upd["updated_at"] == nil {
		t.Errorf("update: %v", upd)
	}
	c.mkZone(t, memberA, "example.com.")
	if r := c.Do(t, "DELETE", "/v2/tlds/"+id, adminA, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Errorf("delete: %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/tlds/"+id, adminA, nil), http.StatusNotFound, "tld_not_found", "Could not find Tld")
	r = c.Do(t, "POST", "/v2/zones", memberA, zoneBody("other.com."))
	wantError(t, r, http.StatusBadRequest, "invalid_zone_name", "Invalid TLD")
	// The zones made before stay.
	c.Must(t, http.StatusOK, "GET", "/v2/zones/"+before, memberA, nil)
}

// TestTLDBadInput: Designate's 400s, 404s and 409 for TLD writes, each
// changing nothing.
func TestTLDBadInput(t *testing.T) {
	c := newCloud(t)
	id := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tlds", adminA, map[string]any{"name": "org"}), "id")
	const unknown = "/v2/tlds/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		typ, msg           string
	}{
		{"no name", "POST", "/v2/tlds", map[string]any{"description": "x"}, 400, "invalid_object", "'name' is a required property"},
		{"name null", "POST", "/v2/tlds", map[string]any{"name": nil}, 400, "invalid_object", "'name'"},
		{"name number", "POST", "/v2/tlds", map[string]any{"name": 5}, 400, "invalid_object", "is not of type 'string'"},
		{"trailing dot", "POST", "/v2/tlds", map[string]any{"name": "com."}, 400, "invalid_object", "com. is not a TLD"},
		{"bad label", "POST", "/v2/tlds", map[string]any{"name": "-com"}, 400, "invalid_object", "is not a TLD"},
		{"empty", "POST", "/v2/tlds", map[string]any{"name": ""}, 400, "invalid_object", "is not a TLD"},
		{"long description", "POST", "/v2/tlds", map[string]any{"name": "net", "description": strings.Repeat("x", 161)}, 400, "invalid_object", "'description'"},
		{"unknown field", "POST", "/v2/tlds", map[string]any{"name": "net", "junk": "x"}, 400, "invalid_object", "'junk'"},
		{"read-only id", "POST", "/v2/tlds", map[string]any{"name": "net", "id": "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"}, 400, "invalid_object", "'id'"},
		{"duplicate", "POST", "/v2/tlds", map[string]any{"name": "ORG"}, 409, "duplicate_tld", "Duplicate Tld"},
		{"not JSON", "POST", "/v2/tlds", "{", 400, "invalid_json", ""},
		{"patch bad name", "PATCH", "/v2/tlds/" + id, map[string]any{"name": "a..b"}, 400, "invalid_object", "is not a TLD"},
		{"patch created_at", "PATCH", "/v2/tlds/" + id, map[string]any{"created_at": "2020-01-01T00:00:00.000000"}, 400, "invalid_object", "'created_at'"},
		{"patch unknown", "PATCH", unknown, map[string]any{"description": "x"}, 404, "tld_not_found", ""},
		{"bad uuid", "GET", "/v2/tlds/nope", nil, 400, "invalid_uuid", ""},
		{"show unknown", "GET", unknown, nil, 404, "tld_not_found", ""},
		{"delete unknown", "DELETE", unknown, nil, 404, "tld_not_found", ""},
		{"bad sort key", "GET", "/v2/tlds?sort_key=description", nil, 400, "invalid_sort_key", ""},
		{"unknown filter", "GET", "/v2/tlds?description=x", nil, 400, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.snapshot(t)
			r := c.Do(t, tc.method, tc.path, adminA, tc.body)
			var msgs []string
			if tc.msg != "" {
				msgs = append(msgs, tc.msg)
			}
			wantError(t, r, tc.code, tc.typ, msgs...)
			c.unchanged(t, before)
		})
	}
	before := c.snapshot(t)
	r := c.Call(t, call{Method: "PATCH", Path: "/v2/tlds/" + id, Token: adminA, Body: []any{},
		Header: map[string]string{"Content-Type": "application/json-patch+json"}})
	wantError(t, r, http.StatusNotImplemented, "not_implemented")
	c.unchanged(t, before)
}
