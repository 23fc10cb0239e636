package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestPolicyBlobs drives /v3/policies on both engines: create with an
// extra member, show, list with the type filters and list_limit, update
// (extra members merged), delete.
func TestPolicyBlobs(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			p := c.Must(t, http.StatusCreated, "POST", "/v3/policies", admin, map[string]any{"policy": map[string]any{
				"type": "application/json", "blob": `{"default": ""}`, "owner": "ops", "id": "ignored", "links": "ignored"}})
			id := str(t, p, "policy.id")
			if len(id) != 32 || at(p, "policy.type") != "application/json" || at(p, "policy.blob") != `{"default": ""}` ||
				at(p, "policy.owner") != "ops" || !strings.HasSuffix(str(t, p, "policy.links.self"), "/v3/policies/"+id) {
				t.Errorf("create reply: %v", p)
			}
			yaml := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/policies", admin, map[string]any{"policy": map[string]any{
				"type": "application/yaml", "blob": "default: ''"}}), "policy.id")
			if got := c.Must(t, http.StatusOK, "GET", "/v3/policies/"+id, admin, nil); at(got, "policy.owner") != "ops" || at(got, "policy.blob") != `{"default": ""}` {
				t.Errorf("show: %v", got)
			}
			for _, tt := range []struct {
				query string
				want  []string
			}{
				{"", sorted([]string{id, yaml})},
				{"?type=application/yaml", []string{yaml}},
				{"?type__endswith=json", []string{id}},
				{"?type__icontains=APPLICATION", sorted([]string{id, yaml})},
				{"?type=text/plain", nil},
			} {
				if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/policies"+tt.query, admin, nil), "policies", "id"); !slices.Equal(got, tt.want) {
					t.Errorf("list%s = %v, want %v", tt.query, got, tt.want)
				}
			}
			u := c.Must(t, http.StatusOK, "PATCH", "/v3/policies/"+id, admin, map[string]any{"policy": map[string]any{
				"blob": "{}", "team": "infra", "id": id}})
			if at(u, "policy.blob") != "{}" || at(u, "policy.type") != "application/json" || at(u, "policy.owner") != "ops" || at(u, "policy.team") != "infra" {
				t.Errorf("update reply: %v", u)
			}
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/policies/"+id, admin, nil)
			wantError(t, c.Do(t, "GET", "/v3/policies/"+id, admin, nil), 404, "Could not find policy: "+id+".")
			if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/policies", admin, nil), "policies", "id"); !slices.Equal(got, []string{yaml}) {
				t.Errorf("list after delete = %v", got)
			}
		})
	}
}

// TestPolicyBlobsBadInput: every refused call answers Keystone's status
// and message and changes nothing.
func TestPolicyBlobsBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	id := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/policies", admin, map[string]any{"policy": map[string]any{
		"type": "application/json", "blob": "{}"}}), "policy.id")
	before := c.snapshot(t, admin)
	missing := strings.Repeat("0", 32)
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"no policy", "POST", "/v3/policies", `{}`, 400, "'blob' is a required property"},
		{"policy null", "POST", "/v3/policies", `{"policy":null}`, 400, "'blob' is a required property"},
		{"policy a string", "POST", "/v3/policies", `{"policy":"x"}`, 400, "policy"},
		{"no type", "POST", "/v3/policies", `{"policy":{"blob":"{}"}}`, 400, "'type' is a required property"},
		{"no blob", "POST", "/v3/policies", `{"policy":{"type":"t"}}`, 400, "'blob' is a required property"},
		{"null blob", "POST", "/v3/policies", `{"policy":{"type":"t","blob":null}}`, 400, "policy.blob"},
		{"object blob", "POST", "/v3/policies", `{"policy":{"type":"t","blob":{}}}`, 400, "policy.blob"},
		{"number type", "POST", "/v3/policies", `{"policy":{"type":5,"blob":"{}"}}`, 400, "policy.type"},
		{"long type", "POST", "/v3/policies", `{"policy":{"type":"` + strings.Repeat("t", 256) + `","blob":"{}"}}`, 400, "policy.type"},
		{"patch empty", "PATCH", "/v3/policies/" + id, `{"policy":{}}`, 400, "at least one"},
		{"patch no policy", "PATCH", "/v3/policies/" + id, `{}`, 400, "at least one"},
		{"patch another id", "PATCH", "/v3/policies/" + id, `{"policy":{"id":"other"}}`, 400, "Cannot change policy ID"},
		{"patch null type", "PATCH", "/v3/policies/" + id, `{"policy":{"type":null}}`, 400, "policy.type"},
		{"patch a missing policy", "PATCH", "/v3/policies/" + missing, `{"policy":{"blob":"x"}}`, 404, "Could not find policy: " + missing + "."},
		{"patch a missing policy badly", "PATCH", "/v3/policies/" + missing, `{"policy":{"blob":5}}`, 400, "policy.blob"},
		{"delete a missing policy", "DELETE", "/v3/policies/" + missing, ``, 404, "Could not find policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: tt.method, Path: tt.path, Token: admin, Body: tt.body}), tt.code, tt.msg)
		})
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("refused calls changed the state:\n%s", apitest.LineDiff(before, after))
	}
}
