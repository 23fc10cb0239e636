package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
)

var allProjects = map[string]string{"X-Auth-All-Projects": "true"}

// TestAbandon: POST /v2/zones/{id}/tasks/abandon is for admins (policy
// abandon_zone); the zone's project's members and readers get 403,
// another project 404 (an admin too, without X-Auth-All-Projects), a zone
// with a subzone 400, and none of it changes anything. An admin's abandon
// answers 204 with no body, and the zone is gone at once, its name free.
func TestAbandon(t *testing.T) {
	c := newCloud(t)
	zoneA := c.mkZone(t, memberA, "a.example.")
	c.mkRecordSet(t, memberA, zoneA, "www.a.example.", "192.0.2.1")
	sub := c.mkZone(t, memberA, "sub.a.example.")
	zoneB := c.mkZone(t, memberB, "b.example.")
	path := func(id string) string { return "/v2/zones/" + id + "/tasks/abandon" }

	before := c.snapshot(t)
	for _, tc := range []struct {
		name, token, zone string
		header            map[string]string
		code              int
		typ               string
	}{
		{"member", memberA, sub, nil, 403, "forbidden"},
		{"reader", readerA, sub, nil, 403, "forbidden"},
		{"no role", nobodyA, sub, nil, 403, "forbidden"},
		{"another project's member", memberB, sub, nil, 404, "zone_not_found"},
		{"admin of another project, without all projects", adminA, zoneB, nil, 404, "zone_not_found"},
		{"unknown zone", adminA, uuid.NewString(), allProjects, 404, "zone_not_found"},
		{"not a uuid", adminA, "not-a-uuid", allProjects, 400, "invalid_uuid"},
		{"zone with a subzone", adminA, zoneA, nil, 400, "zone_has_sub_zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: "POST", Path: path(tc.zone), Token: tc.token, Header: tc.header}), tc.code, tc.typ)
		})
	}
	wantError(t, c.Do(t, "GET", path(sub), adminA, nil), 405, "")
	c.unchanged(t, before)

	r := c.Call(t, call{Method: "POST", Path: path(sub), Token: adminA})
	if r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("abandon: %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/"+sub, memberA, nil), 404, "zone_not_found")
	wantError(t, c.Call(t, call{Method: "POST", Path: path(sub), Token: adminA}), 404, "zone_not_found")
	// Another project's zone, with X-Auth-All-Projects, and its name taken again.
	if r := c.Call(t, call{Method: "POST", Path: path(zoneB), Token: adminA, Header: allProjects}); r.Code != http.StatusNoContent {
		t.Fatalf("abandon B's zone: %s", r)
	}
	c.mkZone(t, memberA, "b.example.")
	zones := c.Must(t, http.StatusOK, "GET", "/v2/zones", adminA, nil)
	if got := ids(t, zones, "zones"); len(got) != 2 || got[0] != zoneA {
		t.Errorf("zones after the abandons: %v", got)
	}
}

// TestXFR: POST /v2/zones/{id}/tasks/xfr asks for a SECONDARY zone's
// transfer (202, the JSON empty string, the request's time stored for
// the transfer loop); readers get 403, another project 404, a PRIMARY
// zone 400 (after the policy: a reader still gets 403), and none of it
// changes anything.
func TestXFR(t *testing.T) {
	c := newCloud(t)
	sec := str(t, c.Must(t, http.StatusAccepted, "POST", "/v2/zones", memberA,
		map[string]any{"name": "sec.example.", "type": "SECONDARY", "masters": []string{"192.0.2.53"}}), "id")
	primary := c.mkZone(t, memberA, "primary.example.")
	path := func(id string) string { return "/v2/zones/" + id + "/tasks/xfr" }
	asked := func() string {
		t.Helper()
		sz, err := c.Store.SecondaryZones(context.Background())
		if err != nil || len(sz) != 1 {
			t.Fatalf("secondary zones: %+v %v", sz, err)
		}
		return sz[0].AskedAt.String()
	}

	before, never := c.snapshot(t), asked()
	for _, tc := range []struct {
		name, token, zone string
		code              int
		typ, msg          string
	}{
		{"reader", readerA, sec, 403, "forbidden", ""},
		{"no role", nobodyA, sec, 403, "forbidden", ""},
		{"another project's member", memberB, sec, 404, "zone_not_found", ""},
		{"primary zone", memberA, primary, 400, "bad_request", "Can't XFR a non Secondary zone."},
		{"reader, primary zone", readerA, primary, 403, "forbidden", ""},
		{"unknown zone", memberA, uuid.NewString(), 404, "zone_not_found", ""},
		{"not a uuid", memberA, "x", 400, "invalid_uuid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: "POST", Path: path(tc.zone), Token: tc.token}), tc.code, tc.typ, tc.msg)
		})
	}
	c.unchanged(t, before)
	if asked() != never {
		t.Fatalf("a refused xfr was stored: %s", asked())
	}

	r := c.Call(t, call{Method: "POST", Path: path(sec), Token: memberA})
	if r.Code != http.StatusAccepted || string(r.Body) != `""` || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("xfr: %s %v", r, r.Header)
	}
	if asked() == never {
		t.Error("the xfr was not stored for the transfer loop")
	}
	c.unchanged(t, before)
	if r := c.Call(t, call{Method: "POST", Path: path(sec), Token: adminA, Header: allProjects}); r.Code != http.StatusAccepted {
		t.Errorf("admin xfr: %s", r)
	}
}
