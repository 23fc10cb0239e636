package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
)

// inputFixture is one of everything, for the input tests to aim at.
type inputFixture struct {
	domain   identity.Domain
	top, sub identity.Project
	user     identity.User
	group    identity.Group
	role     identity.Role
	dRole    identity.Role // a role of the domain
	region   identity.Region
	child    identity.Region // a child of region
	service  identity.Service
	endpoint identity.Endpoint
	appCred  identity.AppCred
}

func newInputFixture(t *testing.T, s *identity.Store) inputFixture {
	t.Helper()
	ctx := context.Background()
	var f inputFixture
	f.domain = must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	f.top = must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "top", DomainID: "default", Enabled: true, Tags: []string{"a"}}))
	f.sub = must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: "sub", DomainID: "default", ParentID: f.top.ID, Enabled: true}))
	f.user = must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: "alice", DomainID: "default", Enabled: true}))
	f.group = must[identity.Group](t)(s.CreateGroup(ctx, identity.Group{Name: "devs", DomainID: "default"}))
	f.role = must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: "member"}))
	f.dRole = must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: "local", DomainID: "default"}))
	f.region = must[identity.Region](t)(s.CreateRegion(ctx, identity.Region{ID: "RegionOne"}))
	f.child = must[identity.Region](t)(s.CreateRegion(ctx, identity.Region{ID: "RegionOneA", ParentRegionID: "RegionOne"}))
	f.service = must[identity.Service](t)(s.CreateService(ctx, identity.Service{Type: "identity", Name: "keystone", Enabled: true}))
	f.endpoint = must[identity.Endpoint](t)(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "public", RegionID: "RegionOne", URL: "http://127.0.0.1:5000/v3", Enabled: true}))
	f.appCred = must[identity.AppCred](t)(s.CreateAppCred(ctx, identity.AppCred{Name: "ci", UserID: f.user.ID, ProjectID: f.top.ID, SecretHash: "h", RoleIDs: []string{f.role.ID}}))
	return f
}

// dumpStore renders everything the store holds, one sorted line per
// record, so a test can prove a refused write changed nothing.
func dumpStore(t *testing.T, s *identity.Store) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	add := func(kind string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		lines = append(lines, kind+" "+string(b))
	}
	ds, err := s.ListDomains(ctx, "", nil, 0)
	add("domains", ds, err)
	ps, err := s.ListProjects(ctx, identity.ProjectFilter{})
	add("projects", ps, err)
	us, err := s.ListUsers(ctx, "", "", nil, 0)
	add("users", us, err)
	for _, u := range us {
		full, err := s.GetUser(ctx, u.ID)
		add("password of "+u.ID, full.PasswordHash, err)
		acs, err := s.ListAppCreds(ctx, u.ID, "")
		add("application credentials of "+u.ID, acs, err)
	}
	gs, err := s.ListGroups(ctx, "", "", 0)
	add("groups", gs, err)
	for _, d := range append([]string{""}, "default") {
		rs, err := s.ListRoles(ctx, d, "", 0)
		add("roles of "+d, rs, err)
	}
	regions, err := s.ListRegions(ctx)
	add("regions", regions, err)
	svcs, err := s.ListServices(ctx, "", "", 0)
	add("services", svcs, err)
	eps, err := s.ListEndpoints(ctx, "", "", "", 0)
	add("endpoints", eps, err)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// feedLength is how many changes the identity feed holds: a refused
// write must not add one.
func feedLength(t *testing.T, feed *watch.Log) int {
	t.Helper()
	b, err := feed.Since(context.Background(), watch.Query{Area: "identity"})
	if err != nil {
		t.Fatal(err)
	}
	return len(b.Changes)
}

// TestStoreRefusesBadInput: every write Keystone's schemas refuse is
// refused by the store itself (so embedders get the rules too), with a
// 400 naming the field, and nothing is stored.
func TestStoreRefusesBadInput(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { testRefusesBadInput(t, e.DSN) })
	}
}

func testRefusesBadInput(t *testing.T, dsn string) {
	ctx := context.Background()
	s, feed := newStore(t, dsn)
	f := newInputFixture(t, s)
	long := func(n int) string { return strings.Repeat("x", n) }
	mb := long(1 << 20)
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("t%d", i)
		}
		return out
	}
	type write func() error
	ret := func(_ any, err error) error { return err }
	// newProject creates, and update updates, a project as edit changes it.
	newProject := func(edit func(*identity.Project)) write {
		return func() error {
			p := identity.Project{Name: "new", DomainID: "default", Enabled: true}
			edit(&p)
			return ret(s.CreateProject(ctx, p))
		}
	}
	withTags := func(ts ...string) func(*identity.Project) { return func(p *identity.Project) { p.Tags = ts } }
	newUser := func(name string) write {
		return func() error {
			return ret(s.CreateUser(ctx, identity.User{Name: name, DomainID: "default", Enabled: true}))
		}
	}
	update := func(p identity.Project, edit func(*identity.Project)) write {
		return func() error {
			edit(&p)
			return ret(s.UpdateProject(ctx, p))
		}
	}
	tests := []struct {
		name  string
		do    write
		field string
		kind  fault.Kind // default BadRequest
	}{
		// domains: name 1-64 characters with a non-blank one (resource/schema.py _name_properties)
		{"domain name 65 characters", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: long(65), Enabled: true})) }, "domain.name", 0},
		{"domain name of 1 MB", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: mb, Enabled: true})) }, "domain.name", 0},
		{"domain name empty", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: "", Enabled: true})) }, "domain.name", 0},
		{"domain name blank", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: " \t ", Enabled: true})) }, "domain.name", 0},
		{"domain name with a NUL", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: "a\x00b", Enabled: true})) }, "domain.name", 0},
		{"domain name not UTF-8", func() error { return ret(s.CreateDomain(ctx, identity.Domain{Name: "a\xffb", Enabled: true})) }, "domain.name", 0},
		{"domain description with a NUL", func() error {
			return ret(s.CreateDomain(ctx, identity.Domain{Name: "x", Description: "\x00", Enabled: true}))
		}, "domain.description", 0},
		{"domain id with a slash", func() error { return ret(s.CreateDomain(ctx, identity.Domain{ID: "a/b", Name: "x", Enabled: true})) }, "domain.id", 0},
		{"domain update to an empty name", func() error { d := f.domain; d.Name = ""; return ret(s.UpdateDomain(ctx, d)) }, "domain.name", 0},
		{"domain update to a blank name", func() error { d := f.domain; d.Name = "   "; return ret(s.UpdateDomain(ctx, d)) }, "domain.name", 0},
		{"domain update to 65 characters", func() error { d := f.domain; d.Name = long(65); return ret(s.UpdateDomain(ctx, d)) }, "domain.name", 0},

		// projects: name as domains; tags 1-255 characters without / or
		// ",", at most 80, no duplicates (resource/schema.py)
		{"project name 65 characters", newProject(func(p *identity.Project) { p.Name = long(65) }), "project.name", 0},
		{"project name of 1 MB", newProject(func(p *identity.Project) { p.Name = mb }), "project.name", 0},
		{"project name empty", newProject(func(p *identity.Project) { p.Name = "" }), "project.name", 0},
		{"project name blank", newProject(func(p *identity.Project) { p.Name = "   " }), "project.name", 0},
		{"project tag of 1 MB", newProject(withTags(mb)), "project.tags", 0},
		{"project tag 256 characters", newProject(withTags(long(256))), "project.tags", 0},
		{"project 81 tags", newProject(func(p *identity.Project) { p.Tags = tags(81) }), "project.tags", 0},
		{"project 10000 tags", newProject(func(p *identity.Project) { p.Tags = tags(10000) }), "project.tags", 0},
		{"project tag with a slash", newProject(withTags("a/b")), "project.tags", 0},
		{"project tag with a comma", newProject(withTags("a,b")), "project.tags", 0},
		{"project tag with a NUL", newProject(withTags("a\x00")), "project.tags", 0},
		{"project tag empty", newProject(withTags("")), "project.tags", 0},
		{"project tags repeated", newProject(withTags("a", "b", "a")), "project.tags", 0},
		{"project update to an empty name", update(f.top, func(p *identity.Project) { p.Name = "" }), "project.name", 0},
		{"project update to a blank name", update(f.top, func(p *identity.Project) { p.Name = "  \n" }), "project.name", 0},
		{"project update to 65 characters", update(f.top, func(p *identity.Project) { p.Name = long(65) }), "project.name", 0},
		{"project update to 10000 tags", update(f.top, func(p *identity.Project) { p.Tags = tags(10000) }), "project.tags", 0},
		{"project update to a tag with a slash", update(f.top, withTags("x/y")), "project.tags", 0},
		// Keystone: ForbiddenNotSecurity "Update of `parent_id` is not allowed."
		{"project update of the parent", update(f.sub, func(p *identity.Project) { p.ParentID = "" }), "", fault.Forbidden},
		{"project update to a parent", update(f.top, func(p *identity.Project) { p.ParentID = f.sub.ID }), "", fault.Forbidden},
		// Keystone: ValidationError "Cannot change Domain ID", no field.
		{"project update of the domain", update(f.top, func(p *identity.Project) { p.DomainID = "other" }), "", 0},

		// users and groups: identity/schema.py _identity_name (255); groups
		// are stored in a 64-character column (identity/backends/sql_model.py)
		{"user name 256 characters", newUser(long(256)), "user.name", 0},
		{"user name of 1 MB", newUser(mb), "user.name", 0},
		{"user name empty", newUser(""), "user.name", 0},
		{"user name blank", newUser("  "), "user.name", 0},
		{"user default project not an id", func() error {
			return ret(s.CreateUser(ctx, identity.User{Name: "bob", DomainID: "default", DefaultProjectID: "a b", Enabled: true}))
		}, "user.default_project_id", 0},
		{"user update to an empty name", func() error { u := f.user; u.Name = ""; return ret(s.UpdateUser(ctx, u)) }, "user.name", 0},
		{"user update to a blank name", func() error { u := f.user; u.Name = "   "; return ret(s.UpdateUser(ctx, u)) }, "user.name", 0},
		{"user update to 1 MB", func() error { u := f.user; u.Name = mb; return ret(s.UpdateUser(ctx, u)) }, "user.name", 0},
		{"user update of the domain", func() error { u := f.user; u.DomainID = "other"; return ret(s.UpdateUser(ctx, u)) }, "user.domain_id", 0},
		{"group name 65 characters", func() error { return ret(s.CreateGroup(ctx, identity.Group{Name: long(65), DomainID: "default"})) }, "group.name", 0},
		{"group name blank", func() error { return ret(s.CreateGroup(ctx, identity.Group{Name: " ", DomainID: "default"})) }, "group.name", 0},
		{"group update to an empty name", func() error { g := f.group; g.Name = ""; return ret(s.UpdateGroup(ctx, g)) }, "group.name", 0},
		{"group update of the domain", func() error { g := f.group; g.DomainID = "other"; return ret(s.UpdateGroup(ctx, g)) }, "group.domain_id", 0},

		// roles: parameter_types.name (255); description stored in 255
		// (assignment/role_backends/sql_model.py)
		{"role name 256 characters", func() error { return ret(s.CreateRole(ctx, identity.Role{Name: long(256)})) }, "role.name", 0},
		{"role name blank", func() error { return ret(s.CreateRole(ctx, identity.Role{Name: "\t"})) }, "role.name", 0},
		{"role description 256 characters", func() error { return ret(s.CreateRole(ctx, identity.Role{Name: "x", Description: long(256)})) }, "role.description", 0},
		{"role update to an empty name", func() error { r := f.role; r.Name = ""; return ret(s.UpdateRole(ctx, r)) }, "role.name", 0},
		{"role update of the domain", func() error { r := f.dRole; r.DomainID = ""; return ret(s.UpdateRole(ctx, r)) }, "role.domain_id", 0},

		// catalog: catalog/schema.py and catalog/backends/sql.py
		{"region id 256 characters", func() error { return ret(s.CreateRegion(ctx, identity.Region{ID: long(256)})) }, "region.id", 0},
		{"region description 256 characters", func() error { return ret(s.CreateRegion(ctx, identity.Region{ID: "r2", Description: long(256)})) }, "region.description", 0},
		{"region its own parent", func() error { r := f.region; r.ParentRegionID = r.ID; return ret(s.UpdateRegion(ctx, r)) }, "region.parent_region_id", 0},
		{"region under its child", func() error { r := f.region; r.ParentRegionID = f.child.ID; return ret(s.UpdateRegion(ctx, r)) }, "region.parent_region_id", 0},
		{"region under a missing parent", func() error { r := f.child; r.ParentRegionID = "nowhere"; return ret(s.UpdateRegion(ctx, r)) }, "", fault.NotFound},
		{"service type empty", func() error { return ret(s.CreateService(ctx, identity.Service{Type: "", Enabled: true})) }, "service.type", 0},
		{"service type 256 characters", func() error { return ret(s.CreateService(ctx, identity.Service{Type: long(256), Enabled: true})) }, "service.type", 0},
		{"service name 256 characters", func() error {
			return ret(s.CreateService(ctx, identity.Service{Type: "x", Name: long(256), Enabled: true}))
		}, "service.name", 0},
		{"service name blank", func() error { return ret(s.CreateService(ctx, identity.Service{Type: "x", Name: "  ", Enabled: true})) }, "service.name", 0},
		{"service update to an empty type", func() error { v := f.service; v.Type = ""; return ret(s.UpdateService(ctx, v)) }, "service.type", 0},
		{"endpoint interface unknown", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "web", URL: "http://x"}))
		}, "endpoint.interface", 0},
		{"endpoint url 226 characters", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "public", URL: "http://" + long(219)}))
		}, "endpoint.url", 0},
		{"endpoint url without a scheme", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "public", URL: "localhost"}))
		}, "endpoint.url", 0},
		{"endpoint url with an unknown substitution", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "public", URL: "http://x/$(tenant)s"}))
		}, "endpoint.url", 0},
		{"endpoint of a missing service", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: "nope", Interface: "public", URL: "http://x"}))
		}, "endpoint.service_id", 0},
		{"endpoint in a missing region", func() error {
			return ret(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "public", RegionID: "nowhere", URL: "http://x"}))
		}, "endpoint.region_id", 0},
		{"endpoint update to an empty url", func() error { e := f.endpoint; e.URL = ""; return ret(s.UpdateEndpoint(ctx, e)) }, "endpoint.url", 0},
		{"endpoint update to a missing service", func() error { e := f.endpoint; e.ServiceID = "nope"; return ret(s.UpdateEndpoint(ctx, e)) }, "endpoint.service_id", 0},

		// application credentials: application_credential/schema.py
		{"application credential name 256 characters", func() error {
			return ret(s.CreateAppCred(ctx, identity.AppCred{Name: long(256), UserID: f.user.ID, ProjectID: f.top.ID, SecretHash: "h"}))
		}, "application_credential.name", 0},
		{"application credential name blank", func() error {
			return ret(s.CreateAppCred(ctx, identity.AppCred{Name: "  ", UserID: f.user.ID, ProjectID: f.top.ID, SecretHash: "h"}))
		}, "application_credential.name", 0},
	}
	before, n := dumpStore(t, s), feedLength(t, feed)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			want := tt.kind
			if want == 0 {
				want = fault.BadRequest
			}
			if fault.KindOf(err) != want {
				t.Errorf("err = %v (kind %v), want kind %v", err, fault.KindOf(err), want)
			}
			if tt.field != "" && fault.FieldOf(err) != tt.field {
				t.Errorf("field = %q, want %q (err %v)", fault.FieldOf(err), tt.field, err)
			}
			if len(fault.Message(err)) > 300 {
				t.Errorf("message is %d bytes long: it should not echo the input", len(fault.Message(err)))
			}
			after, m := dumpStore(t, s), feedLength(t, feed)
			if after != before || m != n {
				t.Errorf("a refused write changed the store (%d feed entries added):\n%s", m-n, apitest.LineDiff(before, after))
				before, n = after, m
			}
		})
	}
}

// TestStoreAcceptsKeystoneInput: the edges of Keystone's rules pass, and
// names are stored stripped, as Keystone stores them.
func TestStoreAcceptsKeystoneInput(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, "sqlite://"+t.TempDir()+"/identity.db")
	f := newInputFixture(t, s)
	x := strings.Repeat
	tags80 := make([]string, 80)
	for i := range tags80 {
		tags80[i] = fmt.Sprintf("%02d", i) + x("é", 253) // 255 characters, more bytes
	}
	p := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: x("p", 64), DomainID: "default", Enabled: true, Tags: tags80}))
	if len(p.Tags) != 80 {
		t.Errorf("tags = %d", len(p.Tags))
	}
	padded := must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: " \tpadded\u00a0", DomainID: "default", Enabled: true}))
	if got := must[identity.Project](t)(s.GetProject(ctx, padded.ID)); got.Name != "padded" {
		t.Errorf("stored name = %q, want it stripped", got.Name)
	}
	must[identity.User](t)(s.CreateUser(ctx, identity.User{Name: x("ü", 255), DomainID: "default", Enabled: true}))
	must[identity.Group](t)(s.CreateGroup(ctx, identity.Group{Name: x("g", 64), DomainID: "default"}))
	must[identity.Role](t)(s.CreateRole(ctx, identity.Role{Name: x("r", 255), Description: x("d", 255)}))
	must[identity.Service](t)(s.CreateService(ctx, identity.Service{Type: "compute", Enabled: true})) // no name
	must[identity.Endpoint](t)(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "admin",
		URL: "https://nova:8774/v2.1/$(project_id)s/%%/$(tenant_id)-10.3r", Enabled: true}))
	must[identity.Endpoint](t)(s.CreateEndpoint(ctx, identity.Endpoint{ServiceID: f.service.ID, Interface: "internal",
		URL: "http://" + x("h", 218), Enabled: true})) // 225 characters

	// The parent a project has is no change; a region may move.
	sub := f.sub
	sub.Description = "same parent"
	must[identity.Project](t)(s.UpdateProject(ctx, sub))
	moved := f.child
	moved.ParentRegionID = ""
	must[identity.Region](t)(s.UpdateRegion(ctx, moved))
	two := must[identity.Region](t)(s.CreateRegion(ctx, identity.Region{ID: "RegionTwo"}))
	moved.ParentRegionID = two.ID
	must[identity.Region](t)(s.UpdateRegion(ctx, moved))
	if got := must[identity.Region](t)(s.GetRegion(ctx, moved.ID)); got.ParentRegionID != two.ID {
		t.Errorf("region parent = %q, want %q", got.ParentRegionID, two.ID)
	}
}

// TestProjectTagFilters: Keystone's tag filters, alone and together.
func TestProjectTagFilters(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, "sqlite://"+t.TempDir()+"/identity.db")
	must[identity.Domain](t)(s.CreateDomain(ctx, identity.Domain{ID: "default", Name: "Default", Enabled: true}))
	for name, tags := range map[string][]string{"xy": {"x", "y"}, "y": {"y"}, "none": nil, "z": {"z"}} {
		must[identity.Project](t)(s.CreateProject(ctx, identity.Project{Name: name, DomainID: "default", Enabled: true, Tags: tags}))
	}
	tests := []struct {
		name string
		f    identity.ProjectFilter
		want []string
	}{
		{"no filter", identity.ProjectFilter{}, []string{"none", "xy", "y", "z"}},
		{"empty lists do not filter", identity.ProjectFilter{Tags: []string{}, NotTags: []string{}}, []string{"none", "xy", "y", "z"}},
		{"all of", identity.ProjectFilter{Tags: []string{"x", "y"}}, []string{"xy"}},
		{"any of", identity.ProjectFilter{TagsAny: []string{"x", "z"}}, []string{"xy", "z"}},
		{"not all of", identity.ProjectFilter{NotTags: []string{"x", "y"}}, []string{"none", "y", "z"}},
		{"none of", identity.ProjectFilter{NotTagsAny: []string{"x", "z"}}, []string{"none", "y"}},
		{"all of and not all of", identity.ProjectFilter{Tags: []string{"y"}, NotTags: []string{"x"}}, []string{"y"}},
		{"not all of and none of", identity.ProjectFilter{NotTags: []string{"y"}, NotTagsAny: []string{"z"}}, []string{"none"}},
		{"an unknown tag and not all of", identity.ProjectFilter{Tags: []string{"nope"}, NotTags: []string{"x"}}, nil},
		{"any of and none of", identity.ProjectFilter{TagsAny: []string{"y", "z"}, NotTagsAny: []string{"x"}}, []string{"y", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range must[[]identity.Project](t)(s.ListProjects(ctx, tt.f)) {
				got = append(got, p.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("projects = %v, want %v", got, tt.want)
			}
		})
	}
}
