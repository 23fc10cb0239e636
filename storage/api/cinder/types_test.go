package cinder_test

import (
	"fmt"
	"strings"
	"testing"
)

// Volume types: an admin creates, updates, shares and deletes them;
// users list and show the public ones and those shared with their
// project, with the extra specs they may read; a volume of a type shows
// its name (and its id from 3.63).
func TestVolumeTypes(t *testing.T) {
	c := newAPI(t)
	gold := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{
		"name": "gold", "description": "fast", "extra_specs": map[string]any{"volume_backend_name": "lvm", "multiattach": "<is> False"}}})["volume_type"].(map[string]any)
	goldID := gold["id"].(string)
	if gold["name"] != "gold" || gold["is_public"] != true || gold["os-volume-type-access:is_public"] != true || gold["qos_specs_id"] != nil {
		t.Fatalf("create: %v", gold)
	}
	if specs := gold["extra_specs"].(map[string]any); len(specs) != 2 {
		t.Fatalf("admin's extra specs: %v", specs)
	}
	// A member sees the type with the user-visible specs only.
	shown := c.must(t, 200, "3.0", alice, "GET", "/types/"+goldID, nil)["volume_type"].(map[string]any)
	if specs := shown["extra_specs"].(map[string]any); len(specs) != 1 || specs["multiattach"] != "<is> False" {
		t.Fatalf("member's extra specs: %v", shown)
	}
	if _, ok := shown["qos_specs_id"]; ok {
		t.Errorf("a member sees qos_specs_id: %v", shown)
	}
	if specs := c.must(t, 200, "3.0", alice, "GET", "/types/"+goldID+"/extra_specs", nil)["extra_specs"].(map[string]any); len(specs) != 1 {
		t.Fatalf("member's extra_specs index: %v", specs)
	}
	wantError(t, c.call(t, "3.0", alice, "GET", "/types/"+goldID+"/extra_specs/volume_backend_name", nil), 404, "itemNotFound",
		"Volume Type "+goldID+" has no extra specs with key volume_backend_name.")
	if v := c.must(t, 200, "3.0", admin, "GET", "/types/"+goldID+"/extra_specs/volume_backend_name", nil); v["volume_backend_name"] != "lvm" {
		t.Fatalf("admin's spec: %v", v)
	}
	if d := c.must(t, 200, "3.0", alice, "GET", "/types/default", nil)["volume_type"].(map[string]any); d["name"] != "__DEFAULT__" {
		t.Fatalf("default type: %v", d)
	}

	// A private type: only the projects it is shared with see it.
	priv := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{
		"name": "private", "os-volume-type-access:is_public": "false"}})["volume_type"].(map[string]any)["id"].(string)
	wantError(t, c.call(t, "3.0", alice, "GET", "/types/"+priv, nil), 404, "itemNotFound", "Volume type "+priv+" could not be found.")
	if r := c.call(t, "3.0", admin, "POST", "/types/"+priv+"/action", map[string]any{"addProjectAccess": map[string]any{"project": projA}}); r.Code != 202 {
		t.Fatalf("addProjectAccess: %s", r)
	}
	c.must(t, 200, "3.0", alice, "GET", "/types/"+priv, nil)
	wantError(t, c.call(t, "3.0", bob, "GET", "/types/"+priv, nil), 404, "itemNotFound")
	access := c.must(t, 200, "3.0", admin, "GET", "/types/"+priv+"/os-volume-type-access", nil)["volume_type_access"].([]any)
	if len(access) != 1 || access[0].(map[string]any)["project_id"] != projA {
		t.Fatalf("access: %v", access)
	}
	names := func(token, v, query string) string {
		var out []string
		for _, x := range c.must(t, 200, v, token, "GET", "/types"+query, nil)["volume_types"].([]any) {
			out = append(out, x.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, x := range []struct{ token, v, query, want string }{
		{alice, "3.0", "?sort=name:asc", "__DEFAULT__,gold,private"},
		{bob, "3.0", "?sort=name:asc", "__DEFAULT__,gold"},
		{bob, "3.0", "?sort=name:asc&is_public=false", "__DEFAULT__,gold"}, // a user's is_public is always true
		{admin, "3.0", "?sort=name:asc", "__DEFAULT__,gold"},               // public, and shared with the admin's project
		{admin, "3.0", "?sort=name:asc&is_public=none", "__DEFAULT__,gold,private"},
		{admin, "3.0", "?is_public=false", "private"},
		{admin, "3.52", "?extra_specs=" + "%7B%27volume_backend_name%27%3A+%27lvm%27%7D", "gold"},
		{alice, "3.52", "?extra_specs=" + "%7B%27volume_backend_name%27%3A+%27lvm%27%7D", ""}, // a sensitive spec: nothing
		{alice, "3.52", "?extra_specs=" + "%7B%27multiattach%27%3A+%27%3Cis%3E+False%27%7D", "gold"},
		{alice, "3.0", "?sort=name:asc&limit=1&offset=1", "gold"},
		{admin, "3.60", "?name=gold&is_public=None", "gold"}, // how cinderclient finds a type by name
		{admin, "3.60", "?id=" + goldID, "gold"},
		{admin, "3.60", "?bogus=1", ""},                                        // not a type attribute: Cinder's empty list
		{alice, "3.0", "?name=gold&sort=name:asc", "__DEFAULT__,gold,private"}, // a user's name filter is dropped before 3.52
	} {
		if got := names(x.token, x.v, x.query); got != x.want {
			t.Errorf("types%s at %s: %s, want %s", x.query, x.v, got, x.want)
		}
	}
	page := c.must(t, 200, "3.0", alice, "GET", "/types?limit=1", nil)
	if links := page["volume_type_links"].([]any); !strings.Contains(links[0].(map[string]any)["href"].(string), "/v3/types?") {
		t.Fatalf("next link: %v", links)
	}

	// A volume of the type shows its name.
	vol := c.must(t, 202, "3.63", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "volume_type": "gold"}})["volume"].(map[string]any)
	if vol["volume_type"] != "gold" || vol["volume_type_id"] != goldID {
		t.Fatalf("volume of a type: %v", vol)
	}
	// Update and delete.
	upd := c.must(t, 200, "3.0", admin, "PUT", "/types/"+goldID, map[string]any{"volume_type": map[string]any{"description": "faster"}})["volume_type"].(map[string]any)
	if upd["description"] != "faster" {
		t.Fatalf("update: %v", upd)
	}
	wantError(t, c.call(t, "3.0", admin, "DELETE", "/types/"+goldID, nil), 400, "badRequest")
	if r := c.call(t, "3.0", admin, "DELETE", "/types/"+priv, nil); r.Code != 202 {
		t.Fatalf("delete: %s", r)
	}
}

// Type refusals: Cinder's statuses and messages, nothing changed.
func TestVolumeTypeRefusals(t *testing.T) {
	c := newAPI(t)
	gold := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}})["volume_type"].(map[string]any)["id"].(string)
	for _, x := range []struct {
		token, method, path string
		body                any
		code                int
		key, msg            string
	}{
		{alice, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "x"}}, 403, "forbidden",
			"Policy doesn't allow volume_extension:type_create to be performed."},
		{admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": " "}}, 400, "badRequest",
			"An invalid 'name' value was provided. The 'name' can not be empty."},
		{admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "x"}, "type": "y"}, 400, "badRequest",
			"Additional properties are not allowed ('type' was unexpected)"},
		{admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}}, 409, "conflictingRequest", "gold"},
		{admin, "PUT", "/types/" + gold, map[string]any{"volume_type": map[string]any{}}, 400, "badRequest",
			"Specify volume type name, description, is_public or a combination thereof."},
		{alice, "PUT", "/types/" + gold, map[string]any{"volume_type": map[string]any{"name": "y"}}, 403, "forbidden",
			"Policy doesn't allow volume_extension:type_update to be performed."},
		{alice, "DELETE", "/types/" + gold, nil, 403, "forbidden", "Policy doesn't allow volume_extension:type_delete to be performed."},
		{admin, "DELETE", "/types/nope", nil, 404, "itemNotFound", "Volume type nope could not be found."},
		{admin, "POST", "/types/" + gold + "/action", map[string]any{"addProjectAccess": map[string]any{"project": projA}}, 400, "badRequest",
			"Invalid volume type: Type access modification is not applicable to public volume type."},
		{admin, "POST", "/types/" + gold + "/action", map[string]any{"addProjectAccess": map[string]any{"project": "nope"}}, 400, "badRequest",
			"Invalid input for field/attribute project. Value: nope. 'nope' is not a 'uuid'"},
		{admin, "POST", "/types/" + gold + "/action", map[string]any{"bogus": map[string]any{}}, 400, "badRequest", "There is no such action: bogus."},
		{alice, "GET", "/types/" + gold + "/os-volume-type-access", nil, 403, "forbidden",
			"Policy doesn't allow volume_extension:volume_type_access:get_all_for_type to be performed."},
		{admin, "GET", "/types/" + gold + "/os-volume-type-access", nil, 404, "itemNotFound", "Access list not available for public volume types."},
		{alice, "POST", "/types/" + gold + "/extra_specs", map[string]any{"extra_specs": map[string]any{"a": "b"}}, 403, "forbidden",
			"Policy doesn't allow volume_extension:types_extra_specs:create to be performed."},
		{admin, "POST", "/types/" + gold + "/extra_specs", map[string]any{"extra_specs": map[string]any{"a b": "c"}}, 400, "badRequest",
			"'a b' does not match any of the regexes: '^[a-zA-Z0-9-_:.]{1,255}$'"},
		{admin, "PUT", "/types/" + gold + "/extra_specs/a", map[string]any{"b": "c"}, 400, "badRequest", "Request body and URI mismatch"},
		{admin, "DELETE", "/types/" + gold + "/extra_specs/zz", nil, 404, "itemNotFound", "has no extra specs with key zz."},
		{alice, "GET", "/types?bogus=1", nil, 200, "", ""},
		{admin, "GET", "/types?is_public=maybe", nil, 400, "badRequest", "Invalid is_public filter [maybe]"},
	} {
		t.Run(fmt.Sprintf("%s %s %v", x.method, x.path, x.body), func(t *testing.T) {
			before := c.typesDump(t)
			r := c.call(t, "3.0", x.token, x.method, x.path, x.body)
			if x.code == 200 {
				if r.Code != 200 {
					t.Fatalf("got %s", r)
				}
			} else {
				wantError(t, r, x.code, x.key, x.msg)
			}
			if after := c.typesDump(t); after != before {
				t.Fatalf("types changed:\n%s\n%s", before, after)
			}
		})
	}
	wantError(t, c.call(t, "3.52", alice, "GET", "/types?bogus=1", nil), 400, "badRequest", "Invalid filters bogus are found in query options.")
	wantError(t, c.call(t, "3.52", admin, "GET", "/types?description=x", nil), 400, "badRequest", "The volume type filters description are not supported yet.")
}
