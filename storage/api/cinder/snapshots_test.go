package cinder_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// newSnapshot creates a snapshot of volume vol as token (3.0) and returns
// its id.
func (c *client) newSnapshot(t *testing.T, token, vol string, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["volume_id"] = vol
	return c.must(t, 202, "3.0", token, "POST", "/snapshots", map[string]any{"snapshot": body})["snapshot"].(map[string]any)["id"].(string)
}

// snapDone is the pool's agent reporting that the work of snapshot id's
// status is done (its create or delete).
func (c *client) snapDone(t *testing.T, id string) {
	t.Helper()
	n, err := c.store.Snapshot(context.Background(), storage.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(pool) + "/snapshots/" + id, Token: service,
		Body: storage.SnapshotReport{Status: n.Status}})
	if r.Code != 200 {
		t.Fatalf("agent report on snapshot %s: %s", id, r)
	}
}

// availableVolume is a new volume of token's, made by the agent.
func (c *client) availableVolume(t *testing.T, token string, size int) string {
	t.Helper()
	id := c.newVolume(t, token, map[string]any{"size": size})
	c.agentDone(t, id)
	return id
}

// snapDump is the store's snapshots as sorted lines.
func (c *client) snapDump(t *testing.T) string {
	t.Helper()
	snaps, _, err := c.store.Snapshots(context.Background(), storage.Viewer{Admin: true}, storage.SnapshotFilter{AllProjects: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, n := range snaps {
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// nothingChanges runs fn and fails the test if the store's volumes or
// snapshots changed.
func (c *client) nothingChanges(t *testing.T, fn func()) {
	t.Helper()
	before := c.snapDump(t)
	c.unchanged(t, fn)
	if d := apitest.LineDiff(before, c.snapDump(t)); d != "" {
		t.Fatalf("a refusal changed the snapshots:\n%s", d)
	}
}

// A snapshot's life through the API: created from an available volume
// (202, Cinder's view), made by the agent, shown with the extended
// attributes, listed, updated, a volume made from it, deleted.
func TestSnapshotLifecycle(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 2)
	created := c.must(t, 202, "3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{
		"volume_id": vol, "name": " snap ", "description": " d ", "metadata": map[string]any{"k": "v"}}})["snapshot"].(map[string]any)
	id := created["id"].(string)
	if len(created) != 9 {
		t.Errorf("3.0 create answers %d fields, want Cinder's 9: %v", len(created), created)
	}
	for k, want := range map[string]any{"status": "creating", "size": float64(2), "name": "snap", "description": "d", "volume_id": vol} {
		if created[k] != want {
			t.Errorf("created %s = %v, want %v", k, created[k], want)
		}
	}
	if md := created["metadata"].(map[string]any); md["k"] != "v" {
		t.Errorf("metadata %v", md)
	}
	shown := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any)
	if shown["os-extended-snapshot-attributes:project_id"] != projA || shown["os-extended-snapshot-attributes:progress"] != "0%" {
		t.Errorf("show's extended attributes: %v", shown)
	}
	// Fields by microversion.
	for _, x := range []struct {
		v    string
		has  []string
		lack []string
	}{
		{"3.13", nil, []string{"group_snapshot_id", "user_id", "consumes_quota"}},
		{"3.14", []string{"group_snapshot_id"}, []string{"user_id"}},
		{"3.41", []string{"group_snapshot_id", "user_id"}, []string{"consumes_quota"}},
		{"3.65", []string{"group_snapshot_id", "user_id", "consumes_quota"}, nil},
	} {
		s := c.must(t, 200, x.v, alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any)
		for _, k := range x.has {
			if _, ok := s[k]; !ok {
				t.Errorf("%s show lacks %s", x.v, k)
			}
		}
		for _, k := range x.lack {
			if _, ok := s[k]; ok {
				t.Errorf("%s show has %s", x.v, k)
			}
		}
		if x.v == "3.65" && (s["user_id"] != "alice" || s["consumes_quota"] != true || s["group_snapshot_id"] != nil) {
			t.Errorf("3.65 show: %v", s)
		}
	}

	c.snapDone(t, id)
	shown = c.must(t, 200, "3.0", alice, "GET", "/"+projA+"/snapshots/"+id, nil)["snapshot"].(map[string]any)
	if shown["status"] != "available" || shown["os-extended-snapshot-attributes:progress"] != "100%" {
		t.Fatalf("made: %v", shown)
	}
	list := c.must(t, 200, "3.0", alice, "GET", "/snapshots", nil)["snapshots"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)) != 9 || list[0].(map[string]any)["name"] != "snap" {
		t.Fatalf("summary list: %v", list)
	}
	detail := c.must(t, 200, "3.41", alice, "GET", "/snapshots/detail", nil)["snapshots"].([]any)
	if len(detail) != 1 || detail[0].(map[string]any)["os-extended-snapshot-attributes:project_id"] != projA || detail[0].(map[string]any)["user_id"] != "alice" {
		t.Fatalf("detail list: %v", detail)
	}

	// Update: name wins over display_name, null clears.
	upd := c.must(t, 200, "3.0", alice, "PUT", "/snapshots/"+id, map[string]any{"snapshot": map[string]any{
		"display_name": "dn", "name": " renamed ", "display_description": "dd"}})["snapshot"].(map[string]any)
	if upd["name"] != "renamed" || upd["description"] != "dd" {
		t.Fatalf("update: %v", upd)
	}
	if _, ok := upd["os-extended-snapshot-attributes:project_id"]; ok {
		t.Errorf("update answers the extended attributes: %v", upd)
	}
	upd = c.must(t, 200, "3.0", alice, "PUT", "/snapshots/"+id, map[string]any{"snapshot": map[string]any{"description": nil}})["snapshot"].(map[string]any)
	if upd["name"] != "renamed" || upd["description"] != nil {
		t.Fatalf("description not cleared: %v", upd)
	}

	// A volume from the snapshot: its size and snapshot_id.
	nv := c.must(t, 202, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"snapshot_id": id}})["volume"].(map[string]any)
	if nv["size"] != float64(2) || nv["snapshot_id"] != id {
		t.Fatalf("volume from the snapshot: %v", nv)
	}
	// The snapshot is not deleted while the new volume is made from it,
	// nor its volume while it has the snapshot.
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.0", alice, "DELETE", "/snapshots/"+id, nil), 400, "badRequest",
			"Invalid snapshot: Snapshot "+id+" is being copied into a new volume.")
		wantError(t, c.call(t, "3.0", alice, "DELETE", "/volumes/"+vol, nil), 400, "badRequest",
			"must not be migrating, attached, belong to a group, have snapshots")
	})
	c.agentDone(t, nv["id"].(string))
	if r := c.call(t, "3.0", alice, "DELETE", "/snapshots/"+id, nil); r.Code != 202 {
		t.Fatalf("delete: %s", r)
	}
	if s := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any); s["status"] != "deleting" {
		t.Fatalf("deleting: %v", s)
	}
	c.snapDone(t, id)
	wantError(t, c.call(t, "3.0", alice, "GET", "/snapshots/"+id, nil), 404, "itemNotFound", "Snapshot "+id+" could not be found.")
	if l := c.must(t, 200, "3.0", alice, "GET", "/snapshots", nil)["snapshots"].([]any); len(l) != 0 {
		t.Fatalf("list after delete: %v", l)
	}
}

// inUseVolume is an available volume of alice's attached to a server
// (Cinder's v3 flow, completed): in-use.
func (c *client) inUseVolume(t *testing.T) string {
	t.Helper()
	id := c.newVolume(t, alice, nil)
	c.made(t, id)
	at := c.must(t, 200, "3.44", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": id, "instance_uuid": server1, "connector": connector()}})["attachment"].(map[string]any)
	c.must(t, 204, "3.44", alice, "POST", "/attachments/"+at["id"].(string)+"/action", map[string]any{"os-complete": nil})
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "in-use" {
		t.Fatalf("not in use: %v", v)
	}
	return id
}

// An in-use volume is snapshotted with force before 3.66, and from 3.66
// without it; 3.66 refuses a false force.
func TestSnapshotForce(t *testing.T) {
	c := newAPI(t)
	vol := c.inUseVolume(t)
	c.nothingChanges(t, func() {
		for _, body := range []map[string]any{{"volume_id": vol}, {"volume_id": vol, "force": "false"}} {
			wantError(t, c.call(t, "3.65", alice, "POST", "/snapshots", map[string]any{"snapshot": body}), 400, "badRequest",
				"Invalid volume: Volume "+vol+" status must be available, but current status is: in-use.")
		}
		wantError(t, c.call(t, "3.66", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": vol, "force": false}}),
			400, "badRequest", "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, "+
				"however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored.")
	})
	for _, x := range []struct {
		v    string
		body map[string]any
	}{
		{"3.0", map[string]any{"force": "True"}},
		{"3.66", map[string]any{}},
		{"3.70", map[string]any{"force": true}},
	} {
		x.body["volume_id"] = vol
		s := c.must(t, 202, x.v, alice, "POST", "/snapshots", map[string]any{"snapshot": x.body})["snapshot"].(map[string]any)
		if s["volume_id"] != vol || s["status"] != "creating" {
			t.Fatalf("%s create of an in-use volume's snapshot: %v", x.v, s)
		}
	}
}

// Refusals change nothing: bad bodies with Cinder's schema messages,
// unknown and other projects' volumes and snapshots (404), the admin
// actions for users (403), statuses, quotas (413).
func TestSnapshotRefusals(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 1)
	id := c.newSnapshot(t, alice, vol, map[string]any{"metadata": map[string]any{"k": "v"}})
	bobVol := c.availableVolume(t, bob, 1)
	const unknown = "99999999-9999-4999-8999-999999999999"
	c.nothingChanges(t, func() {
		for _, x := range []struct {
			v, token, method, path string
			body                   any
			status                 int
			key, msg               string
		}{
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{}}, 400, "badRequest", "'volume_id' is a required property"},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": "x"}}, 400, "badRequest",
				"Invalid input for field/attribute volume_id. Value: x. 'x' is not valid under any of the given schemas"},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": vol, "force": "maybe"}}, 400, "badRequest",
				"Invalid input for field/attribute force."},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": vol, "display_description": "d"}}, 400, "badRequest",
				"Additional properties are not allowed ('display_description' was unexpected)"},
			{"3.0", alice, "POST", "/snapshots", nil, 400, "badRequest", "The server could not comply with the request"},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": nil}}, 404, "itemNotFound", "Volume None could not be found."},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": unknown}}, 404, "itemNotFound",
				"Volume " + unknown + " could not be found."},
			{"3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": bobVol}}, 404, "itemNotFound",
				"Volume " + bobVol + " could not be found."},
			{"3.0", bob, "GET", "/snapshots/" + id, nil, 404, "itemNotFound", "Snapshot " + id + " could not be found."},
			{"3.0", bob, "PUT", "/snapshots/" + id, map[string]any{"snapshot": map[string]any{"name": "x"}}, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "DELETE", "/snapshots/" + id, nil, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "GET", "/snapshots/" + id + "/metadata", nil, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "POST", "/snapshots/" + id + "/metadata", map[string]any{"metadata": map[string]any{"a": "b"}}, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "DELETE", "/snapshots/" + id + "/metadata/k", nil, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "POST", "/snapshots/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "error"}}, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "POST", "/snapshots/" + id + "/action", map[string]any{"os-force_delete": map[string]any{}}, 404, "itemNotFound", "Snapshot " + id},
			{"3.0", bob, "POST", "/volumes", map[string]any{"volume": map[string]any{"snapshot_id": id}}, 404, "itemNotFound", "Snapshot " + id + " could not be found."},
			{"3.0", alice, "GET", "/snapshots/" + unknown, nil, 404, "itemNotFound", "Snapshot " + unknown + " could not be found."},
			{"3.0", alice, "POST", "/snapshots/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "error"}}, 403, "forbidden",
				"Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed."},
			{"3.0", alice, "POST", "/snapshots/" + id + "/action", map[string]any{"os-force_delete": map[string]any{}}, 403, "forbidden",
				"Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed."},
			{"3.0", admin, "POST", "/snapshots/" + id + "/action", map[string]any{"os-reset_status": map[string]any{"status": "bogus"}}, 400, "badRequest",
				"Snapshot status: bogus is invalid, valid statuses are: ('error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting', 'unmanaging', 'backing-up', 'restoring')."},
			{"3.0", admin, "POST", "/snapshots/" + id + "/action", map[string]any{"os-reset_status": map[string]any{}}, 400, "badRequest", "'status' is a required property"},
			{"3.0", admin, "POST", "/snapshots/" + id + "/action", map[string]any{"os-update_snapshot_status": map[string]any{"status": "available"}}, 400, "badRequest",
				"There is no such action: os-update_snapshot_status."},
			{"3.0", alice, "PUT", "/snapshots/" + id, map[string]any{"snapshot": map[string]any{}}, 400, "badRequest", "is not valid under any of the given schemas"},
			{"3.0", alice, "PUT", "/snapshots/" + id, map[string]any{"snapshot": map[string]any{"name": strings.Repeat("n", 256)}}, 400, "badRequest", "is too long"},
			// A snapshot being made is not deleted, and its volume is not
			// deleted while it has one.
			{"3.0", alice, "DELETE", "/snapshots/" + id, nil, 400, "badRequest",
				"Invalid snapshot: Snapshot status must be available or error and must not be part of a group."},
			{"3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"snapshot_id": id}}, 400, "badRequest",
				"Invalid snapshot: Originating snapshot status must be one of 'available' values"},
			{"3.0", alice, "DELETE", "/volumes/" + vol + "?cascade=true", nil, 400, "badRequest", "have snapshots"},
			{"3.0", alice, "DELETE", "/volumes/" + vol + "?cascade=maybe", nil, 400, "badRequest", "Value 'maybe' for 'cascade' is not a boolean."},
			// Metadata: Cinder's checks, no schema.
			{"3.0", alice, "POST", "/snapshots/" + id + "/metadata", map[string]any{"meta": map[string]any{}}, 400, "badRequest",
				"Missing required element 'metadata' in request body."},
			{"3.0", alice, "PUT", "/snapshots/" + id + "/metadata", map[string]any{"metadata": []any{}}, 400, "badRequest",
				"Missing required element 'metadata' in request body."},
			{"3.0", alice, "POST", "/snapshots/" + id + "/metadata", map[string]any{"metadata": map[string]any{"a": 1}}, 400, "badRequest",
				"Invalid metadata: Invalid input received: Value for metadata key: a is not a string or unicode"},
			{"3.0", alice, "POST", "/snapshots/" + id + "/metadata", map[string]any{"metadata": map[string]any{"": "v"}}, 400, "badRequest",
				"Invalid metadata: Invalid input received: Metadata key:  has 0 characters, less than 1."},
			{"3.0", alice, "POST", "/snapshots/" + id + "/metadata", map[string]any{"metadata": map[string]any{strings.Repeat("k", 256): "v"}}, 413, "overLimit",
				"Invalid metadata size: Metadata property key " + strings.Repeat("k", 256) + " greater than 255 characters."},
			{"3.0", alice, "PUT", "/snapshots/" + id + "/metadata/k", map[string]any{"meta": map[string]any{"k": strings.Repeat("v", 256)}}, 413, "overLimit",
				"Invalid metadata size: Metadata property key k value greater than 255 characters."},
			{"3.0", alice, "PUT", "/snapshots/" + id + "/metadata/k", map[string]any{"meta": map[string]any{"j": "v"}}, 400, "badRequest", "Request body and URI mismatch"},
			{"3.0", alice, "PUT", "/snapshots/" + id + "/metadata/k", map[string]any{"meta": map[string]any{"k": "v", "j": "v"}}, 400, "badRequest",
				"Request body contains too many items"},
			{"3.0", alice, "GET", "/snapshots/" + id + "/metadata/nope", nil, 404, "itemNotFound", "Snapshot " + id + " has no metadata with key nope."},
			{"3.0", alice, "DELETE", "/snapshots/" + id + "/metadata/nope", nil, 404, "itemNotFound", "Snapshot " + id + " has no metadata with key nope."},
		} {
			wantError(t, c.call(t, x.v, x.token, x.method, x.path, x.body), x.status, x.key, x.msg)
		}
	})
	// An admin's reset is a 202; "deleted" is refused (Cinder would
	// leave a row that says deleted and is not).
	c.must(t, 202, "3.0", admin, "POST", "/snapshots/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "ERROR"}})
	if s := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any); s["status"] != "error" {
		t.Fatalf("reset: %v", s)
	}
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.0", admin, "POST", "/snapshots/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "deleted"}}),
			400, "badRequest", "Snapshot status: deleted is invalid.")
	})
	// Quotas: snapshots, then gigabytes.
	c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"snapshots": 1}})
	c.nothingChanges(t, func() {
		r := c.call(t, "3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": vol}})
		wantError(t, r, 413, "overLimit", "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded")
		if r.Header.Get("Retry-After") != "0" {
			t.Errorf("over quota without Retry-After: %v", r.Header)
		}
	})
	c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"snapshots": 5, "gigabytes": 2}})
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.0", alice, "POST", "/snapshots", map[string]any{"snapshot": map[string]any{"volume_id": vol}}), 413, "overLimit",
			"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 1G, quota is 2G and 2G has been consumed.")
	})
	// An admin's force delete takes any status.
	c.must(t, 202, "3.0", admin, "POST", "/snapshots/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "creating"}})
	c.must(t, 202, "3.0", admin, "POST", "/snapshots/"+id+"/action", map[string]any{"os-force_delete": map[string]any{}})
	if s := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any); s["status"] != "deleting" {
		t.Fatalf("force delete: %v", s)
	}
}

// Snapshot metadata: list, show, add, replace, one key, delete.
func TestSnapshotMetadata(t *testing.T) {
	c := newAPI(t)
	id := c.newSnapshot(t, alice, c.availableVolume(t, alice, 1), map[string]any{"metadata": map[string]any{"a": "1"}})
	base := "/snapshots/" + id + "/metadata"
	md := func() map[string]any {
		return c.must(t, 200, "3.0", alice, "GET", base, nil)["metadata"].(map[string]any)
	}
	if m := md(); len(m) != 1 || m["a"] != "1" {
		t.Fatalf("list: %v", m)
	}
	if m := c.must(t, 200, "3.0", alice, "POST", base, map[string]any{"metadata": map[string]any{"b": "2"}})["metadata"].(map[string]any); len(m) != 2 {
		t.Fatalf("add answers %v, want the whole metadata", m)
	}
	if m := c.must(t, 200, "3.0", alice, "GET", base+"/b", nil)["meta"].(map[string]any); len(m) != 1 || m["b"] != "2" {
		t.Fatalf("show: %v", m)
	}
	if m := c.must(t, 200, "3.0", alice, "PUT", base+"/b", map[string]any{"meta": map[string]any{"b": "3"}})["meta"].(map[string]any); m["b"] != "3" {
		t.Fatalf("update one: %v", m)
	}
	if m := c.must(t, 200, "3.0", alice, "PUT", base, map[string]any{"metadata": map[string]any{"c": "4"}})["metadata"].(map[string]any); len(m) != 1 || m["c"] != "4" {
		t.Fatalf("replace: %v", m)
	}
	if r := c.call(t, "3.0", alice, "DELETE", base+"/c", nil); r.Code != 200 || len(r.Body) != 0 {
		t.Fatalf("delete: %s", r)
	}
	if m := md(); len(m) != 0 {
		t.Fatalf("after delete: %v", m)
	}
	if s := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any); len(s["metadata"].(map[string]any)) != 0 {
		t.Fatalf("snapshot's metadata: %v", s)
	}
}

// Lists: filters as Cinder reads them at each microversion, pages with
// next links, sorts, with_count; an admin's all_tenants.
func TestSnapshotList(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 1)
	vol2 := c.availableVolume(t, alice, 1)
	ids := []string{
		c.newSnapshot(t, alice, vol, map[string]any{"name": "alpha", "metadata": map[string]any{"k": "1"}}),
		c.newSnapshot(t, alice, vol, map[string]any{"name": "Beta"}),
		c.newSnapshot(t, alice, vol2, map[string]any{"name": "gamma", "metadata": map[string]any{"k": "2"}}),
	}
	c.snapDone(t, ids[0])
	bobs := c.newSnapshot(t, bob, c.availableVolume(t, bob, 1), map[string]any{"name": "alpha"})
	names := func(v, token, query string) []string {
		t.Helper()
		var out []string
		for _, s := range c.must(t, 200, v, token, "GET", "/snapshots/detail?"+query, nil)["snapshots"].([]any) {
			out = append(out, s.(map[string]any)["name"].(string))
		}
		return out
	}
	for _, x := range []struct {
		v, token, query string
		want            []string
	}{
		{"3.0", alice, "sort=name:asc", []string{"Beta", "alpha", "gamma"}},
		{"3.30", alice, "sort_key=name&sort_dir=desc", []string{"gamma", "alpha", "Beta"}},
		{"3.0", alice, "name=alpha", []string{"alpha"}},
		{"3.0", alice, "status=available", []string{"alpha"}},
		{"3.0", alice, "volume_id=" + vol2, []string{"gamma"}},
		{"3.0", alice, "sort=name:asc&metadata=" + url.QueryEscape("{'k': '2'}"), []string{"Beta", "alpha", "gamma"}}, // dropped before 3.22
		{"3.22", alice, "metadata=" + url.QueryEscape("{'k': '2'}"), []string{"gamma"}},
		{"3.22", alice, "metadata=notadict", nil},
		{"3.0", alice, "sort=name:asc&bogus=1&all_tenants=1", []string{"Beta", "alpha", "gamma"}}, // a user's other filters dropped
		{"3.31", alice, "sort=name:asc&all_tenants=1", []string{"Beta", "alpha", "gamma"}},
		{"3.0", admin, "all_tenants=1&name=alpha&sort=project_id:asc", []string{"alpha", "alpha"}},
		{"3.0", admin, "all_tenants=maybe&name=alpha", nil}, // oslo's bool_from_string: false
		{"3.0", admin, "all_tenants=1&project_id=" + projB, []string{"alpha"}},
		{"3.34", admin, "all_tenants=1&sort=name:asc&name~=" + url.QueryEscape("a"), []string{"Beta", "alpha", "alpha", "gamma"}},
		{"3.34", admin, "all_tenants=1&name~=ET", []string{"Beta"}},
		{"3.31", admin, "all_tenants=1&bogus=1", nil},              // no column: Cinder's empty list
		{"3.65", admin, "all_tenants=1&consumes_quota=false", nil}, // every snapshot consumes quota
		{"3.65", admin, "all_tenants=1&consumes_quota=true&name=Beta", []string{"Beta"}},
	} {
		if got := names(x.v, x.token, x.query); !slices.Equal(got, x.want) {
			t.Errorf("%s %s: %v, want %v", x.v, x.query, got, x.want)
		}
	}
	for _, x := range []struct {
		v, token, query, msg string
	}{
		{"3.31", alice, "bogus=1&all_tenants=1", "Invalid filters bogus are found in query options."},
		{"3.34", alice, "name~=a", "Invalid filters name~ are found in query options."},
		{"3.65", alice, "consumes_quota=true", "Invalid filters consumes_quota are found in query options."},
		{"3.31", alice, "availability_zone=nova", "The snapshot filters availability_zone are not supported yet."},
		{"3.31", admin, "user_id=alice", "The snapshot filters user_id are not supported yet."},
		{"3.65", admin, "consumes_quota=maybe", "Value 'maybe' for 'use_quota' is not a boolean."},
		{"3.45", alice, "with_count=maybe", "Value 'maybe' for 'with_count' is not a boolean."},
		{"3.0", alice, "limit=x", "limit param must be an integer"},
		{"3.0", alice, "sort=name&sort_key=name", "The 'sort_key' and 'sort_dir' parameters are deprecated"},
	} {
		wantError(t, c.call(t, x.v, x.token, "GET", "/snapshots?"+x.query, nil), 400, "badRequest", x.msg)
	}
	wantError(t, c.call(t, "3.0", alice, "GET", "/snapshots?marker="+bobs, nil), 404, "itemNotFound", "Snapshot "+bobs+" could not be found.")

	// Pages: a full page has a next link whose marker the next page
	// starts after; with_count from 3.45 counts them all.
	page := c.must(t, 200, "3.45", alice, "GET", "/snapshots?limit=2&sort=name:asc&with_count=true", nil)
	first := page["snapshots"].([]any)
	if len(first) != 2 || page["count"] != float64(3) {
		t.Fatalf("first page: %v", page)
	}
	next := page["snapshots_links"].([]any)[0].(map[string]any)["href"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Path != "/v3/snapshots" || u.Query().Get("marker") != first[1].(map[string]any)["id"] {
		t.Fatalf("next link %s", next)
	}
	rest := c.must(t, 200, "3.45", alice, "GET", "/snapshots?"+u.RawQuery, nil)
	if l := rest["snapshots"].([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "gamma" {
		t.Fatalf("second page: %v", rest)
	}
	if _, ok := rest["snapshots_links"]; ok {
		t.Fatalf("a last page with a next link: %v", rest)
	}
	// Before 3.45 with_count is a filter like any other.
	wantError(t, c.call(t, "3.44", alice, "GET", "/snapshots?with_count=true", nil), 400, "badRequest",
		"Invalid filters with_count are found in query options.")
}

// Quota usage and /limits count snapshots and their gigabytes; a volume
// deleted with cascade takes its snapshots with it.
func TestSnapshotUsageAndCascade(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 3)
	id := c.newSnapshot(t, alice, vol, nil)
	c.snapDone(t, id)
	abs := c.must(t, 200, "3.0", alice, "GET", "/limits", nil)["limits"].(map[string]any)["absolute"].(map[string]any)
	if abs["totalSnapshotsUsed"] != float64(1) || abs["totalGigabytesUsed"] != float64(6) || abs["maxTotalSnapshots"] != float64(10) {
		t.Fatalf("limits: %v", abs)
	}
	used := c.must(t, 200, "3.0", alice, "GET", "/os-quota-sets/"+projA+"?usage=true", nil)["quota_set"].(map[string]any)
	if s := used["snapshots"].(map[string]any); s["in_use"] != float64(1) {
		t.Fatalf("usage: %v", used)
	}
	if s := used["snapshots___DEFAULT__"].(map[string]any); s["in_use"] != float64(1) {
		t.Fatalf("usage by type: %v", used)
	}
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.0", alice, "DELETE", "/volumes/"+vol, nil), 400, "badRequest", "have snapshots")
	})
	if r := c.call(t, "3.0", alice, "DELETE", "/volumes/"+vol+"?cascade=true", nil); r.Code != 202 {
		t.Fatalf("cascade delete: %s", r)
	}
	if s := c.must(t, 200, "3.0", alice, "GET", "/snapshots/"+id, nil)["snapshot"].(map[string]any); s["status"] != "deleting" {
		t.Fatalf("snapshot of a cascaded volume: %v", s)
	}
	c.snapDone(t, id)
	c.agentDone(t, vol)
	abs = c.must(t, 200, "3.0", alice, "GET", "/limits", nil)["limits"].(map[string]any)["absolute"].(map[string]any)
	if abs["totalSnapshotsUsed"] != float64(0) || abs["totalGigabytesUsed"] != float64(0) {
		t.Fatalf("limits after: %v", abs)
	}
}

// gophercloud v2's snapshot calls against the API, through the
// catalog's URL with the project id: create, get, list in pages, update,
// metadata, an admin's reset and force delete, delete.
func TestSnapshotsGophercloud(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	sc := c.gopher(alice, projA, "3.66")
	adm := c.gopher(admin, "", "3.66")
	vol := c.availableVolume(t, alice, 2)
	var ids []string
	for _, name := range []string{"s1", "s2", "s3"} {
		s, err := snapshots.Create(ctx, sc, snapshots.CreateOpts{VolumeID: vol, Name: name, Metadata: map[string]string{"k": name}}).Extract()
		if err != nil || s.Status != "creating" || s.Size != 2 || s.UserID != "alice" || !s.ConsumesQuota {
			t.Fatalf("create: %+v %v", s, err)
		}
		ids = append(ids, s.ID)
	}
	c.snapDone(t, ids[0])
	got, err := snapshots.Get(ctx, sc, ids[0]).Extract()
	if err != nil || got.Status != "available" || got.Progress != "100%" || got.ProjectID != projA || got.CreatedAt.IsZero() {
		t.Fatalf("get: %+v %v", got, err)
	}
	var seen []string
	err = snapshots.ListDetail(sc, snapshots.ListOpts{Limit: 2, Sort: "name:asc"}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		ss, err := snapshots.ExtractSnapshots(p)
		for _, s := range ss {
			seen = append(seen, s.Name)
		}
		return true, err
	})
	if err != nil || !slices.Equal(seen, []string{"s1", "s2", "s3"}) {
		t.Fatalf("list in pages: %v %v", seen, err)
	}
	name := "renamed"
	if s, err := snapshots.Update(ctx, sc, ids[1], snapshots.UpdateOpts{Name: &name}).Extract(); err != nil || s.Name != name {
		t.Fatalf("update: %+v %v", s, err)
	}
	if md, err := snapshots.UpdateMetadata(ctx, sc, ids[1], snapshots.UpdateMetadataOpts{Metadata: map[string]any{"x": "y"}}).ExtractMetadata(); err != nil || len(md) != 1 || md["x"] != "y" {
		t.Fatalf("metadata: %v %v", md, err)
	}
	if err := snapshots.ResetStatus(ctx, sc, ids[2], snapshots.ResetStatusOpts{Status: "error"}).ExtractErr(); err == nil {
		t.Fatal("a member's reset")
	}
	if err := snapshots.ResetStatus(ctx, adm, ids[2], snapshots.ResetStatusOpts{Status: "error"}).ExtractErr(); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := snapshots.Delete(ctx, sc, ids[2]).ExtractErr(); err != nil {
		t.Fatalf("delete of an error snapshot: %v", err)
	}
	if err := snapshots.ForceDelete(ctx, adm, ids[1]).ExtractErr(); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	for _, id := range ids[1:] {
		if s, err := snapshots.Get(ctx, sc, id).Extract(); err != nil || s.Status != "deleting" {
			t.Fatalf("deleted: %+v %v", s, err)
		}
	}
}
