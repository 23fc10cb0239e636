package api_test

import (
	"github.com/gostack/gostack/internal/apitest"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/testenv"
)

// tenants is two projects in the Default domain: alice is a member of A,
// carol a reader of A, bob a member of B. Each member has an application
// credential on their project.
type tenants struct {
	c                    *cloud
	admin                string // system-scoped admin token
	alice, bob, carol    string // their project-scoped tokens
	aliceID, bobID       string
	carolID              string
	a, b                 string // project ids
	aliceAC, bobAC       string // application credential ids
	aliceACSecret        string
	bobCred, bobEC2      string // bob's credential id and ec2 access key
	bobTrust             string // bob's trust of member on B to the admin
	endpoint, epGroup    string // a public endpoint and an endpoint group, both associated with B
	policy               string // a policy blob
	member, reader, role string // role ids; role is "admin"
}

func newTenants(t *testing.T, c *cloud) *tenants {
	t.Helper()
	f := &tenants{c: c, admin: c.adminToken(t)}
	f.a = c.mkProject(t, f.admin, "A", "default")
	f.b = c.mkProject(t, f.admin, "B", "default")
	f.aliceID = c.mkUser(t, f.admin, "alice", "alice-pw", "default")
	f.bobID = c.mkUser(t, f.admin, "bob", "bob-pw", "default")
	f.carolID = c.mkUser(t, f.admin, "carol", "carol-pw", "default")
	c.grant(t, f.admin, "projects/"+f.a, f.aliceID, "member")
	c.grant(t, f.admin, "projects/"+f.b, f.bobID, "member")
	c.grant(t, f.admin, "projects/"+f.a, f.carolID, "reader")
	f.alice = c.token(t, "alice", "alice-pw", projectScope(f.a))
	f.bob = c.token(t, "bob", "bob-pw", projectScope(f.b))
	f.carol = c.token(t, "carol", "carol-pw", projectScope(f.a))
	mkAC := func(user, token string) (string, string) {
		b := c.Must(t, http.StatusCreated, "POST", "/v3/users/"+user+"/application_credentials", token,
			map[string]any{"application_credential": map[string]any{"name": "ci"}})
		return str(t, b, "application_credential.id"), str(t, b, "application_credential.secret")
	}
	f.aliceAC, f.aliceACSecret = mkAC(f.aliceID, f.alice)
	f.bobAC, _ = mkAC(f.bobID, f.bob)
	f.bobCred = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/credentials", f.bob,
		map[string]any{"credential": map[string]any{"user_id": f.bobID, "type": "cert", "blob": "bob's"}}), "credential.id")
	f.bobEC2 = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/users/"+f.bobID+"/credentials/OS-EC2", f.bob,
		map[string]any{"tenant_id": f.b}), "credential.access")
	f.member, f.reader, f.role = c.roleID(t, "member"), c.roleID(t, "reader"), c.roleID(t, "admin")
	f.bobTrust = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/OS-TRUST/trusts", f.bob, map[string]any{"trust": map[string]any{
		"trustor_user_id": f.bobID, "trustee_user_id": c.Admin.ID, "project_id": f.b, "impersonation": true,
		"roles": []any{map[string]any{"id": f.member}}}}), "trust.id")
	f.endpoint = ids(t, c.Must(t, http.StatusOK, "GET", "/v3/endpoints?interface=public", f.admin, nil), "endpoints", "id")[0]
	f.epGroup = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/OS-EP-FILTER/endpoint_groups", f.admin, map[string]any{
		"endpoint_group": map[string]any{"name": "public", "filters": map[string]any{"interface": "public"}}}), "endpoint_group.id")
	c.Must(t, http.StatusNoContent, "PUT", "/v3/OS-EP-FILTER/endpoint_groups/"+f.epGroup+"/projects/"+f.b, f.admin, nil)
	c.Must(t, http.StatusNoContent, "PUT", "/v3/OS-EP-FILTER/projects/"+f.b+"/endpoints/"+f.endpoint, f.admin, nil)
	f.policy = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/policies", f.admin, map[string]any{
		"policy": map[string]any{"type": "application/json", "blob": "{}"}}), "policy.id")
	return f
}

// expand fills {A}, {B}, {alice}, {bob}, {carol}, {aliceAC}, {bobAC},
// {member}, {reader} and {admin} into s.
func (f *tenants) expand(s string) string {
	return strings.NewReplacer("{A}", f.a, "{B}", f.b, "{alice}", f.aliceID, "{bob}", f.bobID, "{carol}", f.carolID,
		"{aliceAC}", f.aliceAC, "{bobAC}", f.bobAC, "{bobCred}", f.bobCred, "{bobEC2}", f.bobEC2, "{bobTrust}", f.bobTrust, "{endpoint}", f.endpoint, "{epGroup}", f.epGroup, "{policy}", f.policy, "{member}", f.member, "{reader}", f.reader, "{admin}", f.role).Replace(s)
}

// tenancyOp is one call that alice and carol must not be able to make.
// The admin runs them all afterwards, in order, and gets adminWant (the
// destructive ones come last).
type tenancyOp struct {
	name, method, path string
	body               any
	subject            string // "bob": bob's token as X-Subject-Token
	adminWant          int
}

var tenancyOps = []tenancyOp{
	{"list projects", "GET", "/v3/projects", nil, "", 200},
	{"read B", "GET", "/v3/projects/{B}", nil, "", 200},
	{"update B", "PATCH", "/v3/projects/{B}", map[string]any{"project": map[string]any{"description": "pwned"}}, "", 200},
	{"update A", "PATCH", "/v3/projects/{A}", map[string]any{"project": map[string]any{"name": "mine"}}, "", 200},
	{"list users", "GET", "/v3/users", nil, "", 200},
	{"list users by name", "GET", "/v3/users?name=bob", nil, "", 200},
	{"read bob", "GET", "/v3/users/{bob}", nil, "", 200},
	{"update bob", "PATCH", "/v3/users/{bob}", map[string]any{"user": map[string]any{"description": "pwned"}}, "", 200},
	{"update alice", "PATCH", "/v3/users/{alice}", map[string]any{"user": map[string]any{"description": "promoted"}}, "", 200},
	{"set bob's email", "PATCH", "/v3/users/{bob}", map[string]any{"user": map[string]any{"email": "mallory@evil"}}, "", 200},
	{"list B's tags", "GET", "/v3/projects/{B}/tags", nil, "", 200},
	{"check B's tag", "GET", "/v3/projects/{B}/tags/b", nil, "", 404},
	{"tag B", "PUT", "/v3/projects/{B}/tags/evil", nil, "", 201},
	{"tag A", "PUT", "/v3/projects/{A}/tags/mine", nil, "", 201},
	{"replace B's tags", "PUT", "/v3/projects/{B}/tags", map[string]any{"tags": []string{"evil"}}, "", 200},
	{"remove B's tag", "DELETE", "/v3/projects/{B}/tags/evil", nil, "", 204},
	{"clear A's tags", "DELETE", "/v3/projects/{A}/tags", nil, "", 204},
	{"create region RegionTwo", "PUT", "/v3/regions/RegionTwo", map[string]any{"region": map[string]any{}}, "", 201},
	{"list bob's projects", "GET", "/v3/users/{bob}/projects", nil, "", 200},
	{"list bob's groups", "GET", "/v3/users/{bob}/groups", nil, "", 200},
	{"create project", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "evil"}}, "", 201},
	{"create project under A", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "evil-child", "parent_id": "{A}"}}, "", 201},
	{"create user", "POST", "/v3/users", map[string]any{"user": map[string]any{"name": "evil", "password": "x"}}, "", 201},
	{"create role", "POST", "/v3/roles", map[string]any{"role": map[string]any{"name": "evil"}}, "", 201},
	{"create group", "POST", "/v3/groups", map[string]any{"group": map[string]any{"name": "evil"}}, "", 201},
	{"create domain", "POST", "/v3/domains", map[string]any{"domain": map[string]any{"name": "evil"}}, "", 201},
	{"list domains", "GET", "/v3/domains", nil, "", 200},
	{"update the domain", "PATCH", "/v3/domains/default", map[string]any{"domain": map[string]any{"description": "pwned"}}, "", 200},
	{"create service", "POST", "/v3/services", map[string]any{"service": map[string]any{"type": "evil"}}, "", 201},
	{"create region", "POST", "/v3/regions", map[string]any{"region": map[string]any{"id": "evil"}}, "", 201},
	{"list services", "GET", "/v3/services", nil, "", 200},
	{"list endpoints", "GET", "/v3/endpoints", nil, "", 200},
	{"list roles", "GET", "/v3/roles", nil, "", 200},
	{"grant alice member on B", "PUT", "/v3/projects/{B}/users/{alice}/roles/{member}", nil, "", 204},
	{"grant alice admin on A", "PUT", "/v3/projects/{A}/users/{alice}/roles/{admin}", nil, "", 204},
	{"grant carol member on A", "PUT", "/v3/projects/{A}/users/{carol}/roles/{member}", nil, "", 204},
	{"grant alice the system", "PUT", "/v3/system/users/{alice}/roles/{reader}", nil, "", 204},
	{"grant alice the domain", "PUT", "/v3/domains/default/users/{alice}/roles/{reader}", nil, "", 204},
	{"check bob's grant", "GET", "/v3/projects/{B}/users/{bob}/roles/{member}", nil, "", 204},
	{"list bob's grants", "GET", "/v3/projects/{B}/users/{bob}/roles", nil, "", 200},
	{"list role assignments", "GET", "/v3/role_assignments", nil, "", 200},
	{"list bob's role assignments", "GET", "/v3/role_assignments?user.id={bob}", nil, "", 200},
	{"list B's role assignments", "GET", "/v3/role_assignments?scope.project.id={B}&effective", nil, "", 200},
	{"list bob's app creds", "GET", "/v3/users/{bob}/application_credentials", nil, "", 200},
	{"read bob's app cred", "GET", "/v3/users/{bob}/application_credentials/{bobAC}", nil, "", 200},
	{"read bob's app cred as alice's", "GET", "/v3/users/{alice}/application_credentials/{bobAC}", nil, "", 404},
	{"create an app cred for bob", "POST", "/v3/users/{bob}/application_credentials",
		map[string]any{"application_credential": map[string]any{"name": "stolen"}}, "", 403},
	{"delete bob's app cred as alice's", "DELETE", "/v3/users/{alice}/application_credentials/{bobAC}", nil, "", 404},
	{"read bob's credential", "GET", "/v3/credentials/{bobCred}", nil, "", 200},
	{"update bob's credential", "PATCH", "/v3/credentials/{bobCred}", map[string]any{"credential": map[string]any{"blob": "pwned"}}, "", 200},
	{"create a credential for bob", "POST", "/v3/credentials",
		map[string]any{"credential": map[string]any{"user_id": "{bob}", "type": "cert", "blob": "planted"}}, "", 201},
	{"list bob's ec2 credentials", "GET", "/v3/users/{bob}/credentials/OS-EC2", nil, "", 200},
	{"read bob's ec2 credential", "GET", "/v3/users/{bob}/credentials/OS-EC2/{bobEC2}", nil, "", 200},
	{"read bob's ec2 credential as alice's", "GET", "/v3/users/{alice}/credentials/OS-EC2/{bobEC2}", nil, "", 404},
	{"create an ec2 credential for bob", "POST", "/v3/users/{bob}/credentials/OS-EC2", map[string]any{"tenant_id": "{B}"}, "", 201},
	{"get a token with bob's ec2 key", "POST", "/v3/ec2tokens",
		map[string]any{"credentials": map[string]any{"access": "{bobEC2}", "signature": "guess", "host": "h", "verb": "GET", "path": "/",
			"params": map[string]any{"SignatureVersion": "2"}}}, "", 401},
	{"delete bob's ec2 credential as alice's", "DELETE", "/v3/users/{alice}/credentials/OS-EC2/{bobEC2}", nil, "", 404},
	{"list trusts", "GET", "/v3/OS-TRUST/trusts", nil, "", 200},
	{"list bob's trusts", "GET", "/v3/OS-TRUST/trusts?trustor_user_id={bob}", nil, "", 200},
	{"read bob's trust", "GET", "/v3/OS-TRUST/trusts/{bobTrust}", nil, "", 200},
	{"check bob's trust", "HEAD", "/v3/OS-TRUST/trusts/{bobTrust}", nil, "", 200},
	{"list bob's trust's roles", "GET", "/v3/OS-TRUST/trusts/{bobTrust}/roles", nil, "", 200},
	{"check bob's trust's role", "GET", "/v3/OS-TRUST/trusts/{bobTrust}/roles/{member}", nil, "", 200},
	{"list endpoint groups", "GET", "/v3/OS-EP-FILTER/endpoint_groups", nil, "", 200},
	{"read the endpoint group", "GET", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}", nil, "", 200},
	{"create an endpoint group", "POST", "/v3/OS-EP-FILTER/endpoint_groups", map[string]any{"endpoint_group": map[string]any{
		"name": "mine", "filters": map[string]any{"interface": "admin"}}}, "", 201},
	{"rename the endpoint group", "PATCH", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}", map[string]any{"endpoint_group": map[string]any{"name": "pwned"}}, "", 200},
	{"list the group's endpoints", "GET", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}/endpoints", nil, "", 200},
	{"list the group's projects", "GET", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}/projects", nil, "", 200},
	{"check the group in B", "GET", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}/projects/{B}", nil, "", 200},
	{"add the group to A", "PUT", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}/projects/{A}", nil, "", 204},
	{"list B's endpoints", "GET", "/v3/OS-EP-FILTER/projects/{B}/endpoints", nil, "", 200},
	{"list B's endpoint groups", "GET", "/v3/OS-EP-FILTER/projects/{B}/endpoint_groups", nil, "", 200},
	{"list the endpoint's projects", "GET", "/v3/OS-EP-FILTER/endpoints/{endpoint}/projects", nil, "", 200},
	{"check the endpoint in B", "HEAD", "/v3/OS-EP-FILTER/projects/{B}/endpoints/{endpoint}", nil, "", 204},
	{"add the endpoint to A", "PUT", "/v3/OS-EP-FILTER/projects/{A}/endpoints/{endpoint}", nil, "", 204},
	{"remove the endpoint from B", "DELETE", "/v3/OS-EP-FILTER/projects/{B}/endpoints/{endpoint}", nil, "", 204},
	{"remove the group from B", "DELETE", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}/projects/{B}", nil, "", 204},
	{"delete the endpoint group", "DELETE", "/v3/OS-EP-FILTER/endpoint_groups/{epGroup}", nil, "", 204},
	{"list policies", "GET", "/v3/policies", nil, "", 200},
	{"read the policy", "GET", "/v3/policies/{policy}", nil, "", 200},
	{"create a policy", "POST", "/v3/policies", map[string]any{"policy": map[string]any{"type": "t", "blob": "{}"}}, "", 201},
	{"update the policy", "PATCH", "/v3/policies/{policy}", map[string]any{"policy": map[string]any{"blob": "pwned"}}, "", 200},
	{"delete the policy", "DELETE", "/v3/policies/{policy}", nil, "", 204},
	{"create a trust as bob", "POST", "/v3/OS-TRUST/trusts", map[string]any{"trust": map[string]any{"trustor_user_id": "{bob}",
		"trustee_user_id": "{alice}", "project_id": "{B}", "impersonation": true, "roles": []any{map[string]any{"name": "member"}}}}, "", 403},
	{"delete bob's trust", "DELETE", "/v3/OS-TRUST/trusts/{bobTrust}", nil, "", 204},
	{"delete bob's ec2 credential", "DELETE", "/v3/users/{bob}/credentials/OS-EC2/{bobEC2}", nil, "", 204},
	{"delete bob's credential", "DELETE", "/v3/credentials/{bobCred}", nil, "", 204},
	{"validate bob's token", "GET", "/v3/auth/tokens", nil, "bob", 200},
	{"check bob's token", "HEAD", "/v3/auth/tokens", nil, "bob", 200},
	{"delete bob's app cred", "DELETE", "/v3/users/{bob}/application_credentials/{bobAC}", nil, "", 204},
	{"revoke bob's token", "DELETE", "/v3/auth/tokens", nil, "bob", 204},
	{"revoke alice's membership", "DELETE", "/v3/projects/{A}/users/{alice}/roles/{member}", nil, "", 204},
	{"reset bob's password", "PATCH", "/v3/users/{bob}", map[string]any{"user": map[string]any{"password": "pwned"}}, "", 200},
	{"disable bob", "PATCH", "/v3/users/{bob}", map[string]any{"user": map[string]any{"enabled": false}}, "", 200},
	{"delete bob", "DELETE", "/v3/users/{bob}", nil, "", 204},
	{"disable B", "PATCH", "/v3/projects/{B}", map[string]any{"project": map[string]any{"enabled": false}}, "", 200},
	{"delete B", "DELETE", "/v3/projects/{B}", nil, "", 204},
}

func (f *tenants) run(t *testing.T, op tenancyOp, token string) reply {
	t.Helper()
	x := call{Method: op.method, Path: f.expand(op.path), Token: token}
	if op.body != nil {
		x.Body = expandBody(f, op.body)
	}
	if op.subject == "bob" {
		x.Subject = f.bob
	}
	return f.c.Call(t, x)
}

// expandBody fills the placeholders in a body's string values.
func expandBody(f *tenants, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = expandBody(f, v)
		}
		return out
	case string:
		return f.expand(x)
	}
	return v
}

func TestTenancy(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f := newTenants(t, newCloudOn(t, e.DSN))
			t.Run("own scope", func(t *testing.T) { testOwnScope(t, f) })
			t.Run("denied", func(t *testing.T) { testDenied(t, f) })
			t.Run("admin", func(t *testing.T) { testAdminMay(t, f) })
		})
	}
}

// testOwnScope: what alice, bob and carol may see is their own.
func testOwnScope(t *testing.T, f *tenants) {
	c := f.c
	tests := []struct {
		name, path, token, key string
		want                   []string // ids, sorted
	}{
		{"alice's projects", "/v3/users/{alice}/projects", f.alice, "projects", []string{f.a}},
		{"alice's scopable projects", "/v3/auth/projects", f.alice, "projects", []string{f.a}},
		{"bob's projects", "/v3/users/{bob}/projects", f.bob, "projects", []string{f.b}},
		{"bob's scopable projects", "/v3/auth/projects", f.bob, "projects", []string{f.b}},
		{"carol's projects", "/v3/users/{carol}/projects", f.carol, "projects", []string{f.a}},
		{"alice's app creds", "/v3/users/{alice}/application_credentials", f.alice, "application_credentials", []string{f.aliceAC}},
		{"bob's app creds", "/v3/users/{bob}/application_credentials", f.bob, "application_credentials", []string{f.bobAC}},
		{"alice's credentials", "/v3/credentials", f.alice, "credentials", nil},
		{"alice's credentials of bob", "/v3/credentials?user_id={bob}", f.alice, "credentials", nil},
		{"carol's credentials of type ec2", "/v3/credentials?type=ec2", f.carol, "credentials", nil},
		{"bob's credentials", "/v3/credentials", f.bob, "credentials", []string{f.bobCred, identity.EC2CredentialID(f.bobEC2)}},
		{"alice's ec2 credentials", "/v3/users/{alice}/credentials/OS-EC2", f.alice, "credentials", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := c.Must(t, http.StatusOK, "GET", f.expand(tt.path), tt.token, nil)
			if got := ids(t, b, tt.key, "id"); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("%s = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
	reads := []struct{ name, path, token string }{
		{"alice reads A", "/v3/projects/{A}", f.alice},
		{"carol reads A", "/v3/projects/{A}", f.carol},
		{"alice reads herself", "/v3/users/{alice}", f.alice},
		{"alice reads her app cred", "/v3/users/{alice}/application_credentials/{aliceAC}", f.alice},
		{"alice reads her domain", "/v3/domains/default", f.alice},
		{"alice lists A's tags", "/v3/projects/{A}/tags", f.alice},
		{"carol lists A's tags", "/v3/projects/{A}/tags", f.carol},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) { c.Must(t, http.StatusOK, "GET", f.expand(tt.path), tt.token, nil) })
	}
	t.Run("alice validates her own token", func(t *testing.T) {
		r := c.Call(t, call{Method: "GET", Path: "/v3/auth/tokens", Token: f.alice, Subject: f.alice})
		if r.Code != http.StatusOK || at(r.JSON(t), "token.project.id") != f.a {
			t.Fatal(r)
		}
	})
	t.Run("alice cannot scope to B", func(t *testing.T) {
		wantError(t, c.issue(t, passwordAuth("alice", "alice-pw", projectScope(f.b)), ""), http.StatusUnauthorized, "")
	})
	t.Run("bob's app cred cannot be used without its secret", func(t *testing.T) {
		r := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
			"methods": []string{"application_credential"},
			"application_credential": map[string]any{"name": "ci", "secret": "guess",
				"user": map[string]any{"name": "bob", "domain": map[string]any{"name": "Default"}}},
		}}}, "")
		wantError(t, r, http.StatusUnauthorized, "")
	})
}

// TestOwnGroups: a user may list their own groups. Keystone's rule is
// "... or user_id:%(user_id)s", where user_id is the path's {user_id}
// (Keystone adds the URL's view args to the policy target).
func TestOwnGroups(t *testing.T) {
	c := newCloud(t)
	f := newTenants(t, c)
	g := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/groups", f.admin,
		map[string]any{"group": map[string]any{"name": "devs"}}), "group.id")
	c.Must(t, http.StatusNoContent, "PUT", "/v3/groups/"+g+"/users/"+f.aliceID, f.admin, nil)
	tests := []struct {
		name, user, token string
		want              int
		groups            []string
	}{
		{"alice lists hers", f.aliceID, f.alice, http.StatusOK, []string{g}},
		{"bob lists his", f.bobID, f.bob, http.StatusOK, nil},
		{"bob lists alice's", f.aliceID, f.bob, http.StatusForbidden, nil},
		{"the admin lists alice's", f.aliceID, f.admin, http.StatusOK, []string{g}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do(t, "GET", "/v3/users/"+tt.user+"/groups", tt.token, nil)
			if tt.want != http.StatusOK {
				wantError(t, r, tt.want, "")
				return
			}
			if r.Code != http.StatusOK {
				t.Fatal(r)
			}
			if got := ids(t, r.JSON(t), "groups", "id"); !slices.Equal(got, tt.groups) {
				t.Errorf("groups = %v, want %v", got, tt.groups)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// testDenied runs every op as alice (member of A) and carol (reader of
// A): each is 403 or 404 and changes nothing.
func testDenied(t *testing.T, f *tenants) {
	tokens := []string{f.alice, f.bob, f.carol}
	before := f.c.snapshot(t, f.admin, tokens...)
	for _, who := range []struct{ name, token string }{{"alice", f.alice}, {"carol", f.carol}} {
		for _, op := range tenancyOps {
			t.Run(who.name+" "+op.name, func(t *testing.T) {
				r := f.run(t, op, who.token)
				if r.Code != http.StatusForbidden && r.Code != http.StatusNotFound {
					t.Errorf("%s %s = %s, want 403 or 404", op.method, op.path, r)
				} else if op.method != "HEAD" {
					wantError(t, r, r.Code, "")
				}
				if after := f.c.snapshot(t, f.admin, tokens...); after != before {
					t.Errorf("the denied call changed the state:\n%s", apitest.LineDiff(before, after))
					before = after
				}
			})
		}
	}
}

// testAdminMay runs every op as the admin, in order.
func testAdminMay(t *testing.T, f *tenants) {
	for _, op := range tenancyOps {
		if op.adminWant == 0 {
			continue
		}
		t.Run(op.name, func(t *testing.T) {
			if r := f.run(t, op, f.admin); r.Code != op.adminWant {
				t.Errorf("%s %s = %s, want %d", op.method, op.path, r, op.adminWant)
			}
		})
	}
	t.Run("the writes took effect", func(t *testing.T) {
		c := f.c
		c.Must(t, http.StatusNotFound, "GET", "/v3/projects/"+f.b, f.admin, nil)
		c.Must(t, http.StatusNotFound, "GET", "/v3/users/"+f.bobID, f.admin, nil)
		if got := at(c.Must(t, http.StatusOK, "GET", "/v3/projects/"+f.a, f.admin, nil), "project.name"); got != "mine" {
			t.Errorf("A's name = %v", got)
		}
		as := c.Must(t, http.StatusOK, "GET", f.expand("/v3/role_assignments?user.id={alice}&scope.project.id={A}"), f.admin, nil)
		var roles []string
		for _, x := range list(t, as, "role_assignments") {
			roles = append(roles, str(t, x, "role.id"))
		}
		if !slices.Equal(roles, []string{f.role}) {
			t.Errorf("alice's roles on A = %v, want admin only (member revoked)", roles)
		}
		// Removing alice's membership of A revoked her token; bob's went
		// with bob.
		for _, tok := range []string{f.alice, f.bob} {
			wantError(t, c.Do(t, "GET", "/v3/auth/projects", tok, nil), http.StatusUnauthorized, "")
		}
	})
}

// TestDomainScopedLists: a reader scoped to one domain lists only that
// domain's users, projects and groups, as Keystone filters them
// (keystone/api/users.py, projects.py, groups.py: "filter out ... not in
// that domain").
func TestDomainScopedLists(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			dom := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/domains", admin,
				map[string]any{"domain": map[string]any{"name": "Other"}}), "domain.id")
			c.mkProject(t, admin, "theirs", dom)
			c.mkProject(t, admin, "ours", "default")
			dave := c.mkUser(t, admin, "dave", "dave-pw", dom)
			c.Must(t, http.StatusCreated, "POST", "/v3/groups", admin, map[string]any{"group": map[string]any{"name": "ours", "domain_id": "default"}})
			c.Must(t, http.StatusCreated, "POST", "/v3/groups", admin, map[string]any{"group": map[string]any{"name": "theirs", "domain_id": dom}})
			c.grant(t, admin, "domains/"+dom, dave, "reader")
			r := c.issue(t, map[string]any{"auth": map[string]any{
				"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{"id": dave, "password": "dave-pw"}}},
				"scope":    domainScope(dom),
			}}, "")
			if r.Code != http.StatusCreated {
				t.Fatal(r)
			}
			tok := r.Header.Get("X-Subject-Token")

			for _, tt := range []struct{ path, key string }{
				{"/v3/users", "users"},
				{"/v3/users?domain_id=default", "users"},
				{"/v3/projects", "projects"},
				{"/v3/projects?domain_id=default", "projects"},
				{"/v3/groups", "groups"},
				{"/v3/groups?domain_id=default", "groups"},
				{"/v3/role_assignments", "role_assignments"},
			} {
				t.Run(tt.path, func(t *testing.T) {
					r := c.Do(t, "GET", tt.path, tok, nil)
					if r.Code == http.StatusForbidden {
						return // refusing is as good as filtering
					}
					if r.Code != http.StatusOK {
						t.Fatal(r)
					}
					for _, x := range list(t, r.JSON(t), tt.key) {
						if tt.key == "role_assignments" {
							if !c.inDomain(t, admin, x, dom) {
								t.Errorf("%s shows %v to a reader of %s", tt.path, x, dom)
							}
							continue
						}
						if at(x, "domain_id") != dom {
							t.Errorf("%s shows %v of domain %v to a reader of %s", tt.path, at(x, "name"), at(x, "domain_id"), dom)
						}
					}
				})
			}
			// Reads of single objects in another domain are refused.
			for _, p := range []string{"/v3/users/" + c.Admin.ID, "/v3/projects/" + c.AdminProject.ID} {
				t.Run(p, func(t *testing.T) { wantError(t, c.Do(t, "GET", p, tok, nil), http.StatusForbidden, "") })
			}
		})
	}
}

// inDomain reports whether a role assignment is on domain dom or on one
// of its projects, Keystone's filter for domain-scoped callers.
func (c *cloud) inDomain(t *testing.T, admin string, assignment any, dom string) bool {
	t.Helper()
	if id, ok := at(assignment, "scope.domain.id").(string); ok {
		return id == dom
	}
	if id, ok := at(assignment, "scope.project.id").(string); ok {
		p := c.Must(t, http.StatusOK, "GET", "/v3/projects/"+id, admin, nil)
		return at(p, "project.domain_id") == dom
	}
	return false // system assignments are nobody's domain
}

// TestRestrictedAppCredToken: a token from a restricted application
// credential (the default) cannot create or delete application
// credentials, as in Keystone (keystone/api/users.py,
// _check_unrestricted_application_credential): otherwise a leaked CI
// credential could mint itself a fresh, unrestricted, non-expiring one.
func TestRestrictedAppCredToken(t *testing.T) {
	c := newCloud(t)
	f := newTenants(t, c)
	admin := f.admin
	base := "/v3/users/" + f.aliceID + "/application_credentials"
	secret := str(t, c.Must(t, http.StatusCreated, "POST", base, f.alice,
		map[string]any{"application_credential": map[string]any{"name": "restricted", "secret": "s3cret"}}),
		"application_credential.secret")
	r := c.issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods": []string{"application_credential"},
		"application_credential": map[string]any{"name": "restricted", "secret": secret,
			"user": map[string]any{"id": f.aliceID}},
	}}}, "")
	if r.Code != http.StatusCreated {
		t.Fatal(r)
	}
	acTok := r.Header.Get("X-Subject-Token")
	if at(r.JSON(t), "token.application_credential.restricted") != true {
		t.Fatalf("token = %s", r.Body)
	}

	before := c.snapshot(t, admin, f.alice)
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"create an unrestricted app cred", "POST", base,
			map[string]any{"application_credential": map[string]any{"name": "escalated", "unrestricted": true}}},
		{"create an app cred", "POST", base, map[string]any{"application_credential": map[string]any{"name": "copy"}}},
		{"delete an app cred", "DELETE", base + "/" + f.aliceAC, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Do(t, tt.method, tt.path, acTok, tt.body), http.StatusForbidden, "")
			if after := c.snapshot(t, admin, f.alice); after != before {
				t.Errorf("state changed:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
	t.Run("it may still read them", func(t *testing.T) {
		c.Must(t, http.StatusOK, "GET", base, acTok, nil)
	})
}
