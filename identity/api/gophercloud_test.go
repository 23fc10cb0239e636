package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// gopher is the state the gophercloud steps share, in order: identity v3
// clients found through the catalog, one for a project-scoped admin (what
// an openrc gives) and one for a system-scoped admin.
type gopher struct {
	c       *cloud
	proj    *gophercloud.ServiceClient
	sys     *gophercloud.ServiceClient
	project *projects.Project // made by the projects step
}

// adminOptions is what an openrc for the bootstrap admin says, or with
// system set, OS_SYSTEM_SCOPE=all instead of a project.
func (c *cloud) adminOptions(endpoint string, system bool) gophercloud.AuthOptions {
	o := gophercloud.AuthOptions{IdentityEndpoint: endpoint, Username: "admin", Password: adminPassword, DomainName: "Default"}
	if system {
		o.Scope = &gophercloud.AuthScope{System: true}
	} else {
		o.TenantName = "admin"
	}
	return o
}

func TestGophercloud(t *testing.T) {
	c := newCloud(t)
	g := &gopher{c: c}
	t.Run("authenticate", func(t *testing.T) {
		tests := []struct {
			name     string
			endpoint string // the root is resolved with version discovery (GET / is 300)
			system   bool
			into     **gophercloud.ServiceClient
		}{
			{"openrc at the root", c.URL + "/", false, nil},
			{"openrc at /v3", c.URL + "/v3", false, &g.proj},
			{"system scope", c.URL + "/v3", true, &g.sys},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := openstack.AuthenticatedClient(t.Context(), c.adminOptions(tt.endpoint, tt.system))
				if err != nil {
					t.Fatal(err)
				}
				if p.TokenID == "" || p.IdentityBase != c.URL+"/" {
					t.Fatalf("token %q, identity base %q", p.TokenID, p.IdentityBase)
				}
				id, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{Region: "RegionOne"})
				if err != nil {
					t.Fatal(err)
				}
				if id.Endpoint != c.URL+"/v3/" {
					t.Fatalf("identity endpoint from the catalog = %q", id.Endpoint)
				}
				if tt.into != nil {
					*tt.into = id
				}
			})
		}
	})
	if g.proj == nil || g.sys == nil {
		t.FailNow()
	}
	t.Run("tokens", g.tokens)
	t.Run("catalog", g.catalog)
	t.Run("projects", g.projects)
	if g.project == nil {
		t.FailNow()
	}
	t.Run("users and roles", g.usersAndRoles)
	t.Run("delete the project", g.deleteProject)
	t.Run("application credentials", g.appCreds)
}

func (g *gopher) tokens(t *testing.T) {
	ctx, c := t.Context(), g.c
	tests := []struct {
		name    string
		scope   tokens.Scope
		project string
		roles   []string
	}{
		{"project scope", tokens.Scope{ProjectName: "admin", DomainName: "Default"}, c.AdminProject.ID, []string{"admin", "member", "reader"}},
		{"system scope", tokens.Scope{System: true}, "", []string{"admin", "member", "reader"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tokens.Create(ctx, g.proj, &tokens.AuthOptions{Username: "admin", Password: adminPassword, DomainName: "Default", Scope: tt.scope})
			tok, err := res.ExtractToken()
			if err != nil {
				t.Fatal(err)
			}
			if left := time.Until(tok.ExpiresAt); tok.ID == "" || left <= 0 || left > time.Hour {
				t.Fatalf("token %q expires at %v", tok.ID, tok.ExpiresAt)
			}
			user, err := res.ExtractUser()
			if err != nil || user.ID != c.Admin.ID || user.Name != "admin" || user.Domain.ID != "default" || user.Domain.Name != "Default" {
				t.Errorf("user = %+v, %v", user, err)
			}
			proj, err := res.ExtractProject()
			if err != nil || (proj == nil) != (tt.project == "") || (proj != nil && (proj.ID != tt.project || proj.Name != "admin" || proj.Domain.ID != "default")) {
				t.Errorf("project = %+v, %v", proj, err)
			}
			rs, err := res.ExtractRoles()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range rs {
				names = append(names, r.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.roles) {
				t.Errorf("roles = %v, want %v", names, tt.roles)
			}
			cat, err := res.ExtractServiceCatalog()
			if err != nil || len(cat.Entries) != 1 || cat.Entries[0].Type != "identity" || len(cat.Entries[0].Endpoints) != 3 {
				t.Fatalf("catalog = %+v, %v", cat, err)
			}
			for _, e := range cat.Entries[0].Endpoints {
				if e.URL != c.URL+"/v3" || e.Region != "RegionOne" {
					t.Errorf("catalog endpoint = %+v", e)
				}
			}

			got := tokens.Get(ctx, g.proj, tok.ID)
			if u, err := got.ExtractUser(); err != nil || u.ID != c.Admin.ID {
				t.Errorf("Get: user = %+v, %v", u, err)
			}
			if gt, err := got.ExtractToken(); err != nil || !gt.ExpiresAt.Equal(tok.ExpiresAt) {
				t.Errorf("Get: token = %+v, %v (created %v)", gt, err, tok.ExpiresAt)
			}
			if ok, err := tokens.Validate(ctx, g.proj, tok.ID); !ok || err != nil {
				t.Fatalf("Validate = %v, %v", ok, err)
			}
			if err := tokens.Revoke(ctx, g.proj, tok.ID).Err; err != nil {
				t.Fatal(err)
			}
			if ok, err := tokens.Validate(ctx, g.proj, tok.ID); ok || err != nil {
				t.Fatalf("Validate after Revoke = %v, %v", ok, err)
			}
			if _, err := tokens.Get(ctx, g.proj, tok.ID).ExtractToken(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				t.Fatalf("Get after Revoke: %v, want 404", err)
			}
		})
	}
}

func (g *gopher) catalog(t *testing.T) {
	ctx, c := t.Context(), g.c
	pages, err := services.List(g.sys, services.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := services.ExtractServices(pages)
	if err != nil || len(svcs) != 1 || svcs[0].Type != "identity" || !svcs[0].Enabled || svcs[0].Extra["name"] != "keystone" {
		t.Fatalf("services = %+v, %v", svcs, err)
	}
	pages, err = endpoints.List(g.sys, endpoints.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := endpoints.ExtractEndpoints(pages)
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, e := range eps {
		ifaces = append(ifaces, string(e.Availability))
		if e.ServiceID != svcs[0].ID || e.URL != c.URL+"/v3" || e.Region != "RegionOne" || !e.Enabled {
			t.Errorf("endpoint = %+v", e)
		}
	}
	slices.Sort(ifaces)
	if !slices.Equal(ifaces, []string{"admin", "internal", "public"}) {
		t.Errorf("interfaces = %v", ifaces)
	}
	pages, err = endpoints.List(g.sys, endpoints.ListOpts{Availability: gophercloud.AvailabilityPublic}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if eps, err := endpoints.ExtractEndpoints(pages); err != nil || len(eps) != 1 || eps[0].Availability != gophercloud.AvailabilityPublic {
		t.Errorf("public endpoints = %+v, %v", eps, err)
	}
}

func (g *gopher) projects(t *testing.T) {
	ctx, c := t.Context(), g.c
	enabled := true
	p, err := projects.Create(ctx, g.sys, projects.CreateOpts{Name: "gopher", Description: "made by gophercloud",
		DomainID: "default", Enabled: &enabled, Tags: []string{"go"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "gopher" || p.Description != "made by gophercloud" || p.DomainID != "default" || !p.Enabled ||
		p.ParentID != "default" || p.IsDomain || !slices.Equal(p.Tags, []string{"go"}) || len(p.ID) != 32 {
		t.Fatalf("created project = %+v", p)
	}
	if got, err := projects.Get(ctx, g.sys, p.ID).Extract(); err != nil || got.ID != p.ID || got.Name != "gopher" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	listProjects := func(opts projects.ListOpts) []string {
		t.Helper()
		pages, err := projects.List(g.sys, opts).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := projects.ExtractProjects(pages)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := listProjects(projects.ListOpts{}); !slices.Equal(got, sorted([]string{p.ID, c.AdminProject.ID})) {
		t.Errorf("List = %v", got)
	}
	if got := listProjects(projects.ListOpts{Name: "gopher"}); !slices.Equal(got, []string{p.ID}) {
		t.Errorf("List by name = %v", got)
	}
	desc := "renamed"
	if up, err := projects.Update(ctx, g.sys, p.ID, projects.UpdateOpts{Name: "gopher2", Description: &desc}).Extract(); err != nil ||
		up.Name != "gopher2" || up.Description != "renamed" || up.ID != p.ID {
		t.Errorf("Update = %+v, %v", up, err)
	}
	g.project = p
}

func (g *gopher) usersAndRoles(t *testing.T) {
	ctx, c, p := t.Context(), g.c, g.project
	enabled := true
	u, err := users.Create(ctx, g.sys, users.CreateOpts{Name: "gopher", DomainID: "default", Password: "gopher-pw",
		DefaultProjectID: p.ID, Description: "a gopher", Enabled: &enabled}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "gopher" || u.DomainID != "default" || u.DefaultProjectID != p.ID || u.Description != "a gopher" || !u.Enabled || len(u.ID) != 32 {
		t.Fatalf("created user = %+v", u)
	}
	if got, err := users.Get(ctx, g.sys, u.ID).Extract(); err != nil || got.ID != u.ID || got.Name != "gopher" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	newDesc := "a busy gopher"
	if up, err := users.Update(ctx, g.sys, u.ID, users.UpdateOpts{Description: &newDesc}).Extract(); err != nil || up.Description != newDesc || up.Name != "gopher" {
		t.Errorf("Update = %+v, %v", up, err)
	}

	member := c.roleID(t, "member")
	if err := roles.Assign(ctx, g.sys, member, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	pages, err := roles.ListAssignments(g.sys, roles.ListAssignmentsOpts{UserID: u.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	as, err := roles.ExtractRoleAssignments(pages)
	if err != nil || len(as) != 1 || as[0].Role.ID != member || as[0].User.ID != u.ID || as[0].Scope.Project.ID != p.ID {
		t.Fatalf("assignments = %+v, %v", as, err)
	}
	effective := true
	pages, err = roles.ListAssignments(g.sys, roles.ListAssignmentsOpts{UserID: u.ID, ScopeProjectID: p.ID, Effective: &effective}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	as, err = roles.ExtractRoleAssignments(pages)
	var effRoles []string
	for _, a := range as {
		effRoles = append(effRoles, a.Role.ID)
	}
	if err != nil || !slices.Equal(sorted(effRoles), sorted([]string{member, c.roleID(t, "reader")})) {
		t.Errorf("effective assignments = %+v, %v", as, err)
	}
	pages, err = users.ListProjects(g.sys, u.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := projects.ExtractProjects(pages); err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Errorf("ListProjects = %+v, %v", ps, err)
	}

	// The new user can sign in, to the default project.
	up, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.URL + "/v3",
		Username: "gopher", Password: "gopher-pw", DomainName: "Default", TenantID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if proj, err := tokens.Get(ctx, g.sys, up.TokenID).ExtractProject(); err != nil || proj == nil || proj.ID != p.ID {
		t.Errorf("gopher's token project = %+v, %v", proj, err)
	}

	if err := users.Delete(ctx, g.sys, u.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Get(ctx, g.sys, u.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("Get after Delete: %v, want 404", err)
	}
	if ok, err := tokens.Validate(ctx, g.sys, up.TokenID); ok || err != nil {
		t.Errorf("deleted user's token: Validate = %v, %v", ok, err)
	}
}

func (g *gopher) deleteProject(t *testing.T) {
	ctx, p := t.Context(), g.project
	if err := projects.Delete(ctx, g.sys, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := projects.Get(ctx, g.sys, p.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("Get after Delete: %v, want 404", err)
	}
}

func (g *gopher) appCreds(t *testing.T) {
	ctx, c := t.Context(), g.c
	ac, err := applicationcredentials.Create(ctx, g.proj, c.Admin.ID, applicationcredentials.CreateOpts{
		Name: "gopher-ci", Description: "read-only CI", Roles: []applicationcredentials.Role{{Name: "reader"}},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if ac.Name != "gopher-ci" || ac.Description != "read-only CI" || ac.ProjectID != c.AdminProject.ID || ac.Secret == "" ||
		ac.Unrestricted || len(ac.Roles) != 1 || ac.Roles[0].Name != "reader" || !ac.ExpiresAt.IsZero() {
		t.Fatalf("created = %+v", ac)
	}
	if got, err := applicationcredentials.Get(ctx, g.proj, c.Admin.ID, ac.ID).Extract(); err != nil || got.ID != ac.ID || got.Secret != "" {
		t.Errorf("Get = %+v, %v (the secret is shown once)", got, err)
	}

	tests := []struct {
		name string
		opts gophercloud.AuthOptions
	}{
		{"by id", gophercloud.AuthOptions{ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret}},
		{"by name", gophercloud.AuthOptions{ApplicationCredentialName: "gopher-ci", ApplicationCredentialSecret: ac.Secret,
			Username: "admin", DomainName: "Default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.IdentityEndpoint = c.URL + "/v3"
			p, err := openstack.AuthenticatedClient(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			res := tokens.Get(ctx, g.proj, p.TokenID)
			proj, err := res.ExtractProject()
			if err != nil || proj == nil || proj.ID != c.AdminProject.ID {
				t.Errorf("project = %+v, %v", proj, err)
			}
			rs, err := res.ExtractRoles()
			if err != nil || len(rs) != 1 || rs[0].Name != "reader" {
				t.Errorf("roles = %+v, %v", rs, err)
			}
			// A reader cannot create projects.
			id, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = projects.Create(ctx, id, projects.CreateOpts{Name: "nope"}).Extract()
			if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
				t.Errorf("create a project with the reader credential: %v, want 403", err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		_, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.URL + "/v3",
			ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: "wrong"})
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Errorf("err = %v, want 401", err)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		if err := applicationcredentials.Delete(ctx, g.proj, c.Admin.ID, ac.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		_, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.URL + "/v3",
			ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret})
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Errorf("err = %v, want 401", err)
		}
	})
}
