package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// Keystone's list_limit: the lists Keystone 22 limits answer the first
// ListLimit entities of what they answer without a limit, in the same
// order, with "truncated": true when some were left out; filters apply
// before the cut, whether the database (exact filters the store takes) or
// the API (every other filter) applies them. The lists Keystone 22 does
// not limit (regions, role assignments) stay whole. On both engines.
func TestListLimit(t *testing.T) {
	const limit = 3
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			must := func(method, path string, body any) map[string]any {
				return c.Must(t, http.StatusCreated, method, path, admin, body)
			}
			var users, groups []string
			for _, n := range []string{"u3", "u1", "u5", "u2", "u4"} {
				users = append(users, c.mkUser(t, admin, n, "secret-pw", "default"))
			}
			for _, n := range []string{"G2", "g4", "g1", "g3"} {
				g := str(t, must("POST", "/v3/groups", map[string]any{"group": map[string]any{"name": n}}), "group.id")
				groups = append(groups, g)
				c.Must(t, http.StatusNoContent, "PUT", "/v3/groups/"+g+"/users/"+users[0], admin, nil)
			}
			for _, u := range users[1:] {
				c.Must(t, http.StatusNoContent, "PUT", "/v3/groups/"+groups[0]+"/users/"+u, admin, nil)
			}
			for _, n := range []string{"p2", "p4", "p1", "p3", "p5"} {
				must("POST", "/v3/projects", map[string]any{"project": map[string]any{"name": n, "domain_id": "default", "tags": []string{"t"}}})
			}
			for _, n := range []string{"d2", "d1", "d3"} {
				must("POST", "/v3/domains", map[string]any{"domain": map[string]any{"name": n}})
			}
			for _, n := range []string{"r2", "r1"} {
				must("POST", "/v3/roles", map[string]any{"role": map[string]any{"name": n}})
			}
			for _, n := range []string{"nova", "glance", "cinder"} {
				svc := str(t, must("POST", "/v3/services", map[string]any{"service": map[string]any{"name": n, "type": n}}), "service.id")
				must("POST", "/v3/endpoints", map[string]any{"endpoint": map[string]any{"service_id": svc, "interface": "public",
					"url": "http://" + n + ".example.com", "region_id": "RegionOne"}})
			}
			for _, n := range []string{"r-b", "r-a", "r-c"} {
				must("POST", "/v3/regions", map[string]any{"region": map[string]any{"id": n}})
			}

			enf := policy.New()
			if err := enf.Register(policy.KeystoneDefaults()...); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer((&api.API{Auth: c.Auth, Store: c.Store, Policy: enf, ListLimit: limit}).Handler())
			t.Cleanup(srv.Close)
			limited := apitest.Client{URL: srv.URL}

			tests := []struct {
				path, key string
				limits    bool // a list Keystone 22 limits
			}{
				{"/v3/users", "users", true},
				{"/v3/users?name=u2", "users", true},
				{"/v3/users?domain_id=default&name=u2", "users", true},
				{"/v3/users?name__startswith=u", "users", true},
				{"/v3/users?name=u1&name=u2", "users", true},
				{"/v3/users?enabled=true", "users", true},
				{"/v3/users?password_expires_at=lt:2000-01-01T00:00:00Z", "users", true},
				{"/v3/groups", "groups", true},
				{"/v3/groups?name__icontains=g", "groups", true},
				{"/v3/groups/" + groups[0] + "/users", "users", true},
				{"/v3/groups/" + groups[0] + "/users?name__endswith=2", "users", true},
				{"/v3/users/" + users[0] + "/groups", "groups", true},
				{"/v3/users/" + users[0] + "/groups?name=g1", "groups", true},
				{"/v3/projects", "projects", true},
				{"/v3/projects?domain_id=default", "projects", true},
				{"/v3/projects?name__contains=p", "projects", true},
				{"/v3/projects?tags=t", "projects", true},
				{"/v3/projects?tags=t&name=p4", "projects", true},
				{"/v3/roles?domain_id=", "roles", true},
				{"/v3/endpoints?region_id=", "endpoints", true},
				{"/v3/domains", "domains", true},
				{"/v3/domains?enabled=true", "domains", true},
				{"/v3/roles", "roles", true},
				{"/v3/roles?name=r1", "roles", true},
				{"/v3/services", "services", true},
				{"/v3/services?type=nova", "services", true},
				{"/v3/endpoints", "endpoints", true},
				{"/v3/endpoints?interface=public", "endpoints", true},
				{"/v3/endpoints?region_id=RegionOne&interface=public", "endpoints", true},
				{"/v3/regions", "regions", false},
				{"/v3/role_assignments", "role_assignments", false},
			}
			for _, tt := range tests {
				t.Run(strings.TrimPrefix(tt.path, "/v3/"), func(t *testing.T) {
					whole := c.Must(t, http.StatusOK, "GET", tt.path, admin, nil)
					if _, ok := whole["truncated"]; ok {
						t.Fatalf("truncated without a limit: %v", whole)
					}
					all := inOrder(t, whole, tt.key)
					got := limited.Must(t, http.StatusOK, "GET", tt.path, admin, nil)
					want, truncated := all, false
					if tt.limits && len(all) > limit {
						want, truncated = all[:limit], true
					}
					if page := inOrder(t, got, tt.key); !slices.Equal(page, want) {
						t.Errorf("listed %v, want %v (of %v)", page, want, all)
					}
					if got["truncated"] != nil != truncated || (truncated && got["truncated"] != true) {
						t.Errorf("truncated = %v, want %v (%d of %d)", got["truncated"], truncated, len(want), len(all))
					}
					if at(got, "links.next") != nil {
						t.Errorf("links = %v: Keystone 22 has no next page", got["links"])
					}
				})
			}
			if n := len(inOrder(t, c.Must(t, http.StatusOK, "GET", "/v3/users", admin, nil), "users")); n <= limit {
				t.Fatalf("only %d users: the limit is never reached", n)
			}
		})
	}
}

// inOrder returns the ids of the list at key, in the answer's order
// (role assignments, which have none, by their role's).
func inOrder(t *testing.T, body map[string]any, key string) []string {
	t.Helper()
	var out []string
	for _, x := range list(t, body, key) {
		id, _ := at(x, "id").(string)
		if id == "" {
			id, _ = at(x, "role.id").(string)
		}
		out = append(out, id)
	}
	return out
}
