package cinder_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// gopher is a gophercloud block-storage client of the test API as the
// caller of token, through the catalog's URL with the project id
// (project "" for the URL without).
func (c *client) gopher(token, project, microversion string) *gophercloud.ServiceClient {
	endpoint := c.URL + "/v3/"
	if project != "" {
		endpoint += project + "/"
	}
	return &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: token}, Endpoint: endpoint,
		Type: "block-storage", Microversion: microversion}
}

// gophercloud v2's block-storage calls against the API: volumes
// (create, get, list with pages, update, extend, delete), types with
// extra specs and access, quotas, limits and availability zones.
func TestGophercloud(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	sc := c.gopher(alice, projA, "3.60")
	adm := c.gopher(admin, "", "3.60")

	typ, err := volumetypes.Create(ctx, adm, volumetypes.CreateOpts{Name: "gold", ExtraSpecs: map[string]string{"volume_backend_name": "lvm"}}).Extract()
	if err != nil || typ.Name != "gold" {
		t.Fatalf("type create: %+v %v", typ, err)
	}
	if _, err := volumetypes.CreateExtraSpecs(ctx, adm, typ.ID, volumetypes.ExtraSpecsOpts{"multiattach": "<is> False"}).Extract(); err != nil {
		t.Fatalf("extra specs: %v", err)
	}
	if specs, err := volumetypes.ListExtraSpecs(ctx, adm, typ.ID).Extract(); err != nil || len(specs) != 2 {
		t.Fatalf("extra specs: %v %v", specs, err)
	}
	pages, err := volumetypes.List(sc, volumetypes.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := volumetypes.ExtractVolumeTypes(pages); err != nil || len(ts) != 2 {
		t.Fatalf("types: %+v %v", ts, err)
	}

	vol, err := volumes.Create(ctx, sc, volumes.CreateOpts{Size: 2, Name: "data", VolumeType: "gold", Metadata: map[string]string{"k": "v"}}, nil).Extract()
	if err != nil || vol.Status != "creating" || vol.VolumeType != "gold" || vol.Metadata["k"] != "v" {
		t.Fatalf("create: %+v %v", vol, err)
	}
	c.agentDone(t, vol.ID)
	got, err := volumes.Get(ctx, sc, vol.ID).Extract()
	if err != nil || got.Status != "available" || got.TenantID != projA || got.CreatedAt.IsZero() {
		t.Fatalf("get: %+v %v", got, err)
	}
	for i := range 3 {
		if _, err := volumes.Create(ctx, sc, volumes.CreateOpts{Size: 1, Name: "more" + string(rune('a'+i))}, nil).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	// Pages of 2 followed by their next links.
	n, pagesSeen := 0, 0
	err = volumes.List(sc, volumes.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		vs, err := volumes.ExtractVolumes(p)
		n, pagesSeen = n+len(vs), pagesSeen+1
		return true, err
	})
	if err != nil || n != 4 || pagesSeen < 2 {
		t.Fatalf("list: %d volumes in %d pages, %v", n, pagesSeen, err)
	}
	name := "renamed"
	if upd, err := volumes.Update(ctx, sc, vol.ID, volumes.UpdateOpts{Name: &name}).Extract(); err != nil || upd.Name != "renamed" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	if err := volumes.SetImageMetadata(ctx, sc, vol.ID, volumes.ImageMetadataOpts{Metadata: map[string]string{"hw_disk_bus": "scsi"}}).ExtractErr(); err != nil {
		t.Fatalf("set image metadata: %v", err)
	}
	if got, err := volumes.Get(ctx, sc, vol.ID).Extract(); err != nil || got.VolumeImageMetadata["hw_disk_bus"] != "scsi" {
		t.Fatalf("image metadata after the set: %+v %v", got, err)
	}
	if err := volumes.ExtendSize(ctx, sc, vol.ID, volumes.ExtendSizeOpts{NewSize: 3}).ExtractErr(); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if err := volumes.ExtendSize(ctx, sc, vol.ID, volumes.ExtendSizeOpts{NewSize: 4}).ExtractErr(); !gophercloud.ResponseCodeIs(err, 400) {
		t.Fatalf("extend while extending: %v", err)
	}
	c.agentDone(t, vol.ID)
	// A retype (os-retype) to another type of the pool: retyping until
	// the pool's agent reports it done; an unknown type is a 404.
	if _, err := volumetypes.Create(ctx, adm, volumetypes.CreateOpts{Name: "silver",
		ExtraSpecs: map[string]string{"volume_backend_name": "lvm", "note:tier": "2"}}).Extract(); err != nil {
		t.Fatal(err)
	}
	err = volumes.ChangeType(ctx, sc, vol.ID, volumes.ChangeTypeOpts{NewType: "bronze"}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("retype to an unknown type: %v", err)
	}
	if err := volumes.ChangeType(ctx, sc, vol.ID, volumes.ChangeTypeOpts{NewType: "silver",
		MigrationPolicy: volumes.MigrationPolicyOnDemand}).ExtractErr(); err != nil {
		t.Fatalf("retype: %v", err)
	}
	if got, err := volumes.Get(ctx, sc, vol.ID).Extract(); err != nil || got.Status != "retyping" {
		t.Fatalf("retyping: %+v %v", got, err)
	}
	if r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(pool) + "/volumes/" + vol.ID, Token: service,
		Body: storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeInPlace}}); r.Code != 200 {
		t.Fatalf("the agent's report: %s", r)
	}
	if got, err := volumes.Get(ctx, sc, vol.ID).Extract(); err != nil || got.Status != "available" || got.VolumeType != "silver" {
		t.Fatalf("retyped: %+v %v", got, err)
	}
	if err := volumes.Delete(ctx, sc, vol.ID, volumes.DeleteOpts{}).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// Another project's client does not find it.
	if _, err := volumes.Get(ctx, c.gopher(bob, projB, "3.60"), vol.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("bob's get: %v", err)
	}

	q, err := quotasets.Get(ctx, sc, projA).Extract()
	if err != nil || q.Volumes != 10 {
		t.Fatalf("quotas: %+v %v", q, err)
	}
	usage, err := quotasets.GetUsage(ctx, sc, projA).Extract()
	if err != nil || usage.Volumes.InUse != 4 || usage.Volumes.Limit != 10 {
		t.Fatalf("usage: %+v %v", usage, err)
	}
	five := 5
	if q, err := quotasets.Update(ctx, adm, projA, quotasets.UpdateOpts{Volumes: &five}).Extract(); err != nil || q.Volumes != 5 {
		t.Fatalf("quota update: %+v %v", q, err)
	}
	lim, err := limits.Get(ctx, sc).Extract()
	if err != nil || lim.Absolute.MaxTotalVolumes != 5 || lim.Absolute.TotalVolumesUsed != 4 {
		t.Fatalf("limits: %+v %v", lim, err)
	}
	azPages, err := availabilityzones.List(sc).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if zones, err := availabilityzones.ExtractAvailabilityZones(azPages); err != nil || len(zones) != 1 || zones[0].ZoneName != "nova" || !zones[0].ZoneState.Available {
		t.Fatalf("zones: %+v %v", zones, err)
	}
}
