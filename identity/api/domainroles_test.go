package api_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestDomainSpecificRoles: a domain-specific role serves only to imply
// others. Keystone 22 never lists one among effective role assignments
// nor puts one in a token, but lists and grants what it implies, each
// with the links of the assignment it comes from. The effective listing
// below is the one a Keystone 22 answered for the same grants, row for
// row (roles, targets, inheritance marks and links, ids read as names).
func TestDomainSpecificRoles(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			mk := func(path, key string, body map[string]any) string {
				t.Helper()
				return str(t, c.Must(t, http.StatusCreated, "POST", path, admin, map[string]any{key: body}), key+".id")
			}
			d2 := mk("/v3/domains", "domain", map[string]any{"name": "d2"})
			p3 := c.mkProject(t, admin, "p3", "default")
			p4 := mk("/v3/projects", "project", map[string]any{"name": "p4", "parent_id": p3})
			u2 := c.mkUser(t, admin, "u2", "pw2", "default")
			g2 := mk("/v3/groups", "group", map[string]any{"name": "g2"})
			c.Must(t, http.StatusNoContent, "PUT", "/v3/groups/"+g2+"/users/"+u2, admin, nil)
			drA := mk("/v3/roles", "role", map[string]any{"name": "drA", "domain_id": "default"})
			drB := mk("/v3/roles", "role", map[string]any{"name": "drB", "domain_id": d2})
			member, reader := c.roleID(t, "member"), c.roleID(t, "reader")
			c.Must(t, http.StatusCreated, "PUT", "/v3/roles/"+drA+"/implies/"+member, admin, nil)
			c.Must(t, http.StatusCreated, "PUT", "/v3/roles/"+drB+"/implies/"+drA, admin, nil)
			for _, p := range []string{
				"/v3/projects/" + p3 + "/users/" + u2 + "/roles/" + drA,
				"/v3/OS-INHERIT/projects/" + p3 + "/groups/" + g2 + "/roles/" + drA + "/inherited_to_projects",
				"/v3/domains/default/users/" + u2 + "/roles/" + drB,
				"/v3/OS-INHERIT/domains/default/users/" + u2 + "/roles/" + member + "/inherited_to_projects",
				"/v3/OS-INHERIT/domains/default/users/" + u2 + "/roles/" + drB + "/inherited_to_projects",
			} {
				c.Must(t, http.StatusNoContent, "PUT", p, admin, nil)
			}
			names := map[string]string{p3: "p3", p4: "p4", u2: "u2", g2: "g2", drA: "drA", drB: "drB", member: "member", reader: "reader",
				c.AdminProject.ID: "admin", "default": "default"}
			got := effectiveRows(t, c, admin, "?effective&user.id="+u2, names)
			var want []string
			for _, p := range []string{"admin", "p3", "p4"} {
				want = append(want,
					`member project:`+p+` projects {"assignment":"/OS-INHERIT/domains/default/users/u2/roles/drA/inherited_to_projects","prior_role":"/prior_role/member/implies/drA"}`,
					`member project:`+p+` projects {"assignment":"/OS-INHERIT/domains/default/users/u2/roles/member/inherited_to_projects"}`,
					`reader project:`+p+` projects {"assignment":"/OS-INHERIT/domains/default/users/u2/roles/member/inherited_to_projects","prior_role":"/prior_role/reader/implies/member"}`)
			}
			want = append(want,
				`member domain:default  {"assignment":"/domains/default/users/u2/roles/drA","prior_role":"/prior_role/member/implies/drA"}`,
				`reader domain:default  {"assignment":"/domains/default/users/u2/roles/member","prior_role":"/prior_role/reader/implies/member"}`,
				`member project:p3  {"assignment":"/projects/p3/users/u2/roles/drA","prior_role":"/prior_role/member/implies/drA"}`,
				`reader project:p3  {"assignment":"/projects/p3/users/u2/roles/member","prior_role":"/prior_role/reader/implies/member"}`,
				`member project:p4 projects {"assignment":"/OS-INHERIT/projects/p3/groups/g2/roles/drA/inherited_to_projects","membership":"/groups/g2/users/u2","prior_role":"/prior_role/member/implies/drA"}`,
				`reader project:p4 projects {"assignment":"/OS-INHERIT/projects/p3/groups/g2/roles/member/inherited_to_projects","membership":"/groups/g2/users/u2","prior_role":"/prior_role/reader/implies/member"}`)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("effective assignments of u2:\n%s\nwant (Keystone 22's):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// Filtering by a domain-specific role finds nothing effective;
			// not effective, the grants are there.
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?effective&role.id="+drA, admin, nil), "role_assignments"); len(got) != 0 {
				t.Errorf("effective assignments of drA: %v", got)
			}
			named := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?include_names&role.id="+drA, admin, nil), "role_assignments")
			if len(named) != 2 || at(named[0], "role.name") != "drA" || at(named[0], "role.domain.id") != "default" || at(named[0], "role.domain.name") != "Default" {
				t.Errorf("assignments of drA: %v", named)
			}

			// Tokens carry what the domain roles imply, never them.
			for _, scope := range []map[string]any{projectScope(p3), projectScope(p4), domainScope("default")} {
				tok := c.issue(t, passwordAuth("u2", "pw2", scope), "")
				if tok.Code != http.StatusCreated {
					t.Fatalf("u2's token on %v: %s", scope, tok)
				}
				if got := ids(t, tok.JSON(t), "token.roles", "name"); !slices.Equal(got, []string{"member", "reader"}) {
					t.Errorf("u2's roles on %v: %v", scope, got)
				}
			}

			// A user holding only a domain role that implies nothing holds
			// nothing: no token, no project to scope to.
			drC := mk("/v3/roles", "role", map[string]any{"name": "drC", "domain_id": "default"})
			u3 := c.mkUser(t, admin, "u3", "pw3", "default")
			c.Must(t, http.StatusNoContent, "PUT", "/v3/projects/"+p3+"/users/"+u3+"/roles/"+drC, admin, nil)
			wantError(t, c.issue(t, passwordAuth("u3", "pw3", projectScope(p3)), ""), 401, "")
			unscoped := c.token(t, "u3", "pw3", nil)
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/auth/projects", unscoped, nil), "projects"); len(got) != 0 {
				t.Errorf("u3's projects: %v", got)
			}
			if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments?effective&user.id="+u3, admin, nil), "role_assignments"); len(got) != 0 {
				t.Errorf("u3's effective assignments: %v", got)
			}

			// A trust may delegate a domain role the trustor holds (Keystone
			// checks the trustor's roles with strip_domain_roles=False); the
			// trust's token carries only what it implies.
			u2tok := c.token(t, "u2", "pw2", projectScope(p3))
			tr := c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", u2tok, map[string]any{"trust": map[string]any{
				"trustor_user_id": u2, "trustee_user_id": c.Admin.ID, "project_id": p3, "impersonation": false,
				"roles": []any{map[string]any{"id": drA}}}})
			trusted := c.issue(t, map[string]any{"auth": map[string]any{
				"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": c.token(t, "admin", adminPassword, nil)}},
				"scope":    map[string]any{"OS-TRUST:trust": map[string]any{"id": str(t, tr, "trust.id")}}}}, "")
			if trusted.Code != http.StatusCreated {
				t.Fatalf("trust-scoped token: %s", trusted)
			}
			if got := ids(t, trusted.JSON(t), "token.roles", "name"); !slices.Equal(got, []string{"member", "reader"}) {
				t.Errorf("the trust's token roles: %v", got)
			}
		})
	}
}

// effectiveRows lists GET /v3/role_assignments<query> as sorted lines:
// role, scope, inheritance mark and links, ids written as names and
// links without the API's base.
func effectiveRows(t *testing.T, c *cloud, tok, query string, names map[string]string) []string {
	t.Helper()
	ids := regexp.MustCompile(`[0-9a-f]{32}|default`)
	name := func(s string) string {
		return ids.ReplaceAllStringFunc(s, func(id string) string {
			if n, ok := names[id]; ok {
				return n
			}
			return id
		})
	}
	var rows []string
	for _, x := range list(t, c.Must(t, http.StatusOK, "GET", "/v3/role_assignments"+query, tok, nil), "role_assignments") {
		var target string
		switch {
		case has(x, "scope.project"):
			target = "project:" + name(str(t, x, "scope.project.id"))
		case has(x, "scope.domain"):
			target = "domain:" + name(str(t, x, "scope.domain.id"))
		default:
			target = "system"
		}
		links := map[string]string{}
		for k, v := range at(x, "links").(map[string]any) {
			links[k] = name(strings.TrimPrefix(v.(string), c.URL+"/v3"))
		}
		l, _ := json.Marshal(links)
		inherited, _ := at(x, "scope.OS-INHERIT:inherited_to").(string)
		rows = append(rows, name(str(t, x, "role.id"))+" "+target+" "+inherited+" "+string(l))
	}
	slices.Sort(rows)
	return rows
}

// TestDomainSpecificRolesBadInput: Keystone's refusals of domain-specific
// roles where they cannot go, each changing nothing.
func TestDomainSpecificRolesBadInput(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	mk := func(path, key string, body map[string]any) string {
		t.Helper()
		return str(t, c.Must(t, http.StatusCreated, "POST", path, admin, map[string]any{key: body}), key+".id")
	}
	d2 := mk("/v3/domains", "domain", map[string]any{"name": "d2"})
	p := c.mkProject(t, admin, "p", "default")
	u := c.mkUser(t, admin, "u", "pw", "default")
	g := mk("/v3/groups", "group", map[string]any{"name": "g"})
	dr := mk("/v3/roles", "role", map[string]any{"name": "dr", "domain_id": "default"})
	other := mk("/v3/roles", "role", map[string]any{"name": "other", "domain_id": d2})
	member, adminRole := c.roleID(t, "member"), c.roleID(t, "admin")
	before := c.snapshot(t, admin)
	mismatch := "Project " + p + " must be in the same domain as the role " + other + " being assigned."
	system := "Role " + dr + " is a domain-specific role. Unable to use a domain-specific role in a system assignment."
	for _, tt := range []struct {
		name, path string
		code       int
		msg        string
	}{
		{"another domain's role on a project", "/v3/projects/" + p + "/users/" + u + "/roles/" + other, 403, mismatch},
		{"another domain's role on a project, to a group", "/v3/projects/" + p + "/groups/" + g + "/roles/" + other, 403, mismatch},
		{"another domain's role inherited on a project", "/v3/OS-INHERIT/projects/" + p + "/users/" + u + "/roles/" + other + "/inherited_to_projects", 403, mismatch},
		{"a domain role on the system", "/v3/system/users/" + u + "/roles/" + dr, 400, system},
		{"a domain role on the system, to a group", "/v3/system/groups/" + g + "/roles/" + dr, 400, system},
		{"a global role implying a domain role", "/v3/roles/" + member + "/implies/" + dr, 403, dr + " cannot be an implied roles."},
		{"a role implying admin", "/v3/roles/" + dr + "/implies/" + adminRole, 403, adminRole + " cannot be an implied roles."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Do(t, "PUT", tt.path, admin, nil), tt.code, tt.msg)
		})
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("refused calls changed the state:\n%s", apitest.LineDiff(before, after))
	}
	// What Keystone allows: another domain's role on a domain, and a
	// domain role implying another domain's.
	c.Must(t, http.StatusNoContent, "PUT", "/v3/domains/default/users/"+u+"/roles/"+other, admin, nil)
	c.Must(t, http.StatusCreated, "PUT", "/v3/roles/"+other+"/implies/"+dr, admin, nil)
}

// TestOpenStackCLIDomainRoles is the client proof of domain-specific
// roles: the openstack CLI makes one (implying member), grants it on a
// project, and lists the user's effective assignments (member and
// reader, not the domain role); its grant on the system is Keystone's
// 400.
func TestOpenStackCLIDomainRoles(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	c.openstack(t, bin, "project", "create", "dp")
	c.openstack(t, bin, "user", "create", "du", "--password", "du-pw")
	var role map[string]any
	c.openstackJSON(t, bin, &role, "role", "create", "--domain", "default", "helper")
	if role["domain_id"] != "default" {
		t.Fatalf("role create --domain: %v", role)
	}
	// openstack implied role create finds roles in GET /v3/roles, which
	// lists global roles only (Keystone's too): the implication is made
	// through the API.
	c.Must(t, http.StatusCreated, "PUT", "/v3/roles/"+role["id"].(string)+"/implies/"+c.roleID(t, "member"), c.adminToken(t), nil)
	c.openstack(t, bin, "role", "add", "--project", "dp", "--user", "du", "--role-domain", "default", "helper")
	var as []map[string]any
	c.openstackJSON(t, bin, &as, "role", "assignment", "list", "--user", "du", "--names")
	if len(as) != 1 || as[0]["Role"] != "helper" {
		t.Errorf("role assignment list: %v", as)
	}
	c.openstackJSON(t, bin, &as, "role", "assignment", "list", "--effective", "--user", "du", "--names")
	var roles []string
	for _, a := range as {
		roles = append(roles, a["Role"].(string))
	}
	if slices.Sort(roles); !slices.Equal(roles, []string{"member", "reader"}) {
		t.Errorf("effective roles: %v (%v)", roles, as)
	}
	cmd := exec.Command(bin, "role", "add", "--system", "all", "--user", "du", "--role-domain", "default", "helper")
	cmd.Env = c.openstackEnv(t)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Unable to use a domain-specific role in a system assignment.") {
		t.Errorf("role add --system with a domain role: %v\n%s", err, out)
	}
}
