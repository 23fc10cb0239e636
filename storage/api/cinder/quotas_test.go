package cinder_test

import (
	"fmt"
	"testing"
)

// Quotas: defaults, a project's own limits set by an admin, the use
// with usage=true and in /limits, creates and extends over a limit
// refused with Cinder's 413 (Retry-After: 0), and the defaults back
// after a delete.
func TestQuotas(t *testing.T) {
	c := newAPI(t)
	qs := c.must(t, 200, "3.0", alice, "GET", "/os-quota-sets/"+projA, nil)["quota_set"].(map[string]any)
	if qs["id"] != projA || qs["volumes"] != float64(10) || qs["gigabytes"] != float64(1000) || qs["volumes___DEFAULT__"] != float64(-1) {
		t.Fatalf("defaults: %v", qs)
	}
	if d := c.must(t, 200, "3.0", alice, "GET", "/os-quota-sets/"+projA+"/defaults", nil)["quota_set"].(map[string]any); d["volumes"] != float64(10) || d["id"] != projA {
		t.Fatalf("defaults: %v", d)
	}
	wantError(t, c.call(t, "3.0", bob, "GET", "/os-quota-sets/"+projA, nil), 403, "forbidden", "Policy doesn't allow volume_extension:quotas:show to be performed.")
	wantError(t, c.call(t, "3.0", alice, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"volumes": 2}}), 403, "forbidden",
		"Policy doesn't allow volume_extension:quotas:update to be performed.")
	upd := c.must(t, 200, "3.0", admin, "PUT", "/os-quota-sets/"+projA, map[string]any{"quota_set": map[string]any{"volumes": "2", "gigabytes": 5, "id": "x"}})["quota_set"].(map[string]any)
	if upd["volumes"] != float64(2) || upd["gigabytes"] != float64(5) {
		t.Fatalf("update: %v", upd)
	}
	if _, ok := upd["id"]; ok {
		t.Errorf("update's answer has an id: %v", upd)
	}
	c.newVolume(t, alice, map[string]any{"size": 3})
	id := c.newVolume(t, alice, map[string]any{"size": 1})
	used := c.must(t, 200, "3.0", alice, "GET", "/os-quota-sets/"+projA+"?usage=true", nil)["quota_set"].(map[string]any)
	if v := used["volumes"].(map[string]any); v["limit"] != float64(2) || v["in_use"] != float64(2) || v["reserved"] != float64(0) {
		t.Fatalf("usage: %v", used)
	}
	abs := c.must(t, 200, "3.0", alice, "GET", "/limits", nil)["limits"].(map[string]any)["absolute"].(map[string]any)
	if abs["maxTotalVolumes"] != float64(2) || abs["totalVolumesUsed"] != float64(2) || abs["totalGigabytesUsed"] != float64(4) ||
		abs["maxTotalVolumeGigabytes"] != float64(5) || abs["maxTotalSnapshots"] != float64(10) {
		t.Fatalf("limits: %v", abs)
	}
	c.unchanged(t, func() {
		r := c.call(t, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}})
		wantError(t, r, 413, "overLimit", "VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for quota 'volumes'.")
		if r.Header.Get("Retry-After") != "0" || r.JSON(t)["overLimit"].(map[string]any)["retryAfter"] != "0" {
			t.Fatalf("over quota: %s %v", r, r.Header)
		}
	})
	c.must(t, 202, "3.0", admin, "POST", "/volumes/"+id+"/action", map[string]any{"os-reset_status": map[string]any{"status": "available"}})
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "POST", "/volumes/"+id+"/action", map[string]any{"os-extend": map[string]any{"new_size": 3}}), 413, "overLimit",
			"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 5G and 4G has been consumed.")
	})
	for _, x := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"quota_set": map[string]any{"volumes": 1}}, "Quota volumes limit must be equal or greater than existing resources. Current usage is 2 and the requested limit is 1."},
		{map[string]any{"quota_set": map[string]any{"bogus": 1}}, "Invalid input received: Bad key(s) in quota set: bogus"},
		{map[string]any{"quota_set": map[string]any{"volumes": -2}}, "volumes must be >= -1"},
		{map[string]any{"quota_set": map[string]any{"volumes": "x"}}, "volumes must be an integer"},
		{map[string]any{"quota_set": map[string]any{}}, "{} does not have enough properties"},
	} {
		t.Run(fmt.Sprint(x.body), func(t *testing.T) {
			before := fmt.Sprint(c.must(t, 200, "3.0", admin, "GET", "/os-quota-sets/"+projA, nil))
			wantError(t, c.call(t, "3.0", admin, "PUT", "/os-quota-sets/"+projA, x.body), 400, "badRequest", x.msg)
			if after := fmt.Sprint(c.must(t, 200, "3.0", admin, "GET", "/os-quota-sets/"+projA, nil)); after != before {
				t.Fatalf("quotas changed: %s -> %s", before, after)
			}
		})
	}
	// An admin reads another project's limits from 3.39.
	if abs := c.must(t, 200, "3.39", admin, "GET", "/limits?project_id="+projA, nil)["limits"].(map[string]any)["absolute"].(map[string]any); abs["maxTotalVolumes"] != float64(2) {
		t.Fatalf("admin's limits of project A: %v", abs)
	}
	if abs := c.must(t, 200, "3.38", admin, "GET", "/limits?project_id="+projA, nil)["limits"].(map[string]any)["absolute"].(map[string]any); abs["maxTotalVolumes"] != float64(10) {
		t.Fatalf("project_id before 3.39: %v", abs)
	}
	wantError(t, c.call(t, "3.0", alice, "DELETE", "/os-quota-sets/"+projA, nil), 403, "forbidden")
	if r := c.call(t, "3.0", admin, "DELETE", "/os-quota-sets/"+projA, nil); r.Code != 200 {
		t.Fatalf("delete: %s", r)
	}
	if qs := c.must(t, 200, "3.0", alice, "GET", "/os-quota-sets/"+projA, nil)["quota_set"].(map[string]any); qs["volumes"] != float64(10) {
		t.Fatalf("after delete: %v", qs)
	}
}
