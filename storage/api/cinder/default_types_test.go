package cinder_test

import (
	"strings"
	"testing"
)

// Default type overrides (3.62) with cinderclient's default_types: an
// admin sets a project's, which its volumes created without a type get
// and its GET /types/default shows, lists and unsets it; a user may not
// set one; not there below 3.62; an unknown type is a 400.
func TestDefaultTypes(t *testing.T) {
	c := newAPI(t)
	gold := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}})["volume_type"].(map[string]any)["id"].(string)
	out := c.cinderclient(t, admin, "3.62", `d = cs.default_types.create("gold", sys.argv[1])
print(d.project_id, d.volume_type_id)
print(len(cs.default_types.list()), cs.default_types.list(sys.argv[1]).volume_type_id)
`, projA)
	if want := projA + " " + gold + "\n1 " + gold + "\n"; out != want {
		t.Fatalf("cinderclient: %q, want %q", out, want)
	}
	vol := c.must(t, 202, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}})["volume"].(map[string]any)
	if vol["volume_type"] != "gold" {
		t.Fatalf("alice's new volume: %v", vol["volume_type"])
	}
	if def := c.must(t, 200, "3.0", alice, "GET", "/types/default", nil)["volume_type"].(map[string]any); def["id"] != gold {
		t.Fatalf("alice's default type: %v", def)
	}
	if def := c.must(t, 200, "3.0", bob, "GET", "/types/default", nil)["volume_type"].(map[string]any); def["name"] != "__DEFAULT__" {
		t.Fatalf("bob's default type: %v", def)
	}
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.62", alice, "PUT", "/default-types/"+projA, map[string]any{"default_type": map[string]any{"volume_type": "gold"}}),
			403, "forbidden", "You are not authorized to perform this operation.")
		wantError(t, c.call(t, "3.61", admin, "PUT", "/default-types/"+projA, map[string]any{"default_type": map[string]any{"volume_type": "gold"}}),
			404, "itemNotFound")
		wantError(t, c.call(t, "3.62", admin, "PUT", "/default-types/"+projB, map[string]any{"default_type": map[string]any{"volume_type": "tin"}}),
			400, "badRequest", "Volume type with name tin could not be found.")
		wantError(t, c.call(t, "3.62", admin, "PUT", "/default-types/"+projB, map[string]any{"default_type": map[string]any{}}),
			400, "badRequest", "'volume_type' is a required property")
		wantError(t, c.call(t, "3.62", admin, "PUT", "/default-types/"+projB, map[string]any{"other": map[string]any{"a": map[string]any{}}}),
			400, "badRequest", "Missing required element 'default_type' in request body.")
		wantError(t, c.call(t, "3.62", admin, "GET", "/default-types/"+projB, nil), 404, "itemNotFound", "Default type for project "+projB+" not found.")
		wantError(t, c.call(t, "3.62", admin, "DELETE", "/types/"+gold, nil), 400, "badRequest", "is a default volume type and cannot be deleted")
	})
	out = c.cinderclient(t, admin, "3.62", `cs.default_types.delete(sys.argv[1])
print(len(cs.default_types.list()))
`, projA)
	if strings.TrimSpace(out) != "0" {
		t.Fatalf("after the unset: %q", out)
	}
}
