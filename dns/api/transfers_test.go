package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestZoneTransfer: A offers its zone to B; the key is shown to A only,
// B sees the request (without the key) in its list and accepts it with
// the key (201, COMPLETE); the zone and its recordsets are then B's, A
// sees neither, and the request is COMPLETE.
func TestZoneTransfer(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	rs := c.mkRecordSet(t, memberA, zone, "www.example.org.", "192.0.2.1")

	r := c.Call(t, call{Method: "POST", Path: "/v2/zones/" + zone + "/tasks/transfer_requests", Token: memberA,
		Body: map[string]any{"target_project_id": projectB, "description": "for b"}})
	if r.Code != http.StatusCreated {
		t.Fatalf("create request: %s", r)
	}
	tr := r.JSON(t)
	id, key := str(t, tr, "id"), str(t, tr, "key")
	if tr["status"] != "ACTIVE" || tr["zone_name"] != "example.org." || tr["project_id"] != projectA ||
		tr["target_project_id"] != projectB || len(key) != 8 || r.Header.Get("Location") != c.URL+"/v2/zones/tasks/transfer_requests/"+id {
		t.Fatalf("created request: %s", r.Body)
	}

	// B sees it, without the key, the projects or the times.
	shown := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_requests/"+id, memberB, nil)
	for _, k := range []string{"key", "project_id", "target_project_id", "created_at"} {
		if _, ok := shown[k]; ok {
			t.Errorf("target project is shown %s: %v", k, shown)
		}
	}
	if shown["zone_id"] != zone || shown["status"] != "ACTIVE" || shown["description"] != "for b" {
		t.Errorf("shown to the target: %v", shown)
	}
	listed := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_requests", memberB, nil)
	if got := ids(t, listed, "transfer_requests"); !slices.Equal(got, []string{id}) {
		t.Fatalf("B's list: %v", got)
	}
	if _, ok := list(t, listed, "transfer_requests")[0].(map[string]any)["key"]; ok {
		t.Errorf("key listed to the target: %v", listed)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_requests/"+id, memberA, nil); got["key"] != key {
		t.Errorf("owner not shown the key: %v", got)
	}

	// Nothing is accepted with a wrong key.
	before := c.snapshot(t)
	wantError(t, c.Do(t, "POST", "/v2/zones/tasks/transfer_accepts", memberB,
		map[string]any{"zone_transfer_request_id": id, "key": "WRONGKEY"}), 403, "invalid_key", "Key does not match")
	c.unchanged(t, before)

	r = c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/transfer_accepts", Token: memberB,
		Body: map[string]any{"zone_transfer_request_id": id, "key": key}})
	if r.Code != http.StatusCreated {
		t.Fatalf("accept: %s", r)
	}
	acc := r.JSON(t)
	links, _ := acc["links"].(map[string]any)
	if acc["status"] != "COMPLETE" || acc["zone_id"] != zone || acc["project_id"] != projectB || acc["zone_transfer_request_id"] != id ||
		links["zone"] != c.URL+"/v2/zones/"+zone {
		t.Fatalf("accepted: %s", r.Body)
	}
	if z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberB, nil); z["project_id"] != projectB {
		t.Errorf("zone after accept: %v", z)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets/"+rs, memberB, nil); got["project_id"] != projectB {
		t.Errorf("recordset after accept: %v", got)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/"+zone, memberA, nil), 404, "zone_not_found")
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_requests/"+id, memberA, nil); got["status"] != "COMPLETE" {
		t.Errorf("request after accept: %v", got)
	}
	accID := str(t, acc, "id")
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_accepts/"+accID, memberB, nil); got["id"] != accID {
		t.Errorf("show accept: %v", got)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/tasks/transfer_accepts/"+accID, memberA, nil), 404, "zone_transfer_accept_not_found")
	// Listing accepts is for admins (find_zone_transfer_accepts).
	wantError(t, c.Do(t, "GET", "/v2/zones/tasks/transfer_accepts", memberB, nil), 403, "forbidden")
	all := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_accepts?all_projects=true", adminA, nil)
	if got := ids(t, all, "transfer_accepts"); !slices.Equal(got, []string{accID}) {
		t.Errorf("admin's accept list: %v", got)
	}
	before = c.snapshot(t)
	wantError(t, c.Do(t, "POST", "/v2/zones/tasks/transfer_accepts", memberB,
		map[string]any{"zone_transfer_request_id": id, "key": key}), 400, "invalid_zone_transfer_request", "has been used")
	c.unchanged(t, before)
}

// TestTransferTenancy: a request targeted at a third project is not
// found by B (show, accept, update, delete) nor listed to it; another
// project cannot offer A's zone; the target cannot change or delete the
// request; an untargeted request is accepted by whoever has the key.
func TestTransferTenancy(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	projectC := strings.Repeat("c", 32)
	tr := c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", memberA,
		map[string]any{"target_project_id": projectC})
	id, key := str(t, tr, "id"), str(t, tr, "key")
	path := "/v2/zones/tasks/transfer_requests/" + id

	before := c.snapshot(t)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"PATCH", path, map[string]any{"description": "mine"}},
		{"DELETE", path, nil},
		{"POST", "/v2/zones/tasks/transfer_accepts", map[string]any{"zone_transfer_request_id": id, "key": key}},
	} {
		wantError(t, c.Do(t, tc.method, tc.path, memberB, tc.body), 404, "zone_transfer_request_not_found", "Could not find ZoneTransferRequest")
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/transfer_requests", memberB, nil), "transfer_requests"); len(got) != 0 {
		t.Errorf("B lists C's request: %v", got)
	}
	wantError(t, c.Do(t, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", memberB, map[string]any{}), 404, "zone_not_found")
	// A reader of A may see its zone but not offer it.
	wantError(t, c.Do(t, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", readerA, map[string]any{}), 403, "forbidden")
	c.unchanged(t, before)

	// Untargeted, after the first is gone: B accepts with the key.
	c.Must(t, http.StatusNoContent, "DELETE", path, memberA, nil)
	r := c.Call(t, call{Method: "POST", Path: "/v2/zones/" + zone + "/tasks/transfer_requests", Token: memberA})
	if r.Code != http.StatusCreated {
		t.Fatalf("create without a body: %s", r)
	}
	open := r.JSON(t)
	if open["target_project_id"] != nil {
		t.Fatalf("untargeted request: %v", open)
	}
	// The target project may not change or delete it (it is A's).
	c.Must(t, http.StatusCreated, "POST", "/v2/zones/tasks/transfer_accepts", memberB,
		map[string]any{"zone_transfer_request_id": str(t, open, "id"), "key": str(t, open, "key")})
	if z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberB, nil); z["project_id"] != projectB {
		t.Errorf("zone after untargeted accept: %v", z)
	}
	// B's request targeted at A: A (the target) may not change it.
	tr = c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", memberB,
		map[string]any{"target_project_id": projectA})
	before = c.snapshot(t)
	wantError(t, c.Do(t, "PATCH", "/v2/zones/tasks/transfer_requests/"+str(t, tr, "id"), memberA, map[string]any{"description": "x"}), 403, "forbidden")
	wantError(t, c.Do(t, "DELETE", "/v2/zones/tasks/transfer_requests/"+str(t, tr, "id"), memberA, nil), 403, "forbidden")
	c.unchanged(t, before)
}

// TestTransferBadInput: malformed requests answer Designate's error body
// and change nothing.
func TestTransferBadInput(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	tr := c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", memberA,
		map[string]any{"target_project_id": projectB})
	id := str(t, tr, "id")
	reqs := "/v2/zones/" + zone + "/tasks/transfer_requests"
	one := "/v2/zones/tasks/transfer_requests/" + id
	accepts := "/v2/zones/tasks/transfer_accepts"
	before := c.snapshot(t)
	for _, tc := range []struct {
		name, method, path string
		token              string
		body               any
		code               int
		typ, msg           string
	}{
		{"unknown field", "POST", reqs, memberA, map[string]any{"foo": 1}, 400, "invalid_object", "'foo'"},
		{"key is read-only", "POST", reqs, memberA, map[string]any{"key": "AAAAAAAA"}, 400, "invalid_object", "'key'"},
		{"status is read-only", "POST", reqs, memberA, map[string]any{"status": "COMPLETE"}, 400, "invalid_object", "'status'"},
		{"target not a string", "POST", reqs, memberA, map[string]any{"target_project_id": 7}, 400, "invalid_object", "not of type 'string'"},
		{"target not a project id", "POST", reqs, memberA, map[string]any{"target_project_id": "a b"}, 400, "invalid_object", "project id"},
		{"description too long", "POST", reqs, memberA, map[string]any{"description": strings.Repeat("x", 161)}, 400, "invalid_object", "160"},
		{"second active request", "POST", reqs, memberA, map[string]any{}, 409, "duplicate_zone_transfer_request", "Duplicate ZoneTransferRequest"},
		{"zone id not a uuid", "POST", "/v2/zones/nope/tasks/transfer_requests", memberA, map[string]any{}, 400, "invalid_uuid", ""},
		{"not JSON", "POST", reqs, memberA, "{", 400, "invalid_json", ""},
		{"request id not a uuid", "GET", "/v2/zones/tasks/transfer_requests/nope", memberA, nil, 400, "invalid_uuid", ""},
		{"unknown request", "GET", "/v2/zones/tasks/transfer_requests/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11", memberA, nil, 404, "zone_transfer_request_not_found", ""},
		{"change the target", "PATCH", one, memberA, map[string]any{"target_project_id": strings.Repeat("c", 32)}, 400, "invalid_object", "'target_project_id'"},
		{"change the key", "PATCH", one, memberA, map[string]any{"key": "AAAAAAAA"}, 400, "invalid_object", "'key'"},
		{"bad list filter", "GET", "/v2/zones/tasks/transfer_requests?name=x", memberA, nil, 400, "", ""},
		{"bad sort key", "GET", "/v2/zones/tasks/transfer_requests?sort_key=zone_name", memberA, nil, 400, "invalid_sort_key", ""},
		{"accept without key", "POST", accepts, memberB, map[string]any{"zone_transfer_request_id": id}, 400, "invalid_object", "'key' is a required property"},
		{"accept key not a string", "POST", accepts, memberB, map[string]any{"zone_transfer_request_id": id, "key": 1}, 400, "invalid_object", ""},
		{"accept id not a uuid", "POST", accepts, memberB, map[string]any{"zone_transfer_request_id": "x", "key": "A"}, 400, "invalid_object", "uuid"},
		{"accept without id", "POST", accepts, memberB, map[string]any{"key": "A"}, 404, "zone_transfer_request_not_found", ""},
		{"accept status", "POST", accepts, memberB, map[string]any{"zone_transfer_request_id": id, "key": "A", "status": "COMPLETE"}, 400, "invalid_object", "'status'"},
		{"accept unknown", "GET", accepts + "/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11", memberB, nil, 404, "zone_transfer_accept_not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.Do(t, tc.method, tc.path, tc.token, tc.body), tc.code, tc.typ, tc.msg)
		})
	}
	c.unchanged(t, before)
	if got := c.Must(t, http.StatusOK, "GET", one, memberA, nil); got["status"] != "ACTIVE" || got["target_project_id"] != projectB {
		t.Errorf("request changed: %v", got)
	}
}
