package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/recordsets"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/zones"

	"github.com/gostack/gostack/dns"
)

// TestSecondaryZones: a SECONDARY zone keeps its masters (port 53 not
// shown, as Designate's adapter renders them), and its recordsets are not
// for members to write.
func TestSecondaryZones(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	z, err := zones.Create(ctx, c.client(memberA), zones.CreateOpts{Name: "sec.example.", Type: "SECONDARY",
		Masters: []string{"192.0.2.1", "192.0.2.2:5353"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if z.Type != "SECONDARY" || !slices.Equal(z.Masters, []string{"192.0.2.1", "192.0.2.2:5353"}) || z.Email == "" {
		t.Errorf("secondary zone = %+v", z)
	}
	z, err = zones.Update(ctx, c.client(memberA), z.ID, zones.UpdateOpts{Masters: []string{"192.0.2.9:53"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(z.Masters, []string{"192.0.2.9"}) {
		t.Errorf("masters after update = %v", z.Masters)
	}
	_, err = recordsets.Create(ctx, c.client(memberA), z.ID, recordsets.CreateOpts{Name: "www.sec.example.", Type: "A",
		Records: []string{"192.0.2.1"}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Errorf("member writes a secondary zone's recordset: %v, want 403", err)
	}
	r := c.Do(t, "POST", "/v2/zones/"+z.ID+"/recordsets", adminA, map[string]any{"name": "www.sec.example.", "type": "A", "records": []string{"192.0.2.1"}})
	wantError(t, r, http.StatusBadRequest, "bad_request", "SECONDARY")
}

// TestZoneUpdateKeepsReadOnlyValues: a PATCH may repeat read-only and
// immutable fields with their current values, as Designate's adapter
// allows; trailing slashes are ignored.
func TestZoneUpdateKeepsReadOnlyValues(t *testing.T) {
	c := newCloud(t)
	id := c.mkZone(t, memberA, "example.org.")
	cur := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+id+"/", memberA, nil)
	body := map[string]any{"name": cur["name"], "id": cur["id"], "type": cur["type"], "serial": cur["serial"],
		"attributes": map[string]any{}, "pool_id": cur["pool_id"], "ttl": 4200, "description": nil}
	upd := c.Must(t, http.StatusAccepted, "PATCH", "/v2/zones/"+id, memberA, body)
	if upd["ttl"] != float64(4200) || upd["name"] != "example.org." {
		t.Errorf("updated = %v", upd)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/", memberA, nil), "zones"); !slices.Equal(got, []string{id}) {
		t.Errorf("GET /v2/zones/ = %v", got)
	}
}

// TestRecordSetTTLReset: a PUT with "ttl": null gives the recordset back
// the zone's TTL.
func TestRecordSetTTLReset(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	rs := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/recordsets", memberA,
		map[string]any{"name": "mail.example.org.", "type": "MX", "records": []string{"10 mx.example.org."}, "ttl": 60})
	if rs["ttl"] != float64(60) {
		t.Fatalf("created = %v", rs)
	}
	upd := c.Must(t, http.StatusAccepted, "PUT", "/v2/zones/"+zone+"/recordsets/"+str(t, rs, "id"), memberA, map[string]any{"ttl": nil})
	if upd["ttl"] != nil || upd["action"] != "UPDATE" || !slices.Equal(list(t, upd, "records"), []any{"10 mx.example.org."}) {
		t.Errorf("updated = %v", upd)
	}
	del := c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+zone+"/recordsets/"+str(t, rs, "id"), memberA, nil)
	if del["status"] != "PENDING" || del["action"] != "DELETE" {
		t.Errorf("deleted = %v", del)
	}
}

// TestTSIGKeys: the admin's CRUD of TSIG keys, secret included.
func TestTSIGKeys(t *testing.T) {
	c := newCloud(t)
	k := c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "xfr", "algorithm": "hmac-sha512",
		"secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID})
	id := str(t, k, "id")
	if k["secret"] != "c2VjcmV0" || k["algorithm"] != "hmac-sha512" || k["scope"] != "POOL" {
		t.Errorf("created = %v", k)
	}
	upd := c.Must(t, http.StatusOK, "PATCH", "/v2/tsigkeys/"+id, adminA, map[string]any{"name": "xfr2", "secret": "bmV3"})
	if upd["name"] != "xfr2" || upd["secret"] != "bmV3" || upd["updated_at"] == nil {
		t.Errorf("updated = %v", upd)
	}
	got := c.Must(t, http.StatusOK, "GET", "/v2/tsigkeys?name=xfr*", adminA, nil)
	if l := list(t, got, "tsigkeys"); len(l) != 1 || str(t, l[0], "secret") != "bmV3" {
		t.Errorf("list = %v", got)
	}
	if r := c.Do(t, "DELETE", "/v2/tsigkeys/"+id, adminA, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Errorf("delete = %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/tsigkeys/"+id, adminA, nil), http.StatusNotFound, "tsigkey_not_found")
}

// TestDefaultPool: the default pool, with its nameservers, made with no
// project.
func TestDefaultPool(t *testing.T) {
	c := newCloud(t)
	p := c.Must(t, http.StatusOK, "GET", "/v2/pools/"+dns.DefaultPoolID, adminA, nil)
	ns := list(t, p, "ns_records")
	if len(ns) != 1 || str(t, ns[0], "hostname") != "ns1.example.net." || p["project_id"] != nil {
		t.Errorf("pool = %v", p)
	}
	// An admin may place a zone in a pool by its pool_id attribute.
	z := c.Must(t, http.StatusAccepted, "POST", "/v2/zones", adminA, map[string]any{"name": "forced.example.", "email": "a@forced.example",
		"attributes": map[string]string{"pool_id": dns.DefaultPoolID}})
	if z["pool_id"] != dns.DefaultPoolID {
		t.Errorf("zone = %v", z)
	}
}
