package allinone_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/aggregates"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// gophercloud v2's compute calls (what Terraform's OpenStack provider
// uses) against the Compute API. No compute host runs here: a server
// goes to ERROR with the scheduler's reason, which is what a client
// must be able to read.
func TestGophercloudCompute(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.all()...)
	ctx := t.Context()
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: "http://" + d.addrs["identity"] + "/v3",
		Username: "admin", Password: adminPassword(t, cfg), DomainName: "Default", TenantName: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewComputeV2(p, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	c.Microversion = "2.79"
	img, err := openstack.NewImageV2(p, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}

	// Flavors: devstack's defaults, and one of ours with an extra spec.
	pages, err := flavors.ListDetail(c, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fls, err := flavors.ExtractFlavors(pages)
	if err != nil || len(fls) != 7 {
		t.Fatalf("flavors: %d, %v", len(fls), err)
	}
	disk := 1
	fl, err := flavors.Create(ctx, c, flavors.CreateOpts{Name: "gopher", RAM: 128, VCPUs: 1, Disk: &disk}).Extract()
	if err != nil || fl.Name != "gopher" || fl.RAM != 128 {
		t.Fatalf("flavor create: %+v %v", fl, err)
	}
	if _, err := flavors.CreateExtraSpecs(ctx, c, fl.ID, flavors.ExtraSpecsOpts{"hw:cpu_policy": "shared"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if specs, err := flavors.ListExtraSpecs(ctx, c, fl.ID).Extract(); err != nil || specs["hw:cpu_policy"] != "shared" {
		t.Fatalf("extra specs: %v %v", specs, err)
	}

	// Key pairs and server groups.
	kp, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gopher-key"}).Extract()
	if err != nil || !strings.Contains(kp.PrivateKey, "PRIVATE KEY") || kp.Fingerprint == "" {
		t.Fatalf("keypair create: %+v %v", kp, err)
	}
	if got, err := keypairs.Get(ctx, c, "gopher-key", nil).Extract(); err != nil || got.PublicKey != kp.PublicKey {
		t.Fatalf("keypair get: %+v %v", got, err)
	}
	sg, err := servergroups.Create(ctx, c, servergroups.CreateOpts{Name: "gopher-group", Policy: "anti-affinity"}).Extract()
	if err != nil || sg.Policy == nil || *sg.Policy != "anti-affinity" {
		t.Fatalf("server group: %+v %v", sg, err)
	}
	agg, err := aggregates.Create(ctx, c, aggregates.CreateOpts{Name: "gopher-agg", AvailabilityZone: "gopher-az"}).Extract()
	if err != nil || agg.AvailabilityZone != "gopher-az" {
		t.Fatalf("aggregate: %+v %v", agg, err)
	}
	if pages, err := services.List(c, nil).AllPages(ctx); err != nil {
		t.Fatal(err)
	} else if svcs, err := services.ExtractServices(pages); err != nil || len(svcs) != 0 {
		t.Fatalf("services with no compute host: %+v %v", svcs, err)
	}

	// A server: accepted, then ERROR with the reason.
	im, err := images.Create(ctx, img, images.CreateOpts{Name: "gopher-image", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(make([]byte, 4096))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	// A security group no one has: Nova's 400 at the API, nothing made.
	_, err = servers.Create(ctx, c, servers.CreateOpts{Name: "gopher-nosg", ImageRef: im.ID, FlavorRef: fl.ID, Networks: "none",
		SecurityGroups: []string{"gopher-nope"}}, nil).Extract()
	if !gophercloud.ResponseCodeIs(err, 400) || !strings.Contains(err.Error(), "Unable to find security_group with name or id 'gopher-nope'") {
		t.Fatalf("a server with an unknown security group: %v", err)
	}
	srv, err := servers.Create(ctx, c, servers.CreateOpts{Name: "gopher-vm", ImageRef: im.ID, FlavorRef: fl.ID, Networks: "none",
		Metadata: map[string]string{"role": "test"}}, servers.SchedulerHintOpts{Group: sg.ID}).Extract()
	if err != nil || srv.ID == "" || srv.AdminPass == "" {
		t.Fatalf("server create: %+v %v", srv, err)
	}
	eventually(t, "the server in ERROR", func() bool {
		s, err := servers.Get(ctx, c, srv.ID).Extract()
		return err == nil && s.Status == "ERROR"
	})
	s, err := servers.Get(ctx, c, srv.ID).Extract()
	if err != nil || !strings.Contains(s.Fault.Message, "No valid host was found") || s.Metadata["role"] != "test" || s.Flavor["original_name"] != "gopher" {
		t.Fatalf("server get: %+v %v", s, err)
	}
	pages, err = servers.List(c, servers.ListOpts{Name: "gopher"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := servers.ExtractServers(pages); err != nil || len(list) != 1 || list[0].ID != srv.ID {
		t.Fatalf("server list: %+v %v", list, err)
	}
	if err := servers.Delete(ctx, c, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := servers.Get(ctx, c, srv.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("server after delete: %v", err)
	}
	if err := servergroups.Delete(ctx, c, sg.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := keypairs.Delete(ctx, c, "gopher-key", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := flavors.Delete(ctx, c, fl.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
