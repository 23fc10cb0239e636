package allinone_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/agents"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// gopherNetwork is a gophercloud network client for user in project.
func gopherNetwork(t *testing.T, d *daemon, cfg *cloudConfig, user, password, project string) *gophercloud.ServiceClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(t.Context(), gophercloud.AuthOptions{IdentityEndpoint: "http://" + d.addrs["identity"] + "/v3",
		Username: user, Password: password, DomainName: "Default", TenantName: project})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewNetworkV2(p, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gophercloud v2's networking calls against the network area: the Go
// client Terraform's OpenStack provider is built on.
func TestGophercloudNetwork(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.all()...)
	ctx := t.Context()
	admin := gopherNetwork(t, d, cfg, "admin", adminPassword(t, cfg), "admin")

	// A second project with a member, through gophercloud's identity calls.
	ip, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: "http://" + d.addrs["identity"] + "/v3",
		Username: "admin", Password: adminPassword(t, cfg), DomainName: "Default", TenantName: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := openstack.NewIdentityV3(ip, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	other, err := projects.Create(ctx, id, projects.CreateOpts{Name: "other", DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	bob, err := users.Create(ctx, id, users.CreateOpts{Name: "bob", DomainID: "default", Password: "bob-secret"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	var member string
	rolePages, err := roles.List(id, roles.ListOpts{Name: "member"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rs, _ := roles.ExtractRoles(rolePages); len(rs) == 1 {
		member = rs[0].ID
	}
	if err := roles.Assign(ctx, id, member, roles.AssignOpts{UserID: bob.ID, ProjectID: other.ID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	bobNet := gopherNetwork(t, d, cfg, "bob", "bob-secret", "other")

	up := true
	n, err := networks.Create(ctx, admin, networks.CreateOpts{Name: "gopher-net", AdminStateUp: &up}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	s, err := subnets.Create(ctx, admin, subnets.CreateOpts{NetworkID: n.ID, CIDR: "10.30.0.0/24", IPVersion: gophercloud.IPv4,
		AllocationPools: []subnets.AllocationPool{{Start: "10.30.0.10", End: "10.30.0.20"}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if s.GatewayIP != "10.30.0.1" || len(s.AllocationPools) != 1 {
		t.Fatalf("subnet %+v", s)
	}
	sg, err := groups.Create(ctx, admin, groups.CreateOpts{Name: "web"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(sg.Rules) != 2 { // the two egress rules of a new group
		t.Fatalf("new group's rules: %+v", sg.Rules)
	}
	r, err := rules.Create(ctx, admin, rules.CreateOpts{SecGroupID: sg.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: 80, PortRangeMax: 80, RemoteIPPrefix: "0.0.0.0/0"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	_, err = rules.Create(ctx, admin, rules.CreateOpts{SecGroupID: sg.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: 90, PortRangeMax: 80}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("a rule with min > max: %v", err)
	}
	var created []string
	for i := range 11 {
		opts := ports.CreateOpts{NetworkID: n.ID, Name: "p", SecurityGroups: &[]string{sg.ID}}
		if i == 0 {
			opts.FixedIPs = []ports.IP{{SubnetID: s.ID, IPAddress: "10.30.0.15"}}
		}
		p, err := ports.Create(ctx, admin, opts).Extract()
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, p.ID)
	}
	// The pool holds 11 addresses: a twelfth port finds none.
	_, err = ports.Create(ctx, admin, ports.CreateOpts{NetworkID: n.ID}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("a port on a full subnet: %v", err)
	}
	_, err = ports.Create(ctx, admin, ports.CreateOpts{NetworkID: n.ID, FixedIPs: []ports.IP{{SubnetID: s.ID, IPAddress: "10.30.0.15"}}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("an address in use: %v", err)
	}
	// Keyset pages, followed by gophercloud through the next links.
	pagesSeen, total := 0, 0
	err = ports.List(admin, ports.ListOpts{NetworkID: n.ID, Limit: 5}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		ps, err := ports.ExtractPorts(page)
		pagesSeen++
		total += len(ps)
		return true, err
	})
	if err != nil || pagesSeen < 3 || total != 11 {
		t.Fatalf("paged list: %d pages, %d ports, %v", pagesSeen, total, err)
	}
	name := "renamed"
	if p, err := ports.Update(ctx, admin, created[0], ports.UpdateOpts{Name: &name}).Extract(); err != nil || p.Name != name {
		t.Fatalf("update: %+v, %v", p, err)
	}
	// Another project sees none of it.
	if _, err := networks.Get(ctx, bobNet, n.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("bob got admin's network: %v", err)
	}
	bobPages, err := groups.List(bobNet, groups.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs, _ := groups.ExtractGroups(bobPages); len(gs) != 1 || gs[0].Name != "default" {
		t.Fatalf("bob's groups: %+v", gs)
	}
	// Agents are the admin's.
	if _, err := agents.List(bobNet, agents.ListOpts{}).AllPages(ctx); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("bob listed agents: %v", err)
	}
	if _, err := agents.List(admin, agents.ListOpts{}).AllPages(ctx); err != nil {
		t.Fatal(err)
	}
	// A network with ports cannot go; without them it can.
	err = networks.Delete(ctx, admin, n.ID).ExtractErr()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusConflict {
		t.Fatalf("delete a network in use: %v", err)
	}
	for _, p := range created {
		if err := ports.Delete(ctx, admin, p).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rules.Delete(ctx, admin, r.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := groups.Delete(ctx, admin, sg.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := networks.Delete(ctx, admin, n.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
