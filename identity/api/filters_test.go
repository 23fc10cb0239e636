package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestListFilters: every filter Keystone's list calls take is applied (or
// refused with a 400 when gostack cannot apply it); none is ignored.
// Each case lists by name, so the wanted results read as names.
func TestListFilters(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	projTok := c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	mk := func(path, key string, body map[string]any) string {
		t.Helper()
		return str(t, c.Must(t, http.StatusCreated, "POST", path, admin, map[string]any{key: body}), key+".id")
	}
	alpha := mk("/v3/projects", "project", map[string]any{"name": "alpha", "tags": []string{"x", "y"}})
	mk("/v3/projects", "project", map[string]any{"name": "beta", "tags": []string{"y"}})
	mk("/v3/projects", "project", map[string]any{"name": "gamma"})
	delta := mk("/v3/projects", "project", map[string]any{"name": "delta", "parent_id": alpha, "tags": []string{"z"}})
	mk("/v3/projects", "project", map[string]any{"name": "off", "enabled": false})
	mk("/v3/domains", "domain", map[string]any{"name": "shut", "enabled": false})

	alice := mk("/v3/users", "user", map[string]any{"name": "alice", "password": "pw"})
	bob := mk("/v3/users", "user", map[string]any{"name": "bob", "enabled": false})
	u, err := c.Store.GetUser(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2029, 6, 1, 12, 0, 0, 0, time.UTC)
	u.PasswordExpiresAt = &exp
	if _, err := c.Store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	devs := mk("/v3/groups", "group", map[string]any{"name": "devs"})
	mk("/v3/groups", "group", map[string]any{"name": "ops"})
	for _, m := range []string{alice, bob} {
		c.Must(t, http.StatusNoContent, "PUT", "/v3/groups/"+devs+"/users/"+m, admin, nil)
	}
	c.grant(t, admin, "projects/"+alpha, alice, "member")
	c.grant(t, admin, "projects/"+delta, alice, "reader")
	c.Must(t, http.StatusNoContent, "PUT", "/v3/projects/"+alpha+"/groups/"+devs+"/roles/"+c.roleID(t, "reader"), admin, nil)
	c.Must(t, http.StatusCreated, "POST", "/v3/regions", admin, map[string]any{"region": map[string]any{"id": "RegionOneA", "parent_region_id": "RegionOne"}})
	c.Must(t, http.StatusCreated, "POST", "/v3/regions", admin, map[string]any{"region": map[string]any{"id": "RegionTwo"}})
	for _, n := range []string{"ci", "deploy"} {
		c.Must(t, http.StatusCreated, "POST", "/v3/users/"+c.Admin.ID+"/application_credentials", projTok,
			map[string]any{"application_credential": map[string]any{"name": n}})
	}
	allProjects := []string{"admin", "alpha", "beta", "delta", "gamma", "off"}

	tests := []struct {
		name, path, key string
		field           string   // what to list of each item ("name" unless set)
		want            []string // sorted
		token           string   // default: admin
	}{
		// /v3/projects: tags, tags-any, not-tags, not-tags-any
		// (keystone/api/projects.py, resource/backends/sql.py)
		{"projects with all tags", "/v3/projects?tags=x,y", "projects", "", []string{"alpha"}, ""},
		{"projects with a tag", "/v3/projects?tags=y", "projects", "", []string{"alpha", "beta"}, ""},
		{"projects with any tag", "/v3/projects?tags-any=x,z", "projects", "", []string{"alpha", "delta"}, ""},
		{"projects without all tags", "/v3/projects?not-tags=x,y", "projects", "", []string{"admin", "beta", "delta", "gamma", "off"}, ""},
		{"projects without any tag", "/v3/projects?not-tags-any=x,z", "projects", "", []string{"admin", "beta", "gamma", "off"}, ""},
		{"projects with one tag but not another", "/v3/projects?tags=y&not-tags=x", "projects", "", []string{"beta"}, ""},
		{"projects without either", "/v3/projects?not-tags=y&not-tags-any=z", "projects", "", []string{"admin", "gamma", "off"}, ""},
		{"projects with an unknown tag", "/v3/projects?tags=nope&not-tags=x", "projects", "", nil, ""},
		{"projects with the empty tag", "/v3/projects?tags=", "projects", "", nil, ""},
		// parent_id: Keystone's parent of a top-level project is its domain
		{"projects under alpha", "/v3/projects?parent_id=" + alpha, "projects", "", []string{"delta"}, ""},
		{"top-level projects", "/v3/projects?parent_id=default", "projects", "", []string{"admin", "alpha", "beta", "gamma", "off"}, ""},
		{"projects that are not domains", "/v3/projects?is_domain=false", "projects", "", allProjects, ""},
		// is_domain: Keystone's projects acting as domains, read with
		// keystone.common.utils.attr_as_boolean (any other word is true)
		{"projects acting as domains", "/v3/projects?is_domain=true", "projects", "", []string{"Default", "shut"}, ""},
		{"projects acting as domains (1)", "/v3/projects?is_domain=1", "projects", "", []string{"Default", "shut"}, ""},
		{"projects acting as domains (any word)", "/v3/projects?is_domain=maybe", "projects", "", []string{"Default", "shut"}, ""},
		{"projects acting as domains (empty)", "/v3/projects?is_domain=", "projects", "", []string{"Default", "shut"}, ""},
		{"projects acting as domains (0)", "/v3/projects?is_domain=0", "projects", "", allProjects, ""},
		{"projects acting as domains and not", "/v3/projects?is_domain=true&is_domain=false", "projects", "", nil, ""},
		{"disabled projects acting as domains", "/v3/projects?is_domain=true&enabled=false", "projects", "", []string{"shut"}, ""},
		{"projects acting as domains by name", "/v3/projects?is_domain=true&name=Default", "projects", "", []string{"Default"}, ""},
		{"projects acting as domains by name, inexact", "/v3/projects?is_domain=true&name__icontains=SH", "projects", "", []string{"shut"}, ""},
		{"projects acting as domains in a domain", "/v3/projects?is_domain=true&domain_id=default", "projects", "", nil, ""},
		{"projects acting as domains under a parent", "/v3/projects?is_domain=true&parent_id=default", "projects", "", nil, ""},
		{"projects acting as domains with a tag", "/v3/projects?is_domain=true&tags=x", "projects", "", nil, ""},
		{"projects acting as domains without a tag", "/v3/projects?is_domain=true&not-tags=x", "projects", "", []string{"Default", "shut"}, ""},
		// enabled: oslo's bool_from_string
		{"disabled projects", "/v3/projects?enabled=no", "projects", "", []string{"off"}, ""},
		{"disabled projects (false)", "/v3/projects?enabled=False", "projects", "", []string{"off"}, ""},
		{"disabled projects (0)", "/v3/projects?enabled=0", "projects", "", []string{"off"}, ""},
		{"enabled projects (yes)", "/v3/projects?enabled=yes", "projects", "", []string{"admin", "alpha", "beta", "delta", "gamma"}, ""},
		{"projects named nothing", "/v3/projects?name=", "projects", "", nil, ""},
		{"projects named alpha and beta", "/v3/projects?name=alpha&name=beta", "projects", "", nil, ""},
		// inexact filters (keystone/server/flask/common.py build_driver_hints)
		{"projects containing ph", "/v3/projects?name__contains=ph", "projects", "", []string{"alpha"}, ""},
		{"projects containing PH", "/v3/projects?name__icontains=PH", "projects", "", []string{"alpha"}, ""},
		{"projects containing PH, case-sensitive", "/v3/projects?name__contains=PH", "projects", "", nil, ""},
		{"projects ending in ta", "/v3/projects?name__endswith=ta", "projects", "", []string{"beta", "delta"}, ""},
		{"projects starting with AL", "/v3/projects?name__istartswith=AL", "projects", "", []string{"alpha"}, ""},
		{"an unknown parameter is ignored", "/v3/projects?colour=blue", "projects", "", allProjects, ""},

		// /v3/users: federation filters match no user, as in a Keystone
		// without federated users
		{"users of an identity provider", "/v3/users?idp_id=myidp", "users", "", nil, ""},
		{"users of a protocol", "/v3/users?protocol_id=saml2", "users", "", nil, ""},
		{"users with a unique id", "/v3/users?unique_id=alice", "users", "", nil, ""},
		{"users of an identity provider, inexact", "/v3/users?idp_id__contains=idp", "users", "", nil, ""},
		{"users whose password expires before 2030", "/v3/users?password_expires_at=lt:2030-01-01T00:00:00Z", "users", "", []string{"alice"}, ""},
		{"users whose password expires after 2030", "/v3/users?password_expires_at=gt:2030-01-01T00:00:00Z", "users", "", nil, ""},
		{"users whose password expires then", "/v3/users?password_expires_at=2029-06-01T12:00:00Z", "users", "", []string{"alice"}, ""},
		{"users whose password does not expire then", "/v3/users?password_expires_at=neq:2029-06-01T12:00:00Z", "users", "", nil, ""},
		{"disabled users", "/v3/users?enabled=off", "users", "", []string{"bob"}, ""},
		{"users containing li", "/v3/users?name__contains=li", "users", "", []string{"alice"}, ""},
		{"users of the default domain by prefix", "/v3/users?domain_id__startswith=def&name=bob", "users", "", []string{"bob"}, ""},

		// the other lists
		{"alice's projects named alpha", "/v3/users/" + alice + "/projects?name=alpha", "projects", "", []string{"alpha"}, ""},
		{"alice's disabled projects", "/v3/users/" + alice + "/projects?enabled=false", "projects", "", nil, ""},
		{"alice's projects in default", "/v3/users/" + alice + "/projects?domain_id=default&name__startswith=d", "projects", "", []string{"delta"}, ""},
		{"alice's groups named devs", "/v3/users/" + alice + "/groups?name=devs", "groups", "", []string{"devs"}, ""},
		{"alice's groups named ops", "/v3/users/" + alice + "/groups?name=ops", "groups", "", nil, ""},
		{"devs named alice", "/v3/groups/" + devs + "/users?name=alice", "users", "", []string{"alice"}, ""},
		{"disabled devs", "/v3/groups/" + devs + "/users?enabled=false", "users", "", []string{"bob"}, ""},
		{"devs in default", "/v3/groups/" + devs + "/users?domain_id=default", "users", "", []string{"alice", "bob"}, ""},
		{"devs whose password expires", "/v3/groups/" + devs + "/users?password_expires_at=lte:2029-06-01T12:00:00Z", "users", "", []string{"alice"}, ""},
		{"groups starting with de", "/v3/groups?name__startswith=de", "groups", "", []string{"devs"}, ""},
		{"domains named Default", "/v3/domains?name__iendswith=FAULT", "domains", "", []string{"Default"}, ""},
		{"disabled domains", "/v3/domains?enabled=f", "domains", "", []string{"shut"}, ""},
		{"roles containing mem", "/v3/roles?name__contains=mem", "roles", "", []string{"member"}, ""},
		{"regions under RegionOne", "/v3/regions?parent_region_id=RegionOne", "regions", "id", []string{"RegionOneA"}, ""},
		{"services named like KEY", "/v3/services?name__icontains=KEY", "services", "", []string{"keystone"}, ""},
		{"endpoints of RegionOne, public", "/v3/endpoints?region_id=RegionOne&interface=public", "endpoints", "interface", []string{"public"}, ""},
		{"endpoints by interface prefix", "/v3/endpoints?interface__startswith=adm", "endpoints", "interface", []string{"admin"}, ""},
		{"app creds starting with de", "/v3/users/" + c.Admin.ID + "/application_credentials?name__startswith=de", "application_credentials", "", []string{"deploy"}, projTok},

		// /v3/role_assignments
		{"assignments in alpha's subtree", "/v3/role_assignments?scope.project.id=" + alpha + "&include_subtree=true", "role_assignments", "scope.project.id",
			sorted([]string{alpha, alpha, delta}), ""},
		{"effective=0 is not effective", "/v3/role_assignments?effective=0&group.id=" + devs, "role_assignments", "group.id", []string{devs}, ""},
		{"effective assignments in alpha's subtree", "/v3/role_assignments?scope.project.id=" + alpha + "&include_subtree&effective&user.id=" + alice, "role_assignments", "scope.project.id",
			sorted([]string{alpha, alpha, alpha, delta}), ""}, // member, the reader it implies and the group's reader (Keystone lists each way), reader
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := admin
			if tt.token != "" {
				tok = tt.token
			}
			field := tt.field
			if field == "" {
				field = "name"
			}
			b := c.Must(t, http.StatusOK, "GET", tt.path, tok, nil)
			if got := ids(t, b, tt.key, field); !slices.Equal(got, tt.want) {
				t.Errorf("%s = %v, want %v", tt.key, got, tt.want)
			}
		})
	}

	refused := []struct{ name, path, msg string }{
		{"a password expiry with an unknown operator", "/v3/users?password_expires_at=ltx:2030-01-01T00:00:00Z", "ltx"},
		{"a password expiry that is no time", "/v3/users?password_expires_at=lt:tomorrow", "Timestamp"},
		{"a group's users by a bad password expiry", "/v3/groups/" + devs + "/users?password_expires_at=gt:never", "Timestamp"},
		{"a subtree without a project", "/v3/role_assignments?include_subtree=true", "scope.project.id"},
		{"a domain and a project", "/v3/role_assignments?scope.domain.id=default&scope.project.id=" + alpha, "domain or project"},
		{"the system and a domain", "/v3/role_assignments?scope.system=all&scope.domain.id=default", "system or domain"},
		{"the system and a project", "/v3/role_assignments?scope.system=all&scope.project.id=" + alpha, "system or project"},
		{"a user and a group", "/v3/role_assignments?user.id=" + alice + "&group.id=" + devs, "user or group"},
		{"effective with a group", "/v3/role_assignments?effective&group.id=" + devs, "effective and group"},
		{"effective inherited on a domain", "/v3/role_assignments?effective&scope.OS-INHERIT:inherited_to=projects&scope.domain.id=default", "effective, domain and inherited"},
		{"a system other than all", "/v3/role_assignments?scope.system=some", "scope.system"},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			wantError(t, c.Do(t, "GET", tt.path, admin, nil), http.StatusBadRequest, tt.msg)
		})
	}
	t.Run("every list still answers without filters", func(t *testing.T) {
		for _, p := range []string{"/v3/projects", "/v3/users", "/v3/groups", "/v3/domains", "/v3/roles", "/v3/regions",
			"/v3/services", "/v3/endpoints", "/v3/role_assignments", "/v3/users/" + alice + "/projects", "/v3/users/" + alice + "/groups",
			"/v3/groups/" + devs + "/users"} {
			b := c.Must(t, http.StatusOK, "GET", p, admin, nil)
			key := p[strings.LastIndex(p, "/")+1:]
			if len(list(t, b, key)) == 0 {
				t.Errorf("GET %s: empty", p)
			}
		}
	})
}
