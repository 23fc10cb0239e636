package allinone_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"
)

// gophercloud v2's placement calls against the Placement area (Nova's
// own client and Terraform's provider speak the same API).
func TestGophercloudPlacement(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.all()...)
	ctx := t.Context()
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: "http://" + d.addrs["identity"] + "/v3",
		Username: "admin", Password: adminPassword(t, cfg), DomainName: "Default", TenantName: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewPlacementV1(p, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	c.Microversion = "1.20" // POST returns the provider

	root, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "gopher-cn"}).Extract()
	if err != nil || root.Generation != 0 {
		t.Fatalf("create: %+v, %v", root, err)
	}
	child, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "gopher-cn-numa0", ParentProviderUUID: root.UUID}).Extract()
	if err != nil || child.RootProviderUUID != root.UUID {
		t.Fatalf("create child: %+v, %v", child, err)
	}
	// Inventories: gophercloud reads them; the PUT is a raw call.
	body := map[string]any{"resource_provider_generation": 0, "inventories": map[string]any{
		"VCPU": map[string]any{"total": 8, "allocation_ratio": 4.0}, "MEMORY_MB": map[string]any{"total": 8192, "reserved": 512}}}
	if _, err := c.Put(ctx, c.ServiceURL("resource_providers", root.UUID, "inventories"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		t.Fatal(err)
	}
	inv, err := resourceproviders.GetInventories(ctx, c, root.UUID).Extract()
	if err != nil || inv.Inventories["VCPU"].AllocationRatio != 4 || inv.Inventories["MEMORY_MB"].Reserved != 512 || inv.ResourceProviderGeneration != 1 {
		t.Fatalf("inventories: %+v, %v", inv, err)
	}
	c.Microversion = "1.6"
	traits, err := resourceproviders.UpdateTraits(ctx, c, root.UUID, resourceproviders.UpdateTraitsOpts{
		ResourceProviderGeneration: 1, Traits: []string{"HW_CPU_X86_AVX2"}}).Extract()
	if err != nil || len(traits.Traits) != 1 || traits.ResourceProviderGeneration != 2 {
		t.Fatalf("traits: %+v, %v", traits, err)
	}
	// A stale generation is refused with Placement's 409.
	_, err = resourceproviders.UpdateTraits(ctx, c, root.UUID, resourceproviders.UpdateTraitsOpts{ResourceProviderGeneration: 1, Traits: []string{"HW_CPU_X86_SSE"}}).Extract()
	if !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("stale generation: %v", err)
	}

	c.Microversion = "1.28"
	consumer := uuid.NewString()
	alloc := map[string]any{"allocations": map[string]any{root.UUID: map[string]any{"resources": map[string]int{"VCPU": 2, "MEMORY_MB": 1024}}},
		"project_id": uuid.NewString(), "user_id": uuid.NewString(), "consumer_generation": nil}
	if _, err := c.Put(ctx, c.ServiceURL("allocations", consumer), alloc, nil, &gophercloud.RequestOpts{OkCodes: []int{204}}); err != nil {
		t.Fatal(err)
	}
	use, err := resourceproviders.GetUsages(ctx, c, root.UUID).Extract()
	if err != nil || use.Usages["VCPU"] != 2 || use.Usages["MEMORY_MB"] != 1024 {
		t.Fatalf("usages: %+v, %v", use, err)
	}
	allocs, err := resourceproviders.GetAllocations(ctx, c, root.UUID).Extract()
	if err != nil || allocs.Allocations[consumer].Resources["VCPU"] != 2 {
		t.Fatalf("allocations: %+v, %v", allocs, err)
	}
	all, err := resourceproviders.List(c, resourceproviders.ListOpts{InTree: root.UUID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := resourceproviders.ExtractResourceProviders(all); len(list) != 2 {
		t.Fatalf("in_tree list: %+v", list)
	}
	if err := resourceproviders.Delete(ctx, c, root.UUID).ExtractErr(); !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("delete of a parent in use: %v", err)
	}
}
