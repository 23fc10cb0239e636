package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/recordsets"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/zones"

	"github.com/gostack/gostack/dns"
)

// TestGophercloudZones drives zones through gophercloud's own structs:
// what they decode is what Designate's clients see.
func TestGophercloudZones(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	cl := c.client(memberA)

	z, err := zones.Create(ctx, cl, zones.CreateOpts{Name: "example.org.", Email: "hostmaster@example.org", TTL: 600,
		Description: "the example"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "example.org." || z.Email != "hostmaster@example.org" || z.TTL != 600 || z.Description != "the example" ||
		z.Status != "PENDING" || z.Action != "CREATE" || z.Type != "PRIMARY" || z.ProjectID != projectA ||
		z.PoolID != dns.DefaultPoolID || z.Version != 1 || z.Serial == 0 || z.CreatedAt.IsZero() {
		t.Errorf("created zone = %+v", z)
	}
	if z.Links["self"] != c.URL+"/v2/zones/"+z.ID {
		t.Errorf("self link = %v", z.Links["self"])
	}

	got, err := zones.Get(ctx, cl, z.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != z.ID || got.Serial != z.Serial || !got.CreatedAt.Equal(z.CreatedAt) {
		t.Errorf("get = %+v, want %+v", got, z)
	}

	if _, err := zones.Create(ctx, cl, zones.CreateOpts{Name: "example.net.", Email: "dns@example.net"}).Extract(); err != nil {
		t.Fatal(err)
	}
	pages, err := zones.List(cl, zones.ListOpts{Name: "example.org."}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found, err := zones.ExtractZones(pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != z.ID {
		t.Errorf("list name=example.org. = %+v", found)
	}
	pages, err = zones.List(cl, zones.ListOpts{SortKey: "name", SortDir: "desc"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found, _ = zones.ExtractZones(pages)
	if len(found) != 2 || found[0].Name != "example.org." || found[1].Name != "example.net." {
		t.Errorf("list sorted by name desc = %+v", found)
	}

	desc := "changed"
	upd, err := zones.Update(ctx, cl, z.ID, zones.UpdateOpts{TTL: 900, Description: &desc, Email: "dns@example.org"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if upd.TTL != 900 || upd.Description != "changed" || upd.Email != "dns@example.org" || upd.Status != "PENDING" ||
		upd.Version != 2 || upd.UpdatedAt.IsZero() {
		t.Errorf("updated zone = %+v", upd)
	}

	// The serial batch and the nameservers make it ACTIVE.
	bumped, err := c.Store.BumpSerials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bumped {
		if _, err := c.Store.MarkActive(ctx, b.ID, b.Serial); err != nil {
			t.Fatal(err)
		}
	}
	active, err := zones.Get(ctx, cl, z.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if active.Status != "ACTIVE" || active.Action != "NONE" || active.Serial <= z.Serial {
		t.Errorf("after the serial batch: %+v (serial was %d)", active, z.Serial)
	}

	del, err := zones.Delete(ctx, cl, z.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != z.ID || del.Status != "PENDING" || del.Action != "DELETE" {
		t.Errorf("deleted zone = %+v", del)
	}
}

// TestGophercloudRecordSets drives recordsets through gophercloud.
func TestGophercloudRecordSets(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	cl := c.client(memberA)
	zoneID := c.mkZone(t, memberA, "example.org.")

	rs, err := recordsets.Create(ctx, cl, zoneID, recordsets.CreateOpts{Name: "www.example.org.", Type: "A",
		Records: []string{"192.0.2.1", "192.0.2.2"}, TTL: 300, Description: "web"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if rs.Name != "www.example.org." || rs.Type != "A" || rs.TTL != 300 || rs.Description != "web" || rs.ZoneID != zoneID ||
		rs.ZoneName != "example.org." || rs.ProjectID != projectA || rs.Status != "PENDING" || rs.Action != "CREATE" ||
		!slices.Equal(rs.Records, []string{"192.0.2.1", "192.0.2.2"}) || rs.CreatedAt.IsZero() {
		t.Errorf("created recordset = %+v", rs)
	}
	self := c.URL + "/v2/zones/" + zoneID + "/recordsets/" + rs.ID
	if len(rs.Links) != 1 || rs.Links[0].Rel != "self" || rs.Links[0].Href != self {
		t.Errorf("links = %+v, want self %s", rs.Links, self)
	}

	got, err := recordsets.Get(ctx, cl, zoneID, rs.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rs.ID || !slices.Equal(got.Records, rs.Records) {
		t.Errorf("get = %+v", got)
	}

	pages, err := recordsets.ListByZone(cl, zoneID, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := recordsets.ExtractRecordSets(pages)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range all {
		types = append(types, s.Name+" "+s.Type)
	}
	slices.Sort(types)
	if want := []string{"example.org. NS", "example.org. SOA", "www.example.org. A"}; !slices.Equal(types, want) {
		t.Errorf("recordsets = %v, want %v", types, want)
	}
	pages, err = recordsets.ListByZone(cl, zoneID, recordsets.ListOpts{Type: "A", Data: "192.0.2.2"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if found, _ := recordsets.ExtractRecordSets(pages); len(found) != 1 || found[0].ID != rs.ID {
		t.Errorf("list type=A data=192.0.2.2 = %+v", found)
	}

	ttl, desc := 60, "changed"
	upd, err := recordsets.Update(ctx, cl, zoneID, rs.ID, recordsets.UpdateOpts{Records: []string{"192.0.2.3"}, TTL: &ttl,
		Description: &desc}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if upd.TTL != 60 || upd.Description != "changed" || !slices.Equal(upd.Records, []string{"192.0.2.3"}) ||
		upd.Status != "PENDING" || upd.Action != "UPDATE" || upd.Version != 2 {
		t.Errorf("updated recordset = %+v", upd)
	}

	if err := recordsets.Delete(ctx, cl, zoneID, rs.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := recordsets.Get(ctx, cl, zoneID, rs.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("get after delete: %v, want 404", err)
	}
}

// TestGophercloudQuotas reads and sets quotas as the admin, who must ask
// for all projects to act on another one's, as in Designate.
func TestGophercloudQuotas(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	admin := c.client(adminA)

	q, err := quotas.Get(ctx, c.client(memberB), projectB).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if d := dns.DefaultQuota(); q.Zones != d.Zones || q.ZoneRecordsets != d.ZoneRecordSets || q.ZoneRecords != d.ZoneRecords ||
		q.RecordsetRecords != d.RecordSetRecords || q.APIExporterSize != d.APIExportSize {
		t.Errorf("default quota = %+v", q)
	}

	one := 1
	if _, err := quotas.Update(ctx, admin, projectB, quotas.UpdateOpts{Zones: &one}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Errorf("update without all projects: %v, want 403", err)
	}
	admin.MoreHeaders = map[string]string{"X-Auth-All-Projects": "true"}
	q, err = quotas.Update(ctx, admin, projectB, quotas.UpdateOpts{Zones: &one}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if q.Zones != 1 {
		t.Errorf("updated quota = %+v", q)
	}
	c.mkZone(t, memberB, "b.example.")
	r := c.Do(t, "POST", "/v2/zones", memberB, map[string]any{"name": "b2.example.", "email": "x@b2.example"})
	wantError(t, r, http.StatusRequestEntityTooLarge, "over_quota", "zones")

	if err := c.Do(t, "DELETE", "/v2/quotas/"+projectB, adminA, nil); err.Code != http.StatusNoContent {
		t.Fatalf("reset: %s", err)
	}
	if q, _ := quotas.Get(ctx, c.client(memberB), projectB).Extract(); q.Zones != dns.DefaultQuota().Zones {
		t.Errorf("after reset: %+v", q)
	}
	c.mkZone(t, memberB, "b2.example.")
}

// TestWireShape checks the exact keys of every representation against
// Designate's API_v2 adapters, and its timestamp format.
func TestWireShape(t *testing.T) {
	c := newCloud(t)
	zoneID := c.mkZone(t, memberA, "example.org.")
	rsID := c.mkRecordSet(t, memberA, zoneID, "www.example.org.", "192.0.2.1")
	tsig := c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "k", "algorithm": "hmac-sha256",
		"secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID})

	zoneKeys := "action attributes created_at description email id links masters name pool_id project_id serial shared status transferred_at ttl type updated_at version"
	rsKeys := "action created_at description id links name project_id records status ttl type updated_at version zone_id zone_name"
	for _, tc := range []struct {
		path, token, keys string
	}{
		{"/v2/zones/" + zoneID, memberA, zoneKeys},
		{"/v2/zones/" + zoneID + "/recordsets/" + rsID, memberA, rsKeys},
		{"/v2/pools/" + dns.DefaultPoolID, adminA, "also_notifies attributes created_at description id links name nameservers ns_records project_id targets updated_at"},
		{"/v2/tsigkeys/" + str(t, tsig, "id"), adminA, "algorithm created_at id links name resource_id scope secret updated_at"},
		{"/v2/zones", memberA, "links metadata zones"},
		{"/v2/zones/" + zoneID + "/recordsets", memberA, "links metadata recordsets"},
		{"/v2/recordsets", memberA, "links metadata recordsets"},
		{"/v2/pools", adminA, "links pools"},
		{"/v2/tsigkeys", adminA, "links tsigkeys"},
		{"/v2/quotas", memberA, "api_export_size recordset_records zone_records zone_recordsets zones"},
		{"/v2/limits", memberA, "max_page_limit max_recordset_name_length max_recordset_records max_zone_name_length max_zone_records max_zone_recordsets max_zones min_ttl"},
		{"/v2/reverse/floatingips", memberA, "floatingips links"},
		{"/v2/zones/" + zoneID + "/nameservers", memberA, "nameservers"},
	} {
		body := c.Must(t, http.StatusOK, "GET", tc.path, tc.token, nil)
		var keys []string
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if got := strings.Join(keys, " "); got != tc.keys {
			t.Errorf("GET %s keys:\n got %s\nwant %s", tc.path, got, tc.keys)
		}
	}

	z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zoneID, memberA, nil)
	if ts := str(t, z, "created_at"); len(ts) != len("2006-01-02T15:04:05.000000") || ts[10] != 'T' || strings.ContainsAny(ts, "Z+") {
		t.Errorf("created_at = %q, want Designate's %%Y-%%m-%%dT%%H:%%M:%%S.%%f", ts)
	}
	if z["updated_at"] == nil || z["transferred_at"] != nil || z["shared"] != false {
		t.Errorf("zone with a new recordset: updated_at %v, transferred_at %v, shared %v", z["updated_at"], z["transferred_at"], z["shared"])
	}
	ns := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zoneID+"/nameservers", memberA, nil)
	if got := list(t, ns, "nameservers"); len(got) != 1 || str(t, got[0], "hostname") != "ns1.example.net." || got[0].(map[string]any)["priority"] != float64(1) {
		t.Errorf("nameservers = %v", got)
	}
	rs := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zoneID+"/recordsets/"+rsID, memberA, nil)
	if rs["ttl"] != nil || rs["description"] != nil {
		t.Errorf("recordset without ttl and description: ttl %v, description %v (want null)", rs["ttl"], rs["description"])
	}
	meta := c.Must(t, http.StatusOK, "GET", "/v2/zones", memberA, nil)["metadata"]
	if meta.(map[string]any)["total_count"] != float64(1) {
		t.Errorf("metadata = %v", meta)
	}
	r := c.Call(t, call{Method: "GET", Path: "/v2/zones", Token: memberA, Header: map[string]string{"OpenStack-DNS-Hide-Counts": "true"}})
	if m := r.JSON(t)["metadata"].(map[string]any); len(m) != 0 {
		t.Errorf("metadata with hidden counts = %v", m)
	}

	// /v2/recordsets/{id} redirects to the canonical URL.
	r = c.Do(t, "GET", "/v2/recordsets/"+rsID, memberA, nil)
	if r.Code != http.StatusMovedPermanently || r.Header.Get("Location") != c.URL+"/v2/zones/"+zoneID+"/recordsets/"+rsID {
		t.Errorf("GET /v2/recordsets/{id} = %d Location %q", r.Code, r.Header.Get("Location"))
	}
	// Creates answer Location: the self link.
	r = c.Do(t, "POST", "/v2/zones", memberA, map[string]any{"name": "example.com.", "email": "a@example.com"})
	if r.Code != http.StatusAccepted || r.Header.Get("Location") != c.URL+"/v2/zones/"+str(t, r.JSON(t), "id") {
		t.Errorf("create zone: %d Location %q", r.Code, r.Header.Get("Location"))
	}
	if z := r.JSON(t); z["updated_at"] != nil || z["description"] != nil || len(z["attributes"].(map[string]any)) != 0 {
		t.Errorf("new zone: updated_at %v, description %v, attributes %v (want null, null, {})", z["updated_at"], z["description"], z["attributes"])
	}
}

// TestVersions is designate/api/versions.py: public, {"versions":[...]}.
func TestVersions(t *testing.T) {
	c := newCloud(t)
	for _, path := range []string{"/", "/v2", "/v2/"} {
		body := c.Must(t, http.StatusOK, "GET", path, "", nil)
		vs := list(t, body, "versions")
		if len(vs) != 2 {
			t.Fatalf("GET %s: %v", path, body)
		}
		last := vs[1].(map[string]any)
		if last["id"] != "v2.0" || last["status"] != "CURRENT" || last["updated"] != "2022-06-29T00:00:00Z" {
			t.Errorf("GET %s: %v", path, last)
		}
		links := last["links"].([]any)
		if self := links[0].(map[string]any); self["rel"] != "self" || self["href"] != c.URL+"/v2" {
			t.Errorf("GET %s self link = %v", path, self)
		}
	}
	// Everything else needs a token.
	wantError(t, c.Do(t, "GET", "/v2/zones", "", nil), http.StatusUnauthorized, "", "authentication")
	wantError(t, c.Do(t, "GET", "/v2/zones", "bogus", nil), http.StatusUnauthorized, "", "authentication")
}

// TestGophercloudShares: gophercloud's zone shares (Share, ListShares,
// GetShare, Unshare) decode what the API answers, and the project the
// zone is shared with writes a recordset into it with gophercloud.
func TestGophercloudShares(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	a, b := c.client(memberA), c.client(memberB)
	z, err := zones.Create(ctx, a, zones.CreateOpts{Name: "example.org.", Email: "hostmaster@example.org"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sh, err := zones.Share(ctx, a, z.ID, zones.ShareZoneOpts{TargetProjectID: projectB}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if sh.ZoneID != z.ID || sh.ProjectID != projectA || sh.TargetProjectID != projectB || sh.CreatedAt.IsZero() || !sh.UpdatedAt.IsZero() {
		t.Errorf("share = %+v", sh)
	}
	got, err := zones.GetShare(ctx, a, z.ID, sh.ID).Extract()
	if err != nil || got.ID != sh.ID || !got.CreatedAt.Equal(sh.CreatedAt) {
		t.Errorf("get share = %+v %v", got, err)
	}
	for _, cl := range []*gophercloud.ServiceClient{a, b} {
		pages, err := zones.ListShares(cl, z.ID, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list, err := zones.ExtractZoneShares(pages)
		if err != nil || len(list) != 1 || list[0].ID != sh.ID {
			t.Errorf("list shares = %+v %v", list, err)
		}
	}
	seen, err := zones.Get(ctx, b, z.ID).Extract()
	if err != nil || seen.ProjectID != projectA {
		t.Fatalf("B gets the shared zone: %+v %v", seen, err)
	}
	rs, err := recordsets.Create(ctx, b, z.ID, recordsets.CreateOpts{Name: "b.example.org.", Type: "A", Records: []string{"192.0.2.2"}}).Extract()
	if err != nil || rs.ProjectID != projectB {
		t.Fatalf("B's recordset: %+v %v", rs, err)
	}
	if err := zones.Unshare(ctx, a, z.ID, sh.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("unshare with B's recordset: %v", err)
	}
	if err := recordsets.Delete(ctx, b, z.ID, rs.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := zones.Unshare(ctx, a, z.ID, sh.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := zones.Get(ctx, b, z.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("B gets the zone after the unshare: %v", err)
	}
}
