package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/dns"
)

// TestPoolMove: POST /v2/zones/{id}/tasks/pool_move as Designate answers
// it — admins only, 202 with the JSON empty string, the zone in the new
// pool with its nameservers, PENDING until its serial is bumped and
// served; and each refusal, in Designate's order, changing nothing.
func TestPoolMove(t *testing.T) {
	c := newCloud(t)
	edge := c.Must(t, http.StatusCreated, "POST", "/v2/pools", adminA, map[string]any{"name": "edge",
		"ns_records": []map[string]any{{"hostname": "ns1.edge.example.", "priority": 1}, {"hostname": "ns2.edge.example.", "priority": 2}}})
	edgeID := str(t, edge, "id")
	bare := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/pools", adminA, map[string]any{"name": "bare"}), "id")
	zone := c.mkZone(t, memberA, "move.example.")
	zoneB := c.mkZone(t, memberB, "b.example.")
	path := func(id string) string { return "/v2/zones/" + id + "/tasks/pool_move" }
	to := func(pool any) map[string]any { return map[string]any{"pool_id": pool} }

	before := c.snapshot(t)
	for _, tc := range []struct {
		name, token, zone string
		body              any
		header            map[string]string
		code              int
		typ               string
		msg               string
	}{
		{"not a uuid", adminA, "not-a-uuid", to(edgeID), nil, 400, "invalid_uuid", "Invalid UUID zone_id"},
		{"body not json", adminA, zone, `{"pool_id": `, nil, 400, "invalid_json", ""},
		{"body an array", adminA, zone, `[]`, nil, 400, "invalid_json", ""},
		{"unknown zone", adminA, uuid.NewString(), to(edgeID), allProjects, 404, "zone_not_found", ""},
		{"another project's zone", memberA, zoneB, to(edgeID), nil, 404, "zone_not_found", ""},
		{"admin of another project, without all projects", adminA, zoneB, to(edgeID), nil, 404, "zone_not_found", ""},
		// Designate checks the pool before the policy: a member is told
		// the pool is the zone's own.
		{"same pool, as a member", memberA, zone, to(dns.DefaultPoolID), nil, 400, "bad_request", "Target pool must be different for zone pool move"},
		{"same pool", adminA, zone, to(dns.DefaultPoolID), nil, 400, "bad_request", "Target pool must be different for zone pool move"},
		{"unknown field", adminA, zone, map[string]any{"pool_id": edgeID, "bogus": 1}, nil, 400, "invalid_object", "'bogus'"},
		{"read-only field", adminA, zone, map[string]any{"pool_id": edgeID, "status": "ERROR"}, nil, 400, "invalid_object", "'status'"},
		{"pool_id not a uuid", adminA, zone, to("edge"), nil, 400, "invalid_object", "'edge' is not a 'uuid'"},
		{"pool_id a number", adminA, zone, to(5), nil, 400, "invalid_object", "not of type 'string'"},
		{"member", memberA, zone, to(edgeID), nil, 403, "forbidden", ""},
		{"reader", readerA, zone, to(edgeID), nil, 403, "forbidden", ""},
		{"no role", nobodyA, zone, to(edgeID), nil, 403, "forbidden", ""},
		{"unknown pool", adminA, zone, to(uuid.NewString()), nil, 400, "bad_request", "Target pool does not exist"},
		{"pool without ns_records", adminA, zone, to(bare), nil, 400, "no_servers_configured", bare},
		{"no pool, already in the default pool", adminA, zone, map[string]any{}, nil, 400, "bad_request", "No valid pool selected"},
		{"null pool, already in the default pool", adminA, zone, to(nil), nil, 400, "bad_request", "No valid pool selected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: "POST", Path: path(tc.zone), Token: tc.token, Body: tc.body, Header: tc.header}), tc.code, tc.typ, tc.msg)
		})
	}
	wantError(t, c.Do(t, "GET", path(zone), adminA, nil), 405, "")
	c.unchanged(t, before)

	nameservers := func(id string, token string, header map[string]string) []string {
		r := c.Call(t, call{Method: "GET", Path: "/v2/zones/" + id + "/nameservers", Token: token, Header: header})
		var out []string
		for _, ns := range list(t, r.JSON(t), "nameservers") {
			out = append(out, ns.(map[string]any)["hostname"].(string))
		}
		return out
	}
	apexNS := func(id string, header map[string]string) []string {
		r := c.Call(t, call{Method: "GET", Path: "/v2/zones/" + id + "/recordsets?type=NS", Token: adminA, Header: header})
		var out []string
		for _, x := range list(t, list(t, r.JSON(t), "recordsets")[0], "records") {
			out = append(out, x.(string))
		}
		slices.Sort(out)
		return out
	}

	r := c.Call(t, call{Method: "POST", Path: path(strings.ToUpper(zone)), Token: adminA, Body: to(strings.ToUpper(edgeID))})
	if r.Code != http.StatusAccepted || strings.TrimSpace(string(r.Body)) != `""` {
		t.Fatalf("pool move: %s", r)
	}
	z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberA, nil)
	if z["pool_id"] != edgeID || z["status"] != "PENDING" {
		t.Errorf("moved zone: pool %v, status %v", z["pool_id"], z["status"])
	}
	if got := nameservers(zone, memberA, nil); !slices.Equal(got, []string{"ns1.edge.example.", "ns2.edge.example."}) {
		t.Errorf("nameservers after the move: %v", got)
	}
	if got := apexNS(zone, nil); !slices.Equal(got, []string{"ns1.edge.example.", "ns2.edge.example."}) {
		t.Errorf("apex NS after the move: %v", got)
	}
	// The pool now holds a zone: it is not deleted; moved back (no
	// pool_id: the scheduler's default pool), it is free again.
	wantError(t, c.Do(t, "DELETE", "/v2/pools/"+edgeID, adminA, nil), 400, "invalid_operation", "pool must not contain zones")
	wantError(t, c.Call(t, call{Method: "POST", Path: path(zone), Token: adminA, Body: to(edgeID)}), 400, "bad_request", "Target pool must be different")
	if r := c.Call(t, call{Method: "POST", Path: path(zone), Token: adminA, Body: map[string]any{}}); r.Code != http.StatusAccepted {
		t.Fatalf("pool move to the default pool: %s", r)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberA, nil)["pool_id"]; got != dns.DefaultPoolID {
		t.Errorf("moved back to %v", got)
	}
	// Another project's zone, with X-Auth-All-Projects; a json-patch
	// body is read as JSON, as Designate's controller takes it.
	if r := c.Call(t, call{Method: "POST", Path: path(zoneB), Token: adminA, Body: to(edgeID),
		Header: map[string]string{"X-Auth-All-Projects": "true", "Content-Type": "application/json-patch+json"}}); r.Code != http.StatusAccepted {
		t.Fatalf("pool move of B's zone: %s", r)
	}
	if got := apexNS(zoneB, allProjects); !slices.Equal(got, []string{"ns1.edge.example.", "ns2.edge.example."}) {
		t.Errorf("B's zone apex NS: %v", got)
	}
	// A SECONDARY zone changes pool only: its records are its masters'.
	sec := str(t, c.Must(t, http.StatusAccepted, "POST", "/v2/zones", memberA, map[string]any{"name": "sec.example.", "type": "SECONDARY",
		"masters": []string{"192.0.2.53"}}), "id")
	secBefore := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+sec, memberA, nil)
	if r := c.Call(t, call{Method: "POST", Path: path(sec), Token: adminA, Body: to(edgeID)}); r.Code != http.StatusAccepted {
		t.Fatalf("pool move of a secondary zone: %s", r)
	}
	secAfter := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+sec, memberA, nil)
	if secAfter["pool_id"] != edgeID || secAfter["status"] != secBefore["status"] || secAfter["serial"] != secBefore["serial"] {
		t.Errorf("secondary zone moved: %v -> %v", secBefore, secAfter)
	}
	c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+zoneB, memberB, nil)
	wantError(t, c.Call(t, call{Method: "POST", Path: path(zoneB), Token: adminA, Body: map[string]any{}, Header: allProjects}),
		400, "bad_request", "Can not move a deleting zone")
}
