package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// TestUserExtraProperties: a user keeps every member that is none of its
// attributes (Keystone's extra column) and shows it at the top level, in
// create, show, list and update replies, as Keystone 22 does.
func TestUserExtraProperties(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	proj := c.mkProject(t, admin, "home", "default")
	created := c.Must(t, http.StatusCreated, "POST", "/v3/users", admin, map[string]any{"user": map[string]any{
		"name": "u1", "email": "a@b", "description": "first", "default_project_id": proj,
		"x-y:z": 1, "nested": map[string]any{"k": []any{1, "two", nil}}, "nothing": nil,
		"big": json.Number("12345678901234567890"), "tenants": []any{"hidden"},
	}})
	id := str(t, created, "user.id")
	want := map[string]any{
		"user.email": "a@b", "user.description": "first", "user.default_project_id": proj,
		"user.x_y_z": 1.0, "user.nested.k.1": "two", "user.big": 12345678901234567890.0,
	}
	check := func(t *testing.T, what string, v any, prefix string) {
		t.Helper()
		for path, w := range want {
			if got := at(v, prefix+path[len("user."):]); got != w {
				t.Errorf("%s: %s = %v, want %v", what, path, got, w)
			}
		}
		if !has(v, prefix+"nothing") || at(v, prefix+"nothing") != nil {
			t.Errorf("%s: nothing should be null", what)
		}
		if k, _ := at(v, prefix+"nested.k").([]any); len(k) != 3 || k[2] != nil {
			t.Errorf("%s: nested.k = %v, want [1 two null]", what, k)
		}
		for _, path := range []string{"tenants", "x-y:z", "extra"} {
			if has(v, prefix+path) {
				t.Errorf("%s: %s is shown: %v", what, path, at(v, prefix+path))
			}
		}
	}
	check(t, "create", created, "user.")
	check(t, "show", c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil), "user.")
	check(t, "list", c.Must(t, http.StatusOK, "GET", "/v3/users?name=u1", admin, nil), "users.0.")
	if r := c.Do(t, "GET", "/v3/users/"+id, admin, nil); !strings.Contains(string(r.Body), `"big":12345678901234567890`) {
		t.Errorf("a number's literal is not kept: %s", r.Body)
	}

	// PATCH sets each member it names, null included, names unnormalized,
	// and its reply also shows them together as "extra".
	updated := c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{
		"email": nil, "x-y": 2, "description": "second",
	}})
	for path, w := range map[string]any{"user.x-y": 2.0, "user.description": "second", "user.extra.x-y": 2.0,
		"user.extra.description": "second", "user.extra.x_y_z": 1.0, "user.x_y_z": 1.0} {
		if got := at(updated, path); got != w {
			t.Errorf("update: %s = %v, want %v", path, got, w)
		}
	}
	for _, path := range []string{"user.email", "user.extra.email"} {
		if !has(updated, path) || at(updated, path) != nil {
			t.Errorf("update: %s should be null", path)
		}
	}
	if has(updated, "user.extra.tenants") || has(updated, "user.tenants") {
		t.Errorf("update shows tenants: %v", updated)
	}
	shown := c.Must(t, http.StatusOK, "GET", "/v3/users/"+id, admin, nil)
	if has(shown, "user.extra") || !has(shown, "user.email") || at(shown, "user.x-y") != 2.0 {
		t.Errorf("show after update: %v", shown)
	}

	// Clearing the default project removes it from the user, as Keystone
	// drops a null default_project_id.
	cleared := c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+id, admin, map[string]any{"user": map[string]any{"default_project_id": nil}})
	if has(cleared, "user.default_project_id") {
		t.Errorf("default_project_id after null: %v", at(cleared, "user.default_project_id"))
	}
}

// TestUserExtraBadInput: what Keystone refuses about a user's extra
// properties and default project is refused with its error body, and
// changes nothing.
func TestUserExtraBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	user := c.mkUser(t, admin, "existing", "pw", "default")
	before := c.snapshot(t, admin)
	tests := []struct {
		name, method, path, body string
		want                     int
		msg                      string
	}{
		{"description a number", "POST", "/v3/users", `{"user":{"name":"x","description":5}}`, 400, "'user.description'"},
		{"description an object", "PATCH", "/v3/users/" + user, `{"user":{"description":{}}}`, 400, "'user.description'"},
		{"default project a domain", "POST", "/v3/users", `{"user":{"name":"x","default_project_id":"default"}}`, 400,
			"User's default project ID cannot be a domain ID: default"},
		{"default project a domain on update", "PATCH", "/v3/users/" + user, `{"user":{"default_project_id":"default"}}`, 400,
			"User's default project ID cannot be a domain ID: default"},
		{"default project not an id", "POST", "/v3/users", `{"user":{"name":"x","default_project_id":"a b"}}`, 400, "'user.default_project_id'"},
		{"name normalized into an attribute", "POST", "/v3/users", `{"user":{"name":"x","domain-id":"other"}}`, 400, "'user.domain-id'"},
		{"bad extra with a good update", "PATCH", "/v3/users/" + user, `{"user":{"email":"new@x","description":[]}}`, 400, "'user.description'"},
		{"extra on an unknown user", "PATCH", "/v3/users/nope", `{"user":{"email":"a@b"}}`, 404, "nope"},
		{"extra that is not JSON", "POST", "/v3/users", `{"user":{"name":"x","email":a@b}}`, 400, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Call(t, call{Method: tt.method, Path: tt.path, Token: admin, Body: tt.body})
			wantError(t, r, tt.want, tt.msg)
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a rejected call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}
