package nova_test

import (
	"testing"
)

// Quotas: the defaults, a project's own limits, the use in detail and in
// limits, and a create over the limit refused with Nova's 403 (or cut
// down to what fits when min_count allows).
func TestQuotas(t *testing.T) {
	e := newServerAPI(t)
	qs := e.must(t, 200, "2.1", alice, "GET", "/os-quota-sets/proj-a", nil)["quota_set"].(map[string]any)
	if qs["id"] != "proj-a" || qs["instances"] != float64(10) || qs["cores"] != float64(20) || qs["ram"] != float64(51200) || qs["floating_ips"] != float64(10) {
		t.Fatalf("defaults: %v", qs)
	}
	if qs := e.must(t, 200, "2.57", alice, "GET", "/os-quota-sets/proj-a", nil)["quota_set"].(map[string]any); qs["floating_ips"] != nil || qs["injected_files"] != nil {
		t.Fatalf("2.57 still shows removed quotas: %v", qs)
	}
	wantError(t, e.call(t, "2.1", alice, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"instances": 2}}), 403, "forbidden")
	e.must(t, 200, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"instances": 2, "cores": "3"}})
	wantError(t, e.call(t, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"networks": 3}}), 400, "badRequest", "The networks quota has been removed")
	wantError(t, e.call(t, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"cores": -2}}), 400, "badRequest")
	wantError(t, e.call(t, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"bogus": 1}}), 400, "badRequest", "'bogus' was unexpected")

	// max_count 3 with min_count 1: two fit the instances quota.
	e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"min_count": 1, "max_count": 3}))
	if l := e.must(t, 200, "2.1", alice, "GET", "/servers", nil)["servers"].([]any); len(l) != 2 {
		t.Fatalf("servers after a create cut to the quota: %v", l)
	}
	wantError(t, e.call(t, "2.1", alice, "POST", "/servers", serverBody(nil)), 403, "forbidden", "Quota exceeded for instances")
	detail := e.must(t, 200, "2.1", alice, "GET", "/os-quota-sets/proj-a/detail", nil)["quota_set"].(map[string]any)
	if in := detail["instances"].(map[string]any); in["in_use"] != float64(2) || in["limit"] != float64(2) || in["reserved"] != float64(0) {
		t.Fatalf("detail: %v", detail)
	}
	abs := e.must(t, 200, "2.1", alice, "GET", "/limits", nil)["limits"].(map[string]any)["absolute"].(map[string]any)
	if abs["maxTotalInstances"] != float64(2) || abs["totalInstancesUsed"] != float64(2) || abs["totalCoresUsed"] != float64(2) || abs["maxTotalCores"] != float64(3) {
		t.Fatalf("limits: %v", abs)
	}
	// Lowering below the use is refused unless forced.
	wantError(t, e.call(t, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"instances": 1}}), 400, "badRequest",
		"Quota limit 1 for instances must be greater than or equal to already used and reserved 2.")
	e.must(t, 200, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"instances": 1, "force": true}})
	// Back to the defaults.
	if r := e.call(t, "2.1", admin, "DELETE", "/os-quota-sets/proj-a", nil); r.Code != 202 {
		t.Fatalf("delete: %s", r)
	}
	if qs := e.must(t, 200, "2.1", alice, "GET", "/os-quota-sets/proj-a", nil)["quota_set"].(map[string]any); qs["instances"] != float64(10) {
		t.Fatalf("after delete: %v", qs)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/os-quota-sets/proj-a?user_id=alice", nil), 400, "badRequest", "Per-user quotas")
	// Another project's quotas are the admin's to read.
	wantError(t, e.call(t, "2.1", bob, "GET", "/os-quota-sets/proj-a", nil), 403, "forbidden")
}

// A server's metadata items and a group's servers are held to
// metadata_items and server_group_members, with Nova's 403s; nothing is
// made.
func TestMetadataAndGroupQuotas(t *testing.T) {
	e := newServerAPI(t)
	e.must(t, 200, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"metadata_items": 2, "server_group_members": 2}})
	r := e.call(t, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"metadata": map[string]any{"a": "1", "b": "2", "c": "3"}}))
	wantError(t, r, 403, "forbidden", "Maximum number of metadata items exceeds 2")
	g := e.must(t, 200, "2.64", alice, "POST", "/os-server-groups", map[string]any{"server_group": map[string]any{"name": "g", "policy": "affinity"}})["server_group"].(map[string]any)["id"].(string)
	withGroup := func(n int) map[string]any {
		b := serverBody(map[string]any{"min_count": n, "max_count": n})
		b["os:scheduler_hints"] = map[string]any{"group": g}
		return b
	}
	r = e.call(t, "2.1", alice, "POST", "/servers", withGroup(3))
	wantError(t, r, 403, "forbidden", "Quota exceeded, too many servers in group")
	e.must(t, 202, "2.1", alice, "POST", "/servers", withGroup(2))
	r = e.call(t, "2.1", alice, "POST", "/servers", withGroup(1))
	wantError(t, r, 403, "forbidden", "Quota exceeded, too many servers in group")
	list := e.must(t, 200, "2.1", alice, "GET", "/servers", nil)["servers"].([]any)
	if len(list) != 2 {
		t.Errorf("%d servers made, want the 2 that fit", len(list))
	}
}
