package nova_test

import (
	"testing"
)

func sgBody(fields map[string]any) map[string]any { return map[string]any{"server_group": fields} }

// Server groups at each microversion's shape; a project sees only its
// own (another project's group is not found, not forbidden); an admin
// lists every project's with all_projects.
func TestServerGroups(t *testing.T) {
	c := newAPI(t)
	g := c.must(t, 200, "2.1", alice, "POST", "/os-server-groups", sgBody(map[string]any{"name": "g1", "policies": []any{"anti-affinity"}}))["server_group"].(map[string]any)
	id := g["id"].(string)
	if g["name"] != "g1" || py(g["policies"]) != "[anti-affinity]" || g["project_id"] != nil || len(g["members"].([]any)) != 0 {
		t.Fatalf("2.1 view: %v", g)
	}
	g = c.must(t, 200, "2.13", alice, "GET", "/os-server-groups/"+id, nil)["server_group"].(map[string]any)
	if g["project_id"] != "proj-a" || g["user_id"] != "alice" || g["metadata"] == nil {
		t.Fatalf("2.13 view: %v", g)
	}
	g = c.must(t, 200, "2.64", alice, "POST", "/os-server-groups", sgBody(map[string]any{"name": "g2", "policy": "anti-affinity",
		"rules": map[string]any{"max_server_per_host": 3}}))["server_group"].(map[string]any)
	if g["policy"] != "anti-affinity" || g["rules"].(map[string]any)["max_server_per_host"] != float64(3) || g["policies"] != nil {
		t.Fatalf("2.64 view: %v", g)
	}
	c.must(t, 200, "2.15", bob, "POST", "/os-server-groups", sgBody(map[string]any{"name": "bobs", "policies": []any{"soft-affinity"}}))
	if l := c.must(t, 200, "2.64", alice, "GET", "/os-server-groups", nil)["server_groups"].([]any); len(l) != 2 {
		t.Fatalf("alice lists %v", l)
	}
	// all_projects is for admins; a member asking gets its own.
	if l := c.must(t, 200, "2.64", bob, "GET", "/os-server-groups?all_projects=1", nil)["server_groups"].([]any); len(l) != 1 {
		t.Fatalf("bob lists %v", l)
	}
	if l := c.must(t, 200, "2.64", admin, "GET", "/os-server-groups?all_projects=1", nil)["server_groups"].([]any); len(l) != 3 {
		t.Fatalf("admin lists %v", l)
	}
	if l := c.must(t, 200, "2.64", admin, "GET", "/os-server-groups?all_projects=1&offset=1&limit=1", nil)["server_groups"].([]any); len(l) != 1 {
		t.Fatalf("admin page %v", l)
	}
	wantError(t, c.call(t, "2.64", bob, "GET", "/os-server-groups/"+id, nil), 404, "itemNotFound", "Instance group "+id+" could not be found.")
	wantError(t, c.call(t, "2.64", bob, "DELETE", "/os-server-groups/"+id, nil), 404, "itemNotFound")
	if r := c.call(t, "2.64", alice, "DELETE", "/os-server-groups/"+id, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, c.call(t, "2.64", alice, "GET", "/os-server-groups/"+id, nil), 404, "itemNotFound")
}

func TestServerGroupRefusals(t *testing.T) {
	c := newAPI(t)
	for _, tc := range []struct {
		v    string
		body any
		msg  string
	}{
		{"2.1", sgBody(map[string]any{"name": "g", "policies": []any{"foo"}}), "Invalid input for field/attribute 0. Value: foo. 'foo' is not one of ['anti-affinity', 'affinity']"},
		{"2.1", sgBody(map[string]any{"name": "g", "policies": []any{"soft-affinity"}}), "'soft-affinity' is not one of ['anti-affinity', 'affinity']"},
		{"2.1", sgBody(map[string]any{"name": "g", "policies": []any{"affinity", "anti-affinity"}}), "Invalid input for field/attribute policies. Value: ['affinity', 'anti-affinity']. ['affinity', 'anti-affinity'] is too long"},
		{"2.1", sgBody(map[string]any{"name": "g", "policies": []any{}}), "Invalid input for field/attribute policies. Value: []. [] is too short"},
		{"2.1", sgBody(map[string]any{"name": "g"}), "Invalid input for field/attribute server_group. Value: {'name': 'g'}. 'policies' is a required property"},
		{"2.64", sgBody(map[string]any{"name": "g", "policy": "x"}), "Invalid input for field/attribute policy. Value: x. 'x' is not one of ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']"},
		{"2.64", sgBody(map[string]any{"name": "g", "policy": "anti-affinity", "rules": map[string]any{"max_server_per_host": 0}}), "Invalid input for field/attribute max_server_per_host. Value: 0. 0 is less than the minimum of 1"},
		{"2.64", sgBody(map[string]any{"name": "g", "policy": "anti-affinity", "rules": map[string]any{"foo": 1}}), "Invalid input for field/attribute rules. Value: {'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"},
		{"2.64", sgBody(map[string]any{"name": "g", "policies": []any{"affinity"}}), "Invalid input for field/attribute server_group. Value: {'name': 'g', 'policies': ['affinity']}. 'policy' is a required property"},
		{"2.64", sgBody(map[string]any{"name": "g", "policy": "affinity", "rules": map[string]any{"max_server_per_host": 2}}), "Only anti-affinity policy supports rules."},
	} {
		wantError(t, c.call(t, tc.v, alice, "POST", "/os-server-groups", tc.body), 400, "badRequest", tc.msg)
	}
	// A string of digits is a positive integer to Nova.
	c.must(t, 200, "2.64", alice, "POST", "/os-server-groups", sgBody(map[string]any{"name": "g", "policy": "anti-affinity", "rules": map[string]any{"max_server_per_host": "2"}}))
	if l := c.must(t, 200, "2.64", alice, "GET", "/os-server-groups", nil)["server_groups"].([]any); len(l) != 1 {
		t.Fatalf("after the refusals: %v", l)
	}
}

// py prints a decoded JSON list of strings compactly for messages.
func py(v any) string {
	l, ok := v.([]any)
	if !ok {
		return "<not a list>"
	}
	s := "["
	for i, e := range l {
		if i > 0 {
			s += " "
		}
		s += e.(string)
	}
	return s + "]"
}
