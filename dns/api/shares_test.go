package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// share shares zone as token with target and returns the share.
func (c *cloud) share(t *testing.T, token, zone, target string) map[string]any {
	t.Helper()
	return c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+zone+"/shares", token, map[string]any{"target_project_id": target})
}

// TestShares: a zone A shares with B (201, SharedZoneAPIv2Adapter's
// fields and links) is shown "shared" and listed to B; B sees all its
// recordsets and manages its own (the owner manages them all), but not
// the zone, the others' recordsets, its nameservers, exports, transfers,
// shares or xfr; lists and shows of the share go to whom Designate's
// policies let; the share and the zone go only once B's recordsets or
// the shares are gone.
func TestShares(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "a.example.")
	www := c.mkRecordSet(t, memberA, zone, "www.a.example.", "192.0.2.1")
	c.mkZone(t, memberB, "b.example.")

	r := c.Call(t, call{Method: "POST", Path: "/v2/zones/" + zone + "/shares", Token: memberA, Body: map[string]any{"target_project_id": projectB}})
	if r.Code != http.StatusCreated {
		t.Fatalf("share: %s", r)
	}
	if !strings.HasPrefix(string(r.Body), `{"id":`) || !strings.Contains(string(r.Body), `"updated_at":null,"links":{"self":`) {
		t.Errorf("share body's key order: %s", r.Body)
	}
	sh := r.JSON(t)
	id := str(t, sh, "id")
	links, _ := sh["links"].(map[string]any)
	if sh["zone_id"] != zone || sh["project_id"] != projectA || sh["target_project_id"] != projectB || sh["created_at"] == nil ||
		links["self"] != c.URL+"/v2/zones/"+zone+"/shares/"+id || links["zone"] != c.URL+"/v2/zones/"+zone {
		t.Fatalf("share: %v", sh)
	}

	// B sees the zone, shared, among its own.
	for _, tok := range []string{memberA, memberB, readerB} {
		if z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, tok, nil); z["shared"] != true || z["project_id"] != projectA {
			t.Errorf("zone shown to %s: %v", tok, z)
		}
	}
	zones := c.Must(t, http.StatusOK, "GET", "/v2/zones?sort_key=name", memberB, nil)
	if got := ids(t, zones, "zones"); len(got) != 2 || got[0] != zone || zones["metadata"].(map[string]any)["total_count"] != float64(2) {
		t.Errorf("B's zones: %v", zones)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones", memberC, nil), "zones"); len(got) != 0 {
		t.Errorf("C's zones: %v", got)
	}

	// B's recordsets: every one of the zone seen, its own managed.
	mine := c.mkRecordSet(t, memberB, zone, "b.a.example.", "192.0.2.2")
	if rs := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets/"+mine, memberB, nil); rs["project_id"] != projectB {
		t.Errorf("B's recordset: %v", rs)
	}
	for _, tok := range []string{memberA, memberB} {
		sets := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets", tok, nil)
		if n := len(list(t, sets, "recordsets")); n != 4 || sets["metadata"].(map[string]any)["total_count"] != float64(4) {
			t.Errorf("the zone's recordsets listed to %s: %v", tok, sets)
		}
	}
	c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets/"+www, memberB, nil)
	c.Must(t, http.StatusAccepted, "PUT", "/v2/zones/"+zone+"/recordsets/"+mine, memberB, map[string]any{"records": []string{"192.0.2.3"}})
	c.Must(t, http.StatusAccepted, "PUT", "/v2/zones/"+zone+"/recordsets/"+mine, memberA, map[string]any{"ttl": 600})
	// Across zones each project lists the recordsets it owns, as Designate.
	all := c.Must(t, http.StatusOK, "GET", "/v2/recordsets?type=A", memberB, nil)
	if got := ids(t, all, "recordsets"); len(got) != 1 || got[0] != mine {
		t.Errorf("B's recordsets across zones: %v", got)
	}
	all = c.Must(t, http.StatusOK, "GET", "/v2/recordsets?type=A", memberA, nil)
	if got := ids(t, all, "recordsets"); len(got) != 1 || got[0] != www {
		t.Errorf("A's recordsets across zones: %v", got)
	}

	before := c.snapshot(t)
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		code                      int
		typ                       string
	}{
		{"B updates A's recordset", memberB, "PUT", "/v2/zones/" + zone + "/recordsets/" + www, map[string]any{"ttl": 60}, 403, "forbidden"},
		{"B deletes A's recordset", memberB, "DELETE", "/v2/zones/" + zone + "/recordsets/" + www, nil, 403, "forbidden"},
		{"C creates", memberC, "POST", "/v2/zones/" + zone + "/recordsets",
			map[string]any{"name": "c.a.example.", "type": "A", "records": []string{"192.0.2.9"}}, 404, "zone_not_found"},
		{"C shows a recordset", memberC, "GET", "/v2/zones/" + zone + "/recordsets/" + mine, nil, 404, "zone_not_found"},
		{"B updates the zone", memberB, "PATCH", "/v2/zones/" + zone, map[string]any{"ttl": 60}, 403, "forbidden"},
		{"B deletes the zone", memberB, "DELETE", "/v2/zones/" + zone, nil, 403, "forbidden"},
		{"B's nameservers", memberB, "GET", "/v2/zones/" + zone + "/nameservers", nil, 403, "forbidden"},
		{"B exports", memberB, "POST", "/v2/zones/" + zone + "/tasks/export", nil, 403, "forbidden"},
		{"B offers a transfer", memberB, "POST", "/v2/zones/" + zone + "/tasks/transfer_requests", map[string]any{}, 403, "forbidden"},
		{"B asks an xfr", memberB, "POST", "/v2/zones/" + zone + "/tasks/xfr", nil, 403, "forbidden"},
		{"B shares on", memberB, "POST", "/v2/zones/" + zone + "/shares", map[string]any{"target_project_id": projectC}, 403, "forbidden"},
		{"B shows the share", memberB, "GET", "/v2/zones/" + zone + "/shares/" + id, nil, 403, "forbidden"},
		{"B unshares", memberB, "DELETE", "/v2/zones/" + zone + "/shares/" + id, nil, 403, "forbidden"},
		{"C shows the share", memberC, "GET", "/v2/zones/" + zone + "/shares/" + id, nil, 404, "shared_zone_not_found"},
		{"C unshares", memberC, "DELETE", "/v2/zones/" + zone + "/shares/" + id, nil, 404, "shared_zone_not_found"},
		{"A's reader lists the shares", readerA, "GET", "/v2/zones/" + zone + "/shares", nil, 403, "forbidden"},
		{"B lists A's shares", memberB, "GET", "/v2/zones/" + zone + "/shares?target_project_id=" + projectA, nil, 403, "forbidden"},
		// find_project_zone_share is checked on the project filtered on.
		{"A lists its shares with C", memberA, "GET", "/v2/zones/" + zone + "/shares?target_project_id=" + projectC, nil, 403, "forbidden"},
		{"unshare with B's recordsets", memberA, "DELETE", "/v2/zones/" + zone + "/shares/" + id, nil, 400, "shared_zone_has_recordsets"},
		{"delete a shared zone", memberA, "DELETE", "/v2/zones/" + zone, nil, 400, "zone_is_shared"},
		{"abandon a shared zone", adminA, "POST", "/v2/zones/" + zone + "/tasks/abandon", nil, 400, "zone_is_shared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Call(t, call{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body})
			var msgs []string
			switch tc.typ {
			case "shared_zone_has_recordsets":
				msgs = []string{"Please delete all recordsets owned by project " + projectB + " before unsharing this zone."}
			case "zone_is_shared":
				msgs = []string{"This zone is shared with other projects, please remove these shares before deletion or use the delete-shares modifier"}
			}
			wantError(t, r, tc.code, tc.typ, msgs...)
		})
	}
	c.unchanged(t, before)

	// Lists and shows of the share.
	for _, tok := range []string{memberA, memberB, adminA} {
		l := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/shares", tok, nil)
		if got := ids(t, l, "shared_zones"); len(got) != 1 || got[0] != id || l["metadata"] != nil {
			t.Errorf("shares listed to %s: %v", tok, l)
		}
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/shares", memberC, nil), "shared_zones"); len(got) != 0 {
		t.Errorf("shares listed to C: %v", got)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/shares?target_project_id="+projectB, memberB, nil), "shared_zones"); len(got) != 1 {
		t.Errorf("B's shares filtered on B: %v", got)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/shares/"+id, memberA, nil); got["id"] != id || got["target_project_id"] != projectB {
		t.Errorf("share shown: %v", got)
	}

	// Designate's create_recordset checks no role for a project the zone
	// is shared with: B's reader creates one too, which B's member deletes.
	byReader := c.mkRecordSet(t, readerB, zone, "r.a.example.", "192.0.2.9")
	c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+zone+"/recordsets/"+byReader, memberB, nil)

	// Once B's recordset is gone the share goes, and B sees nothing more.
	c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+zone+"/recordsets/"+mine, memberB, nil)
	if r := c.Do(t, "DELETE", "/v2/zones/"+zone+"/shares/"+id, memberA, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("unshare: %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/"+zone, memberB, nil), 404, "zone_not_found")
	if z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberA, nil); z["shared"] != false {
		t.Errorf("zone after the unshare: %v", z)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones", memberB, nil), "zones"); len(got) != 1 {
		t.Errorf("B's zones after the unshare: %v", got)
	}

	// Shared with B and C, the zone goes with X-Designate-Delete-Shares.
	c.share(t, memberA, zone, projectB)
	c.share(t, memberA, zone, projectC)
	r = c.Call(t, call{Method: "DELETE", Path: "/v2/zones/" + zone, Token: memberA, Header: map[string]string{"X-Designate-Delete-Shares": "true"}})
	if r.Code != http.StatusAccepted {
		t.Fatalf("delete with the shares: %s", r)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/shares", memberA, nil), "shared_zones"); len(got) != 0 {
		t.Errorf("shares after the delete: %v", got)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/"+zone, memberC, nil), 404, "zone_not_found")
}

// TestShareBadInput: every refused share call answers Designate's error
// and changes nothing.
func TestShareBadInput(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "a.example.")
	other := c.mkZone(t, memberA, "other.example.")
	id := str(t, c.share(t, memberA, zone, projectB), "id")
	deleting := c.mkZone(t, memberA, "deleting.example.")
	c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+deleting, memberA, nil)
	shares := "/v2/zones/" + zone + "/shares"
	before := c.snapshot(t)
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		ctype                     string
		code                      int
		typ, msg                  string
	}{
		{"zone not a uuid", memberA, "POST", "/v2/zones/nope/shares", map[string]any{"target_project_id": projectC}, "", 400, "invalid_uuid", ""},
		{"unknown zone", memberA, "POST", "/v2/zones/" + uuid.NewString() + "/shares", map[string]any{"target_project_id": projectC}, "", 404, "zone_not_found", ""},
		{"another project's zone", memberB, "POST", "/v2/zones/" + other + "/shares", map[string]any{"target_project_id": projectC}, "", 404, "zone_not_found", ""},
		{"reader", readerA, "POST", shares, map[string]any{"target_project_id": projectC}, "", 403, "forbidden", ""},
		{"no target", memberA, "POST", shares, map[string]any{}, "", 400, "invalid_object", "target_project_id"},
		{"target a number", memberA, "POST", shares, map[string]any{"target_project_id": 7}, "", 400, "invalid_object", "target_project_id"},
		{"target null", memberA, "POST", shares, map[string]any{"target_project_id": nil}, "", 400, "invalid_object", "target_project_id"},
		{"target no project id", memberA, "POST", shares, map[string]any{"target_project_id": "not a project"}, "", 400, "invalid_object", "target_project_id"},
		{"target too long", memberA, "POST", shares, map[string]any{"target_project_id": strings.Repeat("c", 65)}, "", 400, "invalid_object", "target_project_id"},
		{"unknown field", memberA, "POST", shares, map[string]any{"target_project_id": projectC, "x": 1}, "", 400, "invalid_object", "'x'"},
		{"read-only field", memberA, "POST", shares, map[string]any{"target_project_id": projectC, "project_id": projectC}, "", 400, "invalid_object", "'project_id'"},
		{"not JSON", memberA, "POST", shares, "{", "", 400, "invalid_json", ""},
		{"not an object", memberA, "POST", shares, "[]", "", 400, "invalid_json", ""},
		{"wrong media type", memberA, "POST", shares, `{"target_project_id":"` + projectC + `"}`, "text/plain", 415, "", ""},
		{"the owner", memberA, "POST", shares, map[string]any{"target_project_id": projectA}, "", 400, "bad_request", "Cannot share the zone with the zone owner."},
		{"again", memberA, "POST", shares, map[string]any{"target_project_id": projectB}, "", 409, "duplicate_shared_zone", "Duplicate SharedZone"},
		{"a zone being deleted", memberA, "POST", "/v2/zones/" + deleting + "/shares", map[string]any{"target_project_id": projectC}, "", 400, "bad_request", ""},
		{"list bad sort key", memberA, "GET", shares + "?sort_key=id", nil, "", 400, "invalid_sort_key", ""},
		{"list bad sort dir", memberA, "GET", shares + "?sort_dir=up", nil, "", 400, "invalid_sort_dir", ""},
		{"list unknown filter", memberA, "GET", shares + "?zone_id=" + zone, nil, "", 400, "bad_request", "Invalid filters zone_id"},
		{"list unknown marker", memberA, "GET", shares + "?marker=" + uuid.NewString(), nil, "", 400, "marker_not_found", ""},
		{"list bad limit", memberA, "GET", shares + "?limit=0", nil, "", 400, "invalid_limit", ""},
		{"list zone not a uuid", memberA, "GET", "/v2/zones/x/shares", nil, "", 400, "invalid_uuid", ""},
		{"show share not a uuid", memberA, "GET", shares + "/x", nil, "", 400, "invalid_uuid", ""},
		{"show unknown share", memberA, "GET", shares + "/" + uuid.NewString(), nil, "", 404, "shared_zone_not_found", "Could not find SharedZone"},
		{"show under another zone", memberA, "GET", "/v2/zones/" + other + "/shares/" + id, nil, "", 404, "shared_zone_not_found", ""},
		{"unshare under another zone", memberA, "DELETE", "/v2/zones/" + other + "/shares/" + id, nil, "", 404, "shared_zone_not_found", ""},
		{"unshare by A's reader", readerA, "DELETE", shares + "/" + id, nil, "", 403, "forbidden", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Call(t, call{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body, Type: tc.ctype})
			var msgs []string
			if tc.msg != "" {
				msgs = append(msgs, tc.msg)
			}
			wantError(t, r, tc.code, tc.typ, msgs...)
		})
	}
	c.unchanged(t, before)
	if got := ids(t, c.Must(t, http.StatusOK, "GET", shares, memberA, nil), "shared_zones"); !slices.Equal(got, []string{id}) {
		t.Errorf("shares after the refusals: %v", got)
	}
}
