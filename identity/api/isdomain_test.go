package api_test

import (
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestProjectsActingAsDomains: Keystone 22 keeps each domain as a
// project acting as a domain (is_domain), and so does this API's view of
// them: one is created through POST /v3/projects and shows under
// /v3/domains; /v3/projects/{id} shows, updates and deletes a domain with
// the project rules Keystone applies to one. Every status and message is
// the one a Keystone 22 answered to the same calls.
func TestProjectsActingAsDomains(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			c := newCloudOn(t, e.DSN)
			admin := c.adminToken(t)
			project := func(body string) reply {
				return c.Do(t, "POST", "/v3/projects", admin, body)
			}
			r := project(`{"project":{"name":"dp","description":"acting","is_domain":true}}`)
			if r.Code != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			b := r.JSON(t)
			d := str(t, b, "project.id")
			for k, want := range map[string]any{"project.domain_id": nil, "project.parent_id": nil, "project.is_domain": true,
				"project.name": "dp", "project.description": "acting", "project.enabled": true} {
				if !has(b, k) || at(b, k) != want {
					t.Errorf("%s = %v, want %v", k, at(b, k), want)
				}
			}
			if len(list(t, b, "project.tags")) != 0 {
				t.Errorf("tags: %v", at(b, "project.tags"))
			}
			if got := c.Must(t, http.StatusOK, "GET", "/v3/domains/"+d, admin, nil); at(got, "domain.name") != "dp" || at(got, "domain.description") != "acting" {
				t.Errorf("GET /v3/domains/%s: %v", d, got)
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/domains?name=dp", admin, nil), "domains", "id"); !slices.Equal(got, []string{d}) {
				t.Errorf("domains named dp: %v", got)
			}
			for _, id := range []string{d, "default"} {
				got := c.Must(t, http.StatusOK, "GET", "/v3/projects/"+id, admin, nil)
				if at(got, "project.is_domain") != true || at(got, "project.domain_id") != nil || !has(got, "project.parent_id") || at(got, "project.parent_id") != nil {
					t.Errorf("GET /v3/projects/%s: %v", id, got)
				}
			}
			if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/projects?is_domain=true", admin, nil), "projects", "id"); !slices.Equal(got, sorted([]string{d, "default"})) {
				t.Errorf("is_domain=true: %v", got)
			}

			// Names and ids: one name per domain, whichever way it is made.
			dup := "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: dp."
			wantError(t, project(`{"project":{"name":"dp","is_domain":true}}`), 409, dup)
			wantError(t, c.Do(t, "POST", "/v3/domains", admin, `{"domain":{"name":"dp"}}`), 409, dup)
			wantError(t, c.Do(t, "POST", "/v3/domains", admin, `{"domain":{"name":"other","id":"`+c.AdminProject.ID+`"}}`), 409,
				"it is not permitted to have two projects acting as domains with the same name: other.")
			wantError(t, project(`{"project":{"name":"x","is_domain":true,"domain_id":"default"}}`), 400, "only root projects are allowed to act as domains.")
			wantError(t, project(`{"project":{"name":"x","is_domain":true,"parent_id":"default"}}`), 400, "only root projects are allowed to act as domains.")

			// Parents: a top-level project's parent is its domain.
			a := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin, `{"project":{"name":"a","domain_id":"`+d+`"}}`), "project.id")
			wantError(t, project(`{"project":{"name":"b","parent_id":"`+d+`"}}`), 400,
				"Cannot create project, the parent ("+d+") is acting as a domain, but this project's domain id (default) does not match the parent's id.")
			bb := c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin, `{"project":{"name":"b","parent_id":"`+d+`","domain_id":"`+d+`"}}`)
			if at(bb, "project.parent_id") != d || at(bb, "project.domain_id") != d || at(bb, "project.is_domain") != false {
				t.Errorf("project under the domain: %v", bb)
			}
			wantError(t, project(`{"project":{"name":"c","parent_id":"`+a+`"}}`), 400,
				"Cannot create project, since it specifies its domain_id default, but specifies a parent in a different domain ("+d+").")
			cc := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin,
				`{"project":{"name":"c","parent_id":"`+a+`","domain_id":"`+d+`","enabled":false}}`), "project.id")

			// Enabling and disabling along the hierarchy.
			patch := func(id, body string) reply { return c.Do(t, "PATCH", "/v3/projects/"+id, admin, body) }
			c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+a, admin, `{"project":{"enabled":false}}`)
			wantError(t, patch(cc, `{"project":{"enabled":true}}`), 403, "Cannot enable project "+cc+" since it has disabled parents")
			wantError(t, project(`{"project":{"name":"e","parent_id":"`+a+`","domain_id":"`+d+`"}}`), 400,
				"cannot create a project in a branch containing a disabled project: "+a)
			c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+a, admin, `{"project":{"enabled":true}}`)
			c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+cc, admin, `{"project":{"enabled":true}}`)
			wantError(t, patch(a, `{"project":{"enabled":false}}`), 403, "Cannot disable project "+a+" since its subtree contains enabled projects.")
			wantError(t, c.Do(t, "DELETE", "/v3/projects/"+a, admin, nil), 403,
				"Cannot delete the project "+a+" since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.")

			// The domain through /v3/projects/{id}.
			wantError(t, patch(d, `{"project":{"domain_id":"default"}}`), 400, "Cannot change Domain ID")
			wantError(t, patch(d, `{"project":{"parent_id":"default"}}`), 403, "Update of `parent_id` is not allowed.")
			wantError(t, patch(d, `{"project":{"is_domain":false}}`), 400, "Update of `is_domain` is not allowed.")
			wantError(t, patch(d, `{"project":{"name":"Default"}}`), 409,
				"it is not permitted to have two projects acting as domains with the same name: Default.")
			wantError(t, patch(d, `{"project":{"tags":["t"]}}`), 400, "domain tags are not supported")
			c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+d, admin, `{"project":{"domain_id":null,"parent_id":null,"is_domain":true}}`)
			wantError(t, patch(a, `{"project":{"is_domain":true}}`), 400, "Update of `is_domain` is not allowed.")
			wantError(t, patch(a, `{"project":{"name":"b"}}`), 409,
				"it is not permitted to have two projects with either the same name or same id in the same domain: name is b, project id "+a+".")
			// A domain is disabled whatever is enabled below it.
			u := c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+d, admin, `{"project":{"enabled":false,"description":"off"}}`)
			if at(u, "project.enabled") != false || at(u, "project.is_domain") != true || !has(u, "project.extra") {
				t.Errorf("update reply: %v", u)
			}
			if got := c.Must(t, http.StatusOK, "GET", "/v3/domains/"+d, admin, nil); at(got, "domain.enabled") != false || at(got, "domain.description") != "off" {
				t.Errorf("the domain after its update as a project: %v", got)
			}
			wantError(t, project(`{"project":{"name":"f","domain_id":"`+d+`"}}`), 400,
				"cannot create a project in a branch containing a disabled project: "+d)
			c.Must(t, http.StatusOK, "PATCH", "/v3/projects/"+cc, admin, `{"project":{"enabled":false}}`)
			wantError(t, patch(cc, `{"project":{"enabled":true}}`), 403, "Cannot enable project "+cc+" since it has disabled parents")

			// A project acting as a domain scopes no project token.
			wantError(t, c.issue(t, passwordAuth("admin", adminPassword, projectScope("default")), ""), 401, "")

			// Deleting: an enabled domain is refused; a disabled one goes
			// with everything in it.
			wantError(t, c.Do(t, "DELETE", "/v3/projects/default", admin, nil), 403, "Cannot delete a domain that is enabled, please disable it first.")
			c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+d, admin, nil)
			wantError(t, c.Do(t, "GET", "/v3/domains/"+d, admin, nil), 404, "Could not find domain: "+d+".")
			for _, id := range []string{d, a, cc} {
				wantError(t, c.Do(t, "GET", "/v3/projects/"+id, admin, nil), 404, "Could not find project: "+id+".")
			}
		})
	}
}

// TestProjectTreeDepth: Keystone's max_project_tree_depth (5) counts the
// levels of projects below a domain.
func TestProjectTreeDepth(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	parent := "default"
	for i := range 5 {
		parent = str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin,
			map[string]any{"project": map[string]any{"name": "level" + string(rune('1'+i)), "parent_id": parent}}), "project.id")
	}
	before := c.snapshot(t, admin)
	wantError(t, c.Do(t, "POST", "/v3/projects", admin, map[string]any{"project": map[string]any{"name": "level6", "parent_id": parent}}), 403,
		"Max hierarchy depth reached for "+parent+" branch.")
	if after := c.snapshot(t, admin); after != before {
		t.Errorf("a refused project changed the state:\n%s", apitest.LineDiff(before, after))
	}
	c.Store.MaxProjectTreeDepth = 6
	c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin, map[string]any{"project": map[string]any{"name": "level6", "parent_id": parent}})
}

// TestProjectsActingAsDomainsPolicy: the policy sees a project acting as
// a domain as Keystone's target does, with no domain (None): a domain
// reader's list of them is empty and a domain-scoped reader may not show
// one, while oslo.policy's "domain_id:%(target.project.domain_id)s" lets a
// project-scoped reader, whose token has no domain either, show any —
// as Keystone 22 does (its rule compares the strings "None").
func TestProjectsActingAsDomainsPolicy(t *testing.T) {
	c := newCloud(t)
	admin := c.adminToken(t)
	top := c.mkProject(t, admin, "top", "default")
	u := c.mkUser(t, admin, "u", "pw", "default")
	c.grant(t, admin, "projects/"+top, u, "member")
	c.grant(t, admin, "domains/default", u, "reader")
	domainTok := c.token(t, "u", "pw", domainScope("default"))
	projectTok := c.token(t, "u", "pw", projectScope(top))
	if got := list(t, c.Must(t, http.StatusOK, "GET", "/v3/projects?is_domain=true", domainTok, nil), "projects"); len(got) != 0 {
		t.Errorf("a domain reader lists projects acting as domains: %v", got)
	}
	wantError(t, c.Do(t, "GET", "/v3/projects/default", domainTok, nil), 403, "identity:get_project")
	if got := c.Must(t, http.StatusOK, "GET", "/v3/projects/default", projectTok, nil); at(got, "project.is_domain") != true {
		t.Errorf("project reader's GET of the default domain: %v", got)
	}
	wantError(t, c.Do(t, "POST", "/v3/projects", projectTok, `{"project":{"name":"x","is_domain":true}}`), 403, "identity:create_project")
}

// TestClientsProjectsActingAsDomains is the client proof of projects
// acting as domains: gophercloud creates, lists, shows, updates and
// deletes one through /v3/projects (its IsDomain options), and the
// openstack CLI makes projects in it (project create --domain), shows a
// domain as a project and prints Keystone's refusal of a parent in
// another domain.
func TestClientsProjectsActingAsDomains(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)
	ctx := t.Context()
	p, err := openstack.AuthenticatedClient(ctx, c.adminOptions(c.URL+"/v3", true))
	if err != nil {
		t.Fatal(err)
	}
	gc, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	dp, err := projects.Create(ctx, gc, projects.CreateOpts{Name: "dp", IsDomain: &yes, Description: "acting"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !dp.IsDomain || dp.DomainID != "" || dp.ParentID != "" {
		t.Fatalf("gophercloud create: %+v", dp)
	}
	pages, err := projects.List(gc, projects.ListOpts{IsDomain: &yes}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := projects.ExtractProjects(pages)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range all {
		names = append(names, x.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"Default", "dp"}) {
		t.Errorf("gophercloud list is_domain: %v", names)
	}

	var made map[string]any
	c.openstackJSON(t, bin, &made, "project", "create", "--domain", "dp", "inside")
	if made["domain_id"] != dp.ID || made["parent_id"] != dp.ID || made["is_domain"] != false {
		t.Errorf("openstack project create --domain dp: %v", made)
	}
	var ps []map[string]any
	c.openstackJSON(t, bin, &ps, "project", "list", "--domain", "dp")
	if len(ps) != 1 || ps[0]["Name"] != "inside" {
		t.Errorf("openstack project list --domain dp: %v", ps)
	}
	var shown map[string]any
	c.openstackJSON(t, bin, &shown, "project", "show", dp.ID)
	if shown["is_domain"] != true || shown["name"] != "dp" || shown["domain_id"] != nil {
		t.Errorf("openstack project show <domain id>: %v", shown)
	}
	cmd := exec.Command(bin, "project", "create", "--domain", "dp", "--parent", c.AdminProject.ID, "astray")
	cmd.Env = c.openstackEnv(t)
	if out, err := cmd.CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "Cannot create project, since it specifies its domain_id "+dp.ID+", but specifies a parent in a different domain (default).") ||
		!strings.Contains(string(out), "HTTP 400") {
		t.Errorf("openstack project create --parent in another domain: %v\n%s", err, out)
	}

	up, err := projects.Update(ctx, gc, dp.ID, projects.UpdateOpts{Enabled: &no, IsDomain: &yes}).Extract()
	if err != nil || up.Enabled || !up.IsDomain {
		t.Fatalf("gophercloud update: %+v %v", up, err)
	}
	var doms []map[string]any
	c.openstackJSON(t, bin, &doms, "domain", "list")
	i := slices.IndexFunc(doms, func(d map[string]any) bool { return d["Name"] == "dp" })
	if i < 0 || doms[i]["Enabled"] != false {
		t.Errorf("openstack domain list after the update: %v", doms)
	}
	if err := projects.Delete(ctx, gc, dp.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store.GetDomain(ctx, dp.ID); err == nil {
		t.Error("the domain is still there after its delete as a project")
	}
}
