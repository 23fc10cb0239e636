package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// TestInheritedRoles drives OS-INHERIT on both engines: a grant on a
// domain inherited to its projects (grant, check, list, revoke), one on
// a project inherited to its subtree, their place in role_assignments
// with and without effective, and the tokens they allow.
func TestInheritedRoles(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			f := newTenants(t, c)
			dave := c.mkUser(t, f.admin, "dave", "dave-pw", "default")
			inh := "/v3/OS-INHERIT/domains/default/users/" + dave + "/roles/"
			c.Must(t, http.StatusNoContent, "PUT", inh+f.member+"/inherited_to_projects", f.admin, nil)
			for _, m := range []string{"HEAD", "GET"} {
				if r := c.Do(t, m, inh+f.member+"/inherited_to_projects", f.admin, nil); r.Code != http.StatusNoContent {
					t.Errorf("%s check: %s", m, r)
				}
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", inh+"inherited_to_projects", f.admin, nil), "roles", "id"); !slices.Equal(got, []string{f.member}) {
				t.Errorf("inherited grants = %v", got)
			}
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/domains/default/users/"+dave+"/roles", f.admin, nil), "roles"); len(got) != 0 {
				t.Errorf("direct grants on the domain = %v", got)
			}

			// Not effective: the assignment as stored, marked inherited.
			as := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?user.id="+dave, f.admin, nil), "role_assignments")
			if len(as) != 1 || at(as[0], "scope.domain.id") != "default" || at(as[0], "scope.OS-INHERIT:inherited_to") != "projects" {
				t.Errorf("role_assignments = %v", as)
			}
			// Effective: the role and what it implies on every project of
			// the domain, none on the domain itself; each marked inherited
			// and linked to the domain's assignment, as Keystone's.
			eff := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?effective&user.id="+dave, f.admin, nil), "role_assignments")
			projects := map[string][]string{}
			link := c.URL + "/v3/OS-INHERIT/domains/default/users/" + dave + "/roles/" + f.member + "/inherited_to_projects"
			for _, x := range eff {
				if has(x, "scope.domain") || at(x, "scope.OS-INHERIT:inherited_to") != "projects" || at(x, "links.assignment") != link {
					t.Errorf("effective lists %v", x)
				}
				p := str(t, x, "scope.project.id")
				projects[p] = append(projects[p], str(t, x, "role.id"))
			}
			for _, p := range []string{f.a, f.b, c.AdminProject.ID} {
				if got := sorted(projects[p]); !slices.Equal(got, sorted([]string{f.member, f.reader})) {
					t.Errorf("effective roles on %s = %v", p, got)
				}
			}
			// A token for any project of the domain, with the role; none
			// for the domain.
			tok := c.issue(t, passwordAuth("dave", "dave-pw", projectScope(f.b)), "")
			if tok.Code != http.StatusCreated || !slices.Equal(ids(t, tok.JSON(t), "token.roles", "name"), []string{"member", "reader"}) {
				t.Fatalf("dave's token on B: %s", tok)
			}
			wantError(t, c.issue(t, passwordAuth("dave", "dave-pw", domainScope("default")), ""), http.StatusUnauthorized, "")

			// Inherited to a project's subtree: the projects below it, not
			// the project itself.
			child := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", f.admin,
				map[string]any{"project": map[string]any{"name": "A1", "parent_id": f.a}}), "project.id")
			erin := c.mkUser(t, f.admin, "erin", "erin-pw", "default")
			c.Must(t, http.StatusNoContent, "PUT", "/v3/OS-INHERIT/projects/"+f.a+"/users/"+erin+"/roles/"+f.reader+"/inherited_to_projects", f.admin, nil)
			sub := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?effective&include_subtree&scope.project.id="+f.a+"&user.id="+erin,
				f.admin, nil), "role_assignments")
			if len(sub) != 1 || at(sub[0], "scope.project.id") != child || at(sub[0], "role.id") != f.reader {
				t.Errorf("erin's effective roles under A = %v", sub)
			}
			wantError(t, c.issue(t, passwordAuth("erin", "erin-pw", projectScope(f.a)), ""), http.StatusUnauthorized, "")
			if r := c.issue(t, passwordAuth("erin", "erin-pw", projectScope(child)), ""); r.Code != http.StatusCreated {
				t.Errorf("erin's token on A1: %s", r)
			}

			bad := []struct {
				name, method, path string
				code               int
				msg                string
			}{
				{"no such role", "PUT", inh + "nope/inherited_to_projects", 404, "Could not find role: nope."},
				{"no such domain", "PUT", "/v3/OS-INHERIT/domains/nope/users/" + dave + "/roles/" + f.member + "/inherited_to_projects", 404, "Could not find domain"},
				{"no such user", "PUT", "/v3/OS-INHERIT/domains/default/users/nope/roles/" + f.member + "/inherited_to_projects", 404, "Could not find user"},
				{"not granted", "GET", inh + f.reader + "/inherited_to_projects", 404, "Could not find role assignment."},
				{"revoke not granted", "DELETE", inh + f.reader + "/inherited_to_projects", 404, ""},
				{"a member may not grant", "PUT", inh + f.reader + "/inherited_to_projects", 403, ""},
			}
			before := c.snapshot(t, f.admin)
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					tok := f.admin
					if tt.code == 403 {
						tok = f.alice
					}
					wantError(t, c.Do(t, tt.method, tt.path, tok, nil), tt.code, tt.msg)
				})
			}
			if after := c.snapshot(t, f.admin); after != before {
				t.Errorf("refused calls changed the state")
			}

			c.Must(t, http.StatusNoContent, "DELETE", inh+f.member+"/inherited_to_projects", f.admin, nil)
			c.Must(t, http.StatusNotFound, "GET", inh+f.member+"/inherited_to_projects", f.admin, nil)
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?effective&user.id="+dave, f.admin, nil), "role_assignments"); len(got) != 0 {
				t.Errorf("after the revoke: %v", got)
			}
		})
	}
}
