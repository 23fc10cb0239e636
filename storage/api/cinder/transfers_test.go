package cinder_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// transferDump is the store's transfers that are not deleted, as JSON.
func (c *client) transferDump(t *testing.T) string {
	t.Helper()
	ts, _, err := c.store.Transfers(context.Background(), storage.Viewer{Admin: true}, storage.TransferFilter{AllProjects: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// transferUnchanged runs fn and fails the test if the volumes,
// snapshots or transfers changed.
func (c *client) transferUnchanged(t *testing.T, fn func()) {
	t.Helper()
	before := c.transferDump(t)
	c.nothingChanges(t, fn)
	if d := apitest.LineDiff(before, c.transferDump(t)); d != "" {
		t.Fatalf("a refusal changed the transfers:\n%s", d)
	}
}

// A transfer through both routes: created by alice (202, the key once,
// the fields of each microversion), seen by alice only, accepted by bob
// with the key (202, Cinder's summary view): the volume and its
// snapshot are bob's.
func TestTransferLifecycle(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 1)
	snap := c.newSnapshot(t, alice, vol, nil)
	c.snapDone(t, snap)
	created := c.must(t, 202, "3.57", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{
		"volume_id": vol, "name": "  move  "}})["transfer"].(map[string]any)
	id, key := created["id"].(string), created["auth_key"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(key) || created["name"] != "move" || created["no_snapshots"] != false ||
		created["source_project_id"] != projA || created["destination_project_id"] != nil || created["accepted"] != false {
		t.Fatalf("created: %v", created)
	}
	if links := created["links"].([]any); links[0].(map[string]any)["href"] != c.URL+"/v3/os-volume-transfer/"+id {
		t.Errorf("links: %v", links)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any); v["status"] != "awaiting-transfer" {
		t.Fatalf("volume: %v", v["status"])
	}
	for _, x := range []struct {
		v    string
		path string
		keys int
	}{{"3.0", "/os-volume-transfer/", 5}, {"3.55", "/volume-transfers/", 6}, {"3.57", "/os-volume-transfer/", 9}} {
		shown := c.must(t, 200, x.v, alice, "GET", x.path+id, nil)["transfer"].(map[string]any)
		if len(shown) != x.keys || shown["auth_key"] != nil {
			t.Errorf("%s show: %v, want %d keys", x.v, shown, x.keys)
		}
	}
	list := c.must(t, 200, "3.0", alice, "GET", "/os-volume-transfer", nil)["transfers"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)) != 4 {
		t.Fatalf("summary list: %v", list)
	}
	if list := c.must(t, 200, "3.59", alice, "GET", "/volume-transfers/detail?name=move&limit=1", nil)["transfers"].([]any); len(list) != 1 {
		t.Fatalf("3.59 detail list: %v", list)
	}
	// Before 3.59 every parameter is a filter: a limit is none.
	if list := c.must(t, 200, "3.0", alice, "GET", "/os-volume-transfer?limit=1", nil)["transfers"].([]any); len(list) != 0 {
		t.Fatalf("a limit before 3.59: %v", list)
	}
	wantError(t, c.call(t, "3.0", bob, "GET", "/os-volume-transfer/"+id, nil), 404, "itemNotFound", "Transfer "+id+" could not be found.")
	if list := c.must(t, 200, "3.0", bob, "GET", "/os-volume-transfer", nil)["transfers"].([]any); len(list) != 0 {
		t.Fatalf("bob's list: %v", list)
	}
	if list := c.must(t, 200, "3.0", admin, "GET", "/os-volume-transfer?all_tenants=1", nil)["transfers"].([]any); len(list) != 1 {
		t.Fatalf("the admin's list: %v", list)
	}
	c.transferUnchanged(t, func() {
		wantError(t, c.call(t, "3.0", bob, "POST", "/volume-transfers/"+id+"/accept", map[string]any{"accept": map[string]any{"auth_key": "nope"}}),
			400, "badRequest", "Invalid auth key: Attempt to transfer "+id+" with invalid auth key.")
		wantError(t, c.call(t, "3.0", bob, "DELETE", "/volume-transfers/"+id, nil), 404, "itemNotFound")
	})
	acc := c.must(t, 202, "3.0", bob, "POST", "/volume-transfers/"+id+"/accept", map[string]any{"accept": map[string]any{"auth_key": key}})
	if tr := acc["transfer"].(map[string]any); tr["id"] != id || tr["volume_id"] != vol || tr["name"] != "move" || len(tr) != 4 {
		t.Fatalf("accepted: %v", acc)
	}
	v := c.must(t, 200, "3.0", bob, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any)
	if v["status"] != "available" || v["user_id"] != "bob" {
		t.Fatalf("bob's volume: %v", v)
	}
	c.must(t, 200, "3.0", bob, "GET", "/snapshots/"+snap, nil)
	wantError(t, c.call(t, "3.0", alice, "GET", "/volumes/"+vol, nil), 404, "itemNotFound")
	wantError(t, c.call(t, "3.0", alice, "GET", "/volume-transfers/"+id, nil), 404, "itemNotFound")

	// An integer key is read as its digits; a deleted transfer leaves
	// the volume available.
	created = c.must(t, 202, "3.55", bob, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{
		"volume_id": vol, "no_snapshots": "true"}})["transfer"].(map[string]any)
	if created["no_snapshots"] != true || created["name"] != nil {
		t.Fatalf("no_snapshots: %v", created)
	}
	c.must(t, 202, "3.0", bob, "DELETE", "/os-volume-transfer/"+created["id"].(string), nil)
	if v := c.must(t, 200, "3.0", bob, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any); v["status"] != "available" {
		t.Fatalf("after the delete: %v", v["status"])
	}
	wantError(t, c.call(t, "3.0", alice, "POST", "/os-volume-transfer/"+created["id"].(string)+"/accept",
		map[string]any{"accept": map[string]any{"auth_key": 1234}}), 404, "itemNotFound")
}

// Refusals: Cinder's schema messages, the volume's and its snapshots'
// statuses, the accepting project's quotas (the gigabytes one as the
// controller's own 413, without the exception's name), nothing changed.
func TestTransferRefusals(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 2)
	busy := c.availableVolume(t, alice, 1)
	pending := c.newSnapshot(t, alice, busy, nil)
	creating := c.newVolume(t, alice, nil)
	tr := c.must(t, 202, "3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": vol}})["transfer"].(map[string]any)
	id, key := tr["id"].(string), tr["auth_key"].(string)
	accept := map[string]any{"accept": map[string]any{"auth_key": key}}
	c.transferUnchanged(t, func() {
		for _, x := range []struct {
			v, token, method, path string
			body                   any
			status                 int
			errKey, msg            string
		}{
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": busy, "no_snapshots": true}},
				400, "badRequest", "Invalid input for field/attribute transfer. Value: "},
			{"3.55", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": busy, "no_snapshots": "maybe"}},
				400, "badRequest", "Invalid input for field/attribute no_snapshots."},
			{"3.55", alice, "POST", "/os-volume-transfer", map[string]any{"transfer": map[string]any{"volume_id": busy, "no_snapshots": true}},
				400, "badRequest", "Additional properties are not allowed ('no_snapshots' was unexpected)"},
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": "x"}},
				400, "badRequest", "Invalid input for field/attribute volume_id."},
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": vol, "name": "  "}},
				400, "badRequest", "Invalid input for field/attribute name. Value:   . '  ' is not valid under any of the given schemas"},
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": vol}},
				400, "badRequest", "Invalid volume: status must be available"},
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": creating}},
				400, "badRequest", "Invalid volume: status must be available"},
			{"3.0", alice, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": busy}},
				400, "badRequest", "Invalid snapshot: snapshot: " + pending + " status must be available"},
			{"3.0", bob, "POST", "/volume-transfers", map[string]any{"transfer": map[string]any{"volume_id": busy}},
				404, "itemNotFound", "Volume " + busy + " could not be found."},
			{"3.0", bob, "POST", "/volume-transfers/" + id + "/accept", map[string]any{"accept": map[string]any{}},
				400, "badRequest", "'auth_key' is a required property"},
			{"3.0", bob, "POST", "/volume-transfers/" + id + "/accept", map[string]any{"accept": map[string]any{"auth_key": 1.5}},
				400, "badRequest", "Invalid input for field/attribute auth_key."},
			{"3.0", bob, "POST", "/volume-transfers/nope/accept", accept, 404, "itemNotFound", "Transfer nope could not be found."},
			{"3.59", alice, "GET", "/volume-transfers?limit=x", nil, 400, "badRequest", "limit param must be an integer"},
			{"3.0", alice, "GET", "/os-volume-transfer?limit=-1", nil, 400, "badRequest", "limit param must be positive"},
		} {
			wantError(t, c.call(t, x.v, x.token, x.method, x.path, x.body), x.status, x.errKey, x.msg)
		}
	})
	for _, x := range []struct {
		quota map[string]any
		msg   string
	}{
		{map[string]any{"per_volume_gigabytes": 1}, "VolumeSizeExceedsLimit: Requested volume size 2G is larger than maximum allowed limit 1G."},
		{map[string]any{"volumes": 0}, "VolumeLimitExceeded: Maximum number of volumes allowed (0) exceeded for quota 'volumes'."},
		{map[string]any{"gigabytes": 1}, "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 1G and 0G has been consumed."},
	} {
		c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projB, map[string]any{"quota_set": x.quota})
		c.transferUnchanged(t, func() {
			r := c.call(t, "3.0", bob, "POST", "/volume-transfers/"+id+"/accept", accept)
			wantError(t, r, 413, "overLimit", x.msg)
			if e := r.JSON(t)["overLimit"].(map[string]any); e["message"] != x.msg || e["retryAfter"] != "0" || r.Header.Get("Retry-After") != "0" {
				t.Errorf("quota refusal %v %v", e, r.Header)
			}
		})
		c.must(t, 200, "3.0", admin, "DELETE", "/os-quota-sets/"+projB, nil)
	}
}

// python3-openstackclient's volume transfer requests against the API:
// alice offers a volume (the key shown once), lists and shows the
// request, deletes one; bob accepts another with its key and owns the
// volume.
func TestTransferOpenStackClient(t *testing.T) {
	c := newAPI(t)
	var vol map[string]any
	c.osc(t, alice, &vol, "volume", "create", "--size", "1", "tv")
	id := vol["id"].(string)
	c.agentDone(t, id)
	var req map[string]any
	c.osc(t, alice, &req, "volume", "transfer", "request", "create", "--name", "first", "tv")
	if req["name"] != "first" || req["volume_id"] != id || req["auth_key"] == nil {
		t.Fatalf("create: %v", req)
	}
	var list []map[string]any
	c.osc(t, alice, &list, "volume", "transfer", "request", "list")
	if len(list) != 1 || list[0]["Name"] != "first" || list[0]["Volume"] != id {
		t.Fatalf("list: %v", list)
	}
	var shown map[string]any
	c.osc(t, alice, &shown, "volume", "transfer", "request", "show", "first")
	if shown["id"] != req["id"] || shown["auth_key"] != nil {
		t.Fatalf("show: %v", shown)
	}
	c.osc(t, alice, nil, "volume", "transfer", "request", "delete", "first")
	c.osc(t, alice, &list, "volume", "transfer", "request", "list")
	if len(list) != 0 {
		t.Fatalf("after the delete: %v", list)
	}
	c.osc(t, alice, &req, "volume", "transfer", "request", "create", "--no-snapshots", "tv")
	var acc map[string]any
	c.osc(t, bob, &acc, "volume", "transfer", "request", "accept", "--auth-key", req["auth_key"].(string), req["id"].(string))
	if acc["id"] != req["id"] || acc["volume_id"] != id {
		t.Fatalf("accept: %v", acc)
	}
	var vols []map[string]any
	c.osc(t, bob, &vols, "volume", "list")
	if len(vols) != 1 || vols[0]["ID"] != id || vols[0]["Status"] != "available" {
		t.Fatalf("bob's volumes: %v", vols)
	}
	c.osc(t, alice, &vols, "volume", "list")
	if slices.ContainsFunc(vols, func(v map[string]any) bool { return strings.EqualFold(v["ID"].(string), id) }) {
		t.Fatalf("alice still lists the volume: %v", vols)
	}
}
