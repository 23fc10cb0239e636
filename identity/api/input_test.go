package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// inputFixture is what the input tests aim at, made through the API: a
// project with a subproject, a user, a group, a global role, a domain
// role, a child region of RegionOne, and the bootstrap's identity service
// and one of its endpoints.
type inputFixture struct {
	admin, projTok            string
	top, sub, user, group     string
	role, domainRole, service string
	endpoint                  string
}

func newInputFixture(t *testing.T, c *cloud) inputFixture {
	t.Helper()
	f := inputFixture{admin: c.adminToken(t)}
	f.projTok = c.token(t, "admin", adminPassword, projectScope(c.AdminProject.ID))
	f.top = c.mkProject(t, f.admin, "top", "default")
	f.sub = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", f.admin,
		map[string]any{"project": map[string]any{"name": "sub", "parent_id": f.top}}), "project.id")
	f.user = c.mkUser(t, f.admin, "alice", "alice-pw", "default")
	f.group = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/groups", f.admin,
		map[string]any{"group": map[string]any{"name": "devs"}}), "group.id")
	f.role = c.roleID(t, "member")
	f.domainRole = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/roles", f.admin,
		map[string]any{"role": map[string]any{"name": "local", "domain_id": "default"}}), "role.id")
	c.Must(t, http.StatusCreated, "POST", "/v3/regions", f.admin,
		map[string]any{"region": map[string]any{"id": "RegionOneA", "parent_region_id": "RegionOne"}})
	svcs, err := c.Store.ListServices(context.Background(), "identity", "", 0)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("identity service: %v %v", svcs, err)
	}
	f.service = svcs[0].ID
	eps, err := c.Store.ListEndpoints(context.Background(), f.service, "public", "", 0)
	if err != nil || len(eps) != 1 {
		t.Fatalf("identity endpoint: %v %v", eps, err)
	}
	f.endpoint = eps[0].ID
	return f
}

func (f inputFixture) expand(s string) string {
	return strings.NewReplacer("{top}", f.top, "{sub}", f.sub, "{user}", f.user, "{group}", f.group,
		"{role}", f.role, "{domainRole}", f.domainRole, "{service}", f.service, "{endpoint}", f.endpoint).Replace(s)
}

// jsonTags is a JSON array of n distinct tags.
func jsonTags(n int) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// TestWriteRefused: every write Keystone refuses, as it was reported
// accepted, is now refused with Keystone's status and a message naming
// the field, and changes nothing.
func TestWriteRefused(t *testing.T) {
	c := newCloud(t)
	f := newInputFixture(t, c)
	x := strings.Repeat
	name100K := x("n", 100_000)  // under Keystone's 112 KiB body limit: refused by the schema rules
	name1MB := x("n", 1_000_000) // over it: refused before it is parsed
	acs := "/v3/users/" + c.Admin.ID + "/application_credentials"
	before := c.snapshot(t, f.admin)

	tests := []struct {
		name, method, path string
		body               string
		want               int
		msg                string // the error message must contain it
		token              string // default: the system-scoped admin token
	}{
		// projects (keystone/resource/schema.py)
		{"project: name 65 characters", "POST", "/v3/projects", `{"project":{"name":"` + x("n", 65) + `"}}`, 400, "'project.name'", ""},
		{"project: name of 100 KB", "POST", "/v3/projects", `{"project":{"name":"` + name100K + `"}}`, 400, "'project.name'", ""},
		{"project: name of 1 MB", "POST", "/v3/projects", `{"project":{"name":"` + name1MB + `"}}`, 413, "", ""},
		{"project: name null", "POST", "/v3/projects", `{"project":{"name":null}}`, 400, "'project.name'", ""},
		{"project: tag 256 characters", "POST", "/v3/projects", `{"project":{"name":"x","tags":["` + x("t", 256) + `"]}}`, 400, "'project.tags'", ""},
		{"project: tag of 1 MB", "POST", "/v3/projects", `{"project":{"name":"x","tags":["` + name1MB + `"]}}`, 413, "", ""},
		{"project: 81 tags", "POST", "/v3/projects", `{"project":{"name":"x","tags":` + jsonTags(81) + `}}`, 400, "'project.tags'", ""},
		{"project: 10000 tags", "POST", "/v3/projects", `{"project":{"name":"x","tags":` + jsonTags(10000) + `}}`, 400, "'project.tags'", ""},
		{"project: tag with a slash", "POST", "/v3/projects", `{"project":{"name":"x","tags":["a/b"]}}`, 400, "'project.tags'", ""},
		{"project: tag with a comma", "POST", "/v3/projects", `{"project":{"name":"x","tags":["a,b"]}}`, 400, "'project.tags'", ""},
		{"project: empty tag", "POST", "/v3/projects", `{"project":{"name":"x","tags":[""]}}`, 400, "'project.tags'", ""},
		{"project: repeated tag", "POST", "/v3/projects", `{"project":{"name":"x","tags":["a","a"]}}`, 400, "'project.tags'", ""},
		{"project: tags null", "POST", "/v3/projects", `{"project":{"name":"x","tags":null}}`, 400, "'project.tags'", ""},
		{"project: enabled null", "POST", "/v3/projects", `{"project":{"name":"x","enabled":null}}`, 400, "'project.enabled'", ""},
		{"project: is_domain null", "POST", "/v3/projects", `{"project":{"name":"x","is_domain":null}}`, 400, "'project.is_domain'", ""},
		{"project: parent not an id", "POST", "/v3/projects", `{"project":{"name":"x","parent_id":"a/b"}}`, 400, "'project.parent_id'", ""},
		{"project: domain not an id", "POST", "/v3/projects", `{"project":{"name":"x","domain_id":"a b"}}`, 400, "'project.domain_id'", ""},
		{"project update: empty name", "PATCH", "/v3/projects/{top}", `{"project":{"name":""}}`, 400, "'project.name'", ""},
		{"project update: blank name", "PATCH", "/v3/projects/{top}", `{"project":{"name":"   "}}`, 400, "'project.name'", ""},
		{"project update: name 65 characters", "PATCH", "/v3/projects/{top}", `{"project":{"name":"` + x("n", 65) + `"}}`, 400, "'project.name'", ""},
		{"project update: name null", "PATCH", "/v3/projects/{top}", `{"project":{"name":null}}`, 400, "'project.name'", ""},
		{"project update: 10000 tags", "PATCH", "/v3/projects/{top}", `{"project":{"tags":` + jsonTags(10000) + `}}`, 400, "'project.tags'", ""},
		{"project update: tag with a comma", "PATCH", "/v3/projects/{top}", `{"project":{"tags":["a,b"]}}`, 400, "'project.tags'", ""},
		{"project update: enabled null", "PATCH", "/v3/projects/{top}", `{"project":{"enabled":null}}`, 400, "'project.enabled'", ""},
		// Keystone: 403 "Update of `parent_id` is not allowed."
		{"project update: parent to the domain", "PATCH", "/v3/projects/{sub}", `{"project":{"parent_id":"default"}}`, 403, "parent_id", ""},
		{"project update: parent to another project", "PATCH", "/v3/projects/{top}", `{"project":{"parent_id":"{sub}"}}`, 403, "parent_id", ""},
		{"project update: parent null", "PATCH", "/v3/projects/{sub}", `{"project":{"parent_id":null}}`, 403, "parent_id", ""},
		{"project update: is_domain", "PATCH", "/v3/projects/{top}", `{"project":{"is_domain":true}}`, 400, "is_domain", ""},
		{"project update: is_domain null", "PATCH", "/v3/projects/{top}", `{"project":{"is_domain":null}}`, 400, "'project.is_domain'", ""},
		{"project update: id", "PATCH", "/v3/projects/{top}", `{"project":{"id":"{sub}"}}`, 400, "'project.id'", ""},
		// every update schema has minProperties: 1
		{"project update: no member", "PATCH", "/v3/projects/{top}", `{"project":{}}`, 400, "'project'", ""},
		{"domain update: no member", "PATCH", "/v3/domains/default", `{"domain":{}}`, 400, "'domain'", ""},
		{"user update: no member", "PATCH", "/v3/users/{user}", `{"user":{}}`, 400, "'user'", ""},
		{"group update: no member", "PATCH", "/v3/groups/{group}", `{"group":{}}`, 400, "'group'", ""},
		{"role update: no member", "PATCH", "/v3/roles/{role}", `{"role":{}}`, 400, "'role'", ""},
		{"region update: no member", "PATCH", "/v3/regions/RegionOne", `{"region":{}}`, 400, "'region'", ""},
		{"service update: no member", "PATCH", "/v3/services/{service}", `{"service":{}}`, 400, "'service'", ""},
		{"endpoint update: no member", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{}}`, 400, "'endpoint'", ""},

		// users (keystone/identity/schema.py)
		{"user: name 256 characters", "POST", "/v3/users", `{"user":{"name":"` + x("n", 256) + `"}}`, 400, "'user.name'", ""},
		{"user: name of 100 KB", "POST", "/v3/users", `{"user":{"name":"` + name100K + `"}}`, 400, "'user.name'", ""},
		{"user: name of 1 MB", "POST", "/v3/users", `{"user":{"name":"` + name1MB + `"}}`, 413, "", ""},
		{"user: blank name", "POST", "/v3/users", `{"user":{"name":" \t "}}`, 400, "'user.name'", ""},
		{"user: enabled null", "POST", "/v3/users", `{"user":{"name":"x","enabled":null}}`, 400, "'user.enabled'", ""},
		{"user: domain null", "POST", "/v3/users", `{"user":{"name":"x","domain_id":null}}`, 400, "'user.domain_id'", ""},
		{"user: default project not an id", "POST", "/v3/users", `{"user":{"name":"x","default_project_id":"a b"}}`, 400, "'user.default_project_id'", ""},
		{"user update: empty name", "PATCH", "/v3/users/{user}", `{"user":{"name":""}}`, 400, "'user.name'", ""},
		{"user update: blank name", "PATCH", "/v3/users/{user}", `{"user":{"name":"   "}}`, 400, "'user.name'", ""},
		{"user update: name of 100 KB", "PATCH", "/v3/users/{user}", `{"user":{"name":"` + name100K + `"}}`, 400, "'user.name'", ""},
		{"user update: name null", "PATCH", "/v3/users/{user}", `{"user":{"name":null}}`, 400, "'user.name'", ""},
		{"user update: enabled null", "PATCH", "/v3/users/{user}", `{"user":{"enabled":null}}`, 400, "'user.enabled'", ""},
		{"user update: id", "PATCH", "/v3/users/{user}", `{"user":{"id":"{group}"}}`, 400, "'user.id'", ""},

		// domains (keystone/resource/schema.py)
		{"domain: name 65 characters", "POST", "/v3/domains", `{"domain":{"name":"` + x("n", 65) + `"}}`, 400, "'domain.name'", ""},
		{"domain: blank name", "POST", "/v3/domains", `{"domain":{"name":"  "}}`, 400, "'domain.name'", ""},
		{"domain: enabled null", "POST", "/v3/domains", `{"domain":{"name":"x","enabled":null}}`, 400, "'domain.enabled'", ""},
		{"domain: tags", "POST", "/v3/domains", `{"domain":{"name":"x","tags":["a"]}}`, 400, "'domain.tags'", ""},
		{"domain: id not an id", "POST", "/v3/domains", `{"domain":{"name":"x","id":"a/b"}}`, 400, "'domain.id'", ""},
		{"domain update: empty name", "PATCH", "/v3/domains/default", `{"domain":{"name":""}}`, 400, "'domain.name'", ""},
		{"domain update: blank name", "PATCH", "/v3/domains/default", `{"domain":{"name":"   "}}`, 400, "'domain.name'", ""},
		{"domain update: enabled null", "PATCH", "/v3/domains/default", `{"domain":{"enabled":null}}`, 400, "'domain.enabled'", ""},
		{"domain update: tags", "PATCH", "/v3/domains/default", `{"domain":{"tags":["a"]}}`, 400, "'domain.tags'", ""},
		{"domain update: id", "PATCH", "/v3/domains/default", `{"domain":{"id":"other"}}`, 400, "'domain.id'", ""},

		// groups: 64 characters, the size of Keystone's column
		{"group: name 65 characters", "POST", "/v3/groups", `{"group":{"name":"` + x("n", 65) + `"}}`, 400, "'group.name'", ""},
		{"group: blank name", "POST", "/v3/groups", `{"group":{"name":" "}}`, 400, "'group.name'", ""},
		{"group: domain null", "POST", "/v3/groups", `{"group":{"name":"x","domain_id":null}}`, 400, "'group.domain_id'", ""},
		{"group update: empty name", "PATCH", "/v3/groups/{group}", `{"group":{"name":""}}`, 400, "'group.name'", ""},
		{"group update: domain", "PATCH", "/v3/groups/{group}", `{"group":{"domain_id":"other"}}`, 400, "'group.domain_id'", ""},
		{"group update: id", "PATCH", "/v3/groups/{group}", `{"group":{"id":"{user}"}}`, 400, "'group.id'", ""},

		// roles (keystone/assignment/schema.py)
		{"role: name 256 characters", "POST", "/v3/roles", `{"role":{"name":"` + x("n", 256) + `"}}`, 400, "'role.name'", ""},
		{"role: blank name", "POST", "/v3/roles", `{"role":{"name":"  "}}`, 400, "'role.name'", ""},
		{"role: description 256 characters", "POST", "/v3/roles", `{"role":{"name":"x","description":"` + x("d", 256) + `"}}`, 400, "'role.description'", ""},
		{"role: description null", "POST", "/v3/roles", `{"role":{"name":"x","description":null}}`, 400, "'role.description'", ""},
		{"role update: empty name", "PATCH", "/v3/roles/{role}", `{"role":{"name":""}}`, 400, "'role.name'", ""},
		{"role update: domain", "PATCH", "/v3/roles/{role}", `{"role":{"domain_id":"default"}}`, 400, "'role.domain_id'", ""},
		{"role update: domain role made global", "PATCH", "/v3/roles/{domainRole}", `{"role":{"domain_id":null}}`, 400, "'role.domain_id'", ""},
		{"role update: id", "PATCH", "/v3/roles/{role}", `{"role":{"id":"{domainRole}"}}`, 400, "'role.id'", ""},

		// regions, services, endpoints (keystone/catalog/schema.py)
		{"region: id 256 characters", "POST", "/v3/regions", `{"region":{"id":"` + x("r", 256) + `"}}`, 400, "'region.id'", ""},
		{"region: description 256 characters", "POST", "/v3/regions", `{"region":{"description":"` + x("d", 256) + `"}}`, 400, "'region.description'", ""},
		{"region update: its own parent", "PATCH", "/v3/regions/RegionOne", `{"region":{"parent_region_id":"RegionOne"}}`, 400, "'region.parent_region_id'", ""},
		{"region update: under its child", "PATCH", "/v3/regions/RegionOne", `{"region":{"parent_region_id":"RegionOneA"}}`, 400, "'region.parent_region_id'", ""},
		{"region update: missing parent", "PATCH", "/v3/regions/RegionOneA", `{"region":{"parent_region_id":"nowhere"}}`, 404, "nowhere", ""},
		{"region update: id", "PATCH", "/v3/regions/RegionOneA", `{"region":{"id":"RegionTwo"}}`, 400, "'region.id'", ""},
		{"service: type 256 characters", "POST", "/v3/services", `{"service":{"type":"` + x("t", 256) + `"}}`, 400, "'service.type'", ""},
		{"service: type null", "POST", "/v3/services", `{"service":{"type":null}}`, 400, "'service.type'", ""},
		{"service: name 256 characters", "POST", "/v3/services", `{"service":{"type":"x","name":"` + x("n", 256) + `"}}`, 400, "'service.name'", ""},
		{"service: empty name", "POST", "/v3/services", `{"service":{"type":"x","name":""}}`, 400, "'service.name'", ""},
		{"service: blank name", "POST", "/v3/services", `{"service":{"type":"x","name":"  "}}`, 400, "'service.name'", ""},
		{"service: enabled null", "POST", "/v3/services", `{"service":{"type":"x","enabled":null}}`, 400, "'service.enabled'", ""},
		{"service update: empty type", "PATCH", "/v3/services/{service}", `{"service":{"type":""}}`, 400, "'service.type'", ""},
		{"service update: empty name", "PATCH", "/v3/services/{service}", `{"service":{"name":""}}`, 400, "'service.name'", ""},
		{"service update: enabled null", "PATCH", "/v3/services/{service}", `{"service":{"enabled":null}}`, 400, "'service.enabled'", ""},
		{"service update: id", "PATCH", "/v3/services/{service}", `{"service":{"id":"other"}}`, 400, "'service.id'", ""},
		{"endpoint: url 226 characters", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"{service}","interface":"public","url":"http://` + x("h", 219) + `"}}`, 400, "'endpoint.url'", ""},
		{"endpoint: url without a scheme", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"{service}","interface":"public","url":"localhost"}}`, 400, "'endpoint.url'", ""},
		{"endpoint: url with an unknown substitution", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"{service}","interface":"public","url":"http://x/$(tenant)s"}}`, 400, "'endpoint.url'", ""},
		{"endpoint: enabled null", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"{service}","interface":"public","url":"http://x","enabled":null}}`, 400, "'endpoint.enabled'", ""},
		{"endpoint: missing service", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"nope","interface":"public","url":"http://x"}}`, 400, "'endpoint.service_id'", ""},
		{"endpoint: missing region", "POST", "/v3/endpoints", `{"endpoint":{"service_id":"{service}","interface":"public","url":"http://x","region_id":"nowhere"}}`, 400, "'endpoint.region_id'", ""},
		{"endpoint update: empty url", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{"url":""}}`, 400, "'endpoint.url'", ""},
		{"endpoint update: missing service", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{"service_id":"nope"}}`, 400, "'endpoint.service_id'", ""},
		{"endpoint update: interface null", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{"interface":null}}`, 400, "'endpoint.interface'", ""},
		{"endpoint update: enabled null", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{"enabled":null}}`, 400, "'endpoint.enabled'", ""},
		{"endpoint update: id", "PATCH", "/v3/endpoints/{endpoint}", `{"endpoint":{"id":"other"}}`, 400, "'endpoint.id'", ""},

		// application credentials (keystone/application_credential/schema.py)
		{"app cred: name 256 characters", "POST", acs, `{"application_credential":{"name":"` + x("n", 256) + `"}}`, 400, "'application_credential.name'", "proj"},
		{"app cred: unrestricted null", "POST", acs, `{"application_credential":{"name":"x","unrestricted":null}}`, 400, "'application_credential.unrestricted'", "proj"},
		{"app cred: role with id and name", "POST", acs, `{"application_credential":{"name":"x","roles":[{"id":"{role}","name":"member"}]}}`, 400, "'application_credential.roles'", "proj"},
		{"app cred: empty role", "POST", acs, `{"application_credential":{"name":"x","roles":[{}]}}`, 400, "'application_credential.roles'", "proj"},
		{"app cred: role id not an id", "POST", acs, `{"application_credential":{"name":"x","roles":[{"id":"a/b"}]}}`, 400, "'application_credential.roles'", "proj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.admin
			if tt.token == "proj" {
				tok = f.projTok
			}
			r := c.Call(t, call{Method: tt.method, Path: f.expand(tt.path), Token: tok, Body: f.expand(tt.body)})
			wantError(t, r, tt.want, tt.msg)
			if len(r.Body) > 1000 {
				t.Errorf("the error is %d bytes long: it should not echo the input", len(r.Body))
			}
			if after := c.snapshot(t, f.admin); after != before {
				t.Errorf("a refused call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}

// TestWriteAccepted: what Keystone accepts at the edges of its rules.
func TestWriteAccepted(t *testing.T) {
	c := newCloud(t)
	f := newInputFixture(t, c)
	x := strings.Repeat
	tags80 := make([]string, 80)
	for i := range tags80 {
		tags80[i] = fmt.Sprintf("%03d", i) + x("t", 252)
	}
	tests := []struct {
		name, method, path string
		body               any
		want               int
		check              map[string]any // dotted path -> value in the response
	}{
		{"project name of 64 characters", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": x("p", 64)}}, 201,
			map[string]any{"project.name": x("p", 64)}},
		{"80 tags of 255 characters", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "tagged", "tags": tags80}}, 201,
			map[string]any{"project.tags.79": tags80[79]}},
		{"tags with spaces and unicode", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "spaced", "tags": []string{" a b ", "é"}}}, 201,
			map[string]any{"project.tags.0": " a b "}},
		{"project name stripped", "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "  padded  "}}, 201,
			map[string]any{"project.name": "padded"}},
		{"user name of 255 characters", "POST", "/v3/users", map[string]any{"user": map[string]any{"name": x("u", 255)}}, 201,
			map[string]any{"user.name": x("u", 255)}},
		{"group name of 64 characters", "POST", "/v3/groups", map[string]any{"group": map[string]any{"name": x("g", 64)}}, 201,
			map[string]any{"group.name": x("g", 64)}},
		{"role name of 255 characters", "POST", "/v3/roles", map[string]any{"role": map[string]any{"name": x("r", 255)}}, 201,
			map[string]any{"role.name": x("r", 255)}},
		{"endpoint url with a known substitution", "POST", "/v3/endpoints", map[string]any{"endpoint": map[string]any{
			"service_id": f.service, "interface": "internal", "url": "http://x/v1/$(project_id)s"}}, 201,
			map[string]any{"endpoint.url": "http://x/v1/$(project_id)s"}},
		{"project update: the parent it has", "PATCH", "/v3/projects/" + f.sub, map[string]any{"project": map[string]any{"parent_id": f.top, "description": "same parent"}}, 200,
			map[string]any{"project.parent_id": f.top, "project.description": "same parent"}},
		{"project update: top level stays under its domain", "PATCH", "/v3/projects/" + f.top, map[string]any{"project": map[string]any{"parent_id": "default", "is_domain": false, "id": f.top, "domain_id": "default"}}, 200,
			map[string]any{"project.parent_id": "default"}},
		{"project update: tags replaced", "PATCH", "/v3/projects/" + f.top, map[string]any{"project": map[string]any{"tags": []string{"x"}}}, 200,
			map[string]any{"project.tags.0": "x"}},
		{"user update: same id and domain", "PATCH", "/v3/users/" + f.user, map[string]any{"user": map[string]any{"id": f.user, "domain_id": "default", "name": " alice2 "}}, 200,
			map[string]any{"user.name": "alice2"}},
		{"user update: default project set", "PATCH", "/v3/users/" + f.user, map[string]any{"user": map[string]any{"default_project_id": f.top}}, 200,
			map[string]any{"user.default_project_id": f.top}},
		{"group update: same domain", "PATCH", "/v3/groups/" + f.group, map[string]any{"group": map[string]any{"domain_id": "default", "description": "d"}}, 200,
			map[string]any{"group.description": "d"}},
		{"role update: same domain", "PATCH", "/v3/roles/" + f.domainRole, map[string]any{"role": map[string]any{"domain_id": "default", "description": "d"}}, 200,
			map[string]any{"role.description": "d"}},
		{"region update: new parent", "PATCH", "/v3/regions/RegionOneA", map[string]any{"region": map[string]any{"parent_region_id": nil}}, 200,
			map[string]any{"region.parent_region_id": nil}},
		{"region update: parent again", "PATCH", "/v3/regions/RegionOneA", map[string]any{"region": map[string]any{"parent_region_id": "RegionOne"}}, 200,
			map[string]any{"region.parent_region_id": "RegionOne"}},
		{"project update: only a member Keystone keeps elsewhere", "PATCH", "/v3/projects/" + f.top, map[string]any{"project": map[string]any{"colour": "blue"}}, 200,
			map[string]any{"project.id": f.top}},
		{"domain update: its own id", "PATCH", "/v3/domains/default", map[string]any{"domain": map[string]any{"id": "default", "description": "d"}}, 200,
			map[string]any{"domain.description": "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := c.Must(t, tt.want, tt.method, tt.path, f.admin, tt.body)
			for path, want := range tt.check {
				if got := at(b, path); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
		})
	}
	t.Run("default project cleared with null", func(t *testing.T) {
		b := c.Must(t, http.StatusOK, "PATCH", "/v3/users/"+f.user, f.admin, map[string]any{"user": map[string]any{"default_project_id": nil}})
		if has(b, "user.default_project_id") {
			t.Errorf("default_project_id = %v, want it gone", at(b, "user.default_project_id"))
		}
	})
}

// Keystone's media type rule (json_body.py): a body is JSON when its
// Content-Type says so or says nothing; any other type is a 400 and
// changes nothing.
func TestMediaTypes(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	body := passwordAuth("admin", adminPassword, systemScope)
	for _, tt := range []struct {
		ctype string
		want  int
	}{
		{"-", http.StatusCreated},
		{"application/json", http.StatusCreated},
		{"application/json; charset=utf-8", http.StatusCreated},
		{"text/plain", http.StatusBadRequest},
		{"application/x-www-form-urlencoded", http.StatusBadRequest},
		{"application/xml", http.StatusBadRequest},
	} {
		if r := c.Call(t, call{Method: "POST", Path: "/v3/auth/tokens", Body: body, Type: tt.ctype}); r.Code != tt.want {
			t.Errorf("token with Content-Type %q: %s, want %d", tt.ctype, r, tt.want)
		}
	}
	before := c.snapshot(t, admin)
	for _, ct := range []string{"text/plain", "application/xml"} {
		r := c.Call(t, call{Method: "POST", Path: "/v3/projects", Token: admin, Type: ct,
			Body: map[string]any{"project": map[string]any{"name": "typed", "domain_id": "default"}}})
		if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "Content-Type") {
			t.Errorf("project create as %s: %s", ct, r)
		}
	}
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("state changed:\n%s", apitest.LineDiff(before, after))
	}
}
