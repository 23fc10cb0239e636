package cinder_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// os-retype: Cinder's schema, policy, lookups and refusals (nothing
// changed), then 202 with the volume retyping for its pool's agent.
func TestRetypeAction(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	for _, vt := range []storage.VolumeTypeCreate{{Name: "silver", ExtraSpecs: map[string]string{"note:tier": "2"}},
		{Name: "tiny", ExtraSpecs: map[string]string{storage.SpecMaxVolSize: "0"}}} {
		if _, err := c.store.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
	}
	id := c.newVolume(t, alice, nil)
	c.agentDone(t, id)
	act := func(token string, body any) apitest.Reply {
		return c.call(t, "3.0", token, "POST", "/volumes/"+id+"/action", body)
	}
	c.unchanged(t, func() {
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{}}), 400, "badRequest", "'new_type' is a required property")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": 3}}), 400, "badRequest", "3 is not of type 'string'")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": "silver", "migration_policy": "always"}}), 400, "badRequest",
			"'always' is not one of ['on-demand', 'never']")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": "silver", "migration_policy": nil}}), 400, "badRequest",
			"None is not one of ['on-demand', 'never']") // Cinder's schema: null is a type it allows, not a value
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": "silver", "x": 1}}), 400, "badRequest", "Additional properties")
		wantError(t, act(bob, map[string]any{"os-retype": map[string]any{"new_type": "silver"}}), 404, "itemNotFound", "Volume "+id+" could not be found.")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": "bronze"}}), 404, "itemNotFound",
			"Volume type with name bronze could not be found.")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": "tiny"}}), 400, "badRequest",
			"Specified volume size of '1' is greater than the maximum allowable size of '0' for volume type 'tiny'.")
		wantError(t, act(alice, map[string]any{"os-retype": map[string]any{"new_type": storage.DefaultVolumeTypeName}}), 400, "badRequest",
			"Invalid volume: Retype needs volume to be in available or in-use state")
	})
	if r := act(alice, map[string]any{"os-retype": map[string]any{"new_type": "silver", "migration_policy": "never"}}); r.Code != 202 || len(r.Body) != 0 {
		t.Fatalf("retype: %s", r)
	}
	v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if v["status"] != "retyping" || v["volume_type"] != storage.DefaultVolumeTypeName {
		t.Fatalf("after the retype's request: %v %v", v["status"], v["volume_type"])
	}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/host1@lvm%23pool1/volumes/" + id, Token: service,
		Body: storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeInPlace}})
	if r.Code != 200 {
		t.Fatalf("the agent's report: %s", r)
	}
	v = c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if v["status"] != "available" || v["volume_type"] != "silver" {
		t.Fatalf("retyped: %v %v", v["status"], v["volume_type"])
	}
}

// A retype that migrates shows Cinder's migration_status to admins (in
// migration_status and os-vol-mig-status-attr:migstat): migrating
// while it does, success once moved (kept after the old copy is
// removed), error after a failed one; none to members. Lists filter on
// it; an admin's reset to none clears it.
func TestRetypeMigrationStatus(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	const other = "host2@fast#p"
	if _, err := c.store.ReportBackend(ctx, other, storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "fast",
		TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fast", "lvm"} {
		if _, err := c.store.CreateVolumeType(ctx, storage.VolumeTypeCreate{Name: n, ExtraSpecs: map[string]string{"volume_backend_name": n}}); err != nil {
			t.Fatal(err)
		}
	}
	id := c.newVolume(t, alice, nil)
	c.agentDone(t, id)
	status := func(token string) (any, any, bool) {
		t.Helper()
		v := c.must(t, 200, "3.0", token, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
		ms, ok := v["migration_status"]
		return ms, v["os-vol-mig-status-attr:migstat"], ok
	}
	want := func(what string, s any) {
		t.Helper()
		if ms, migstat, ok := status(admin); !ok || ms != s || migstat != s {
			t.Fatalf("%s: migration_status %v, migstat %v, want %v", what, ms, migstat, s)
		}
		if _, _, ok := status(alice); ok {
			t.Fatalf("%s: a member sees migration_status", what)
		}
	}
	report := func(host string, rep storage.VolumeReport) {
		t.Helper()
		r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(host) + "/volumes/" + id, Token: service, Body: rep})
		if r.Code != 200 {
			t.Fatalf("the agent's report: %s", r)
		}
	}
	listed := func(filter string) int {
		t.Helper()
		return len(c.must(t, 200, "3.0", admin, "GET", "/volumes?all_tenants=1&migration_status="+filter, nil)["volumes"].([]any))
	}
	want("before", nil)
	if n := listed("None"); n != 1 {
		t.Fatalf("migration_status=None lists %d", n)
	}
	act := func(body any) apitest.Reply { return c.call(t, "3.0", admin, "POST", "/volumes/"+id+"/action", body) }
	if r := act(map[string]any{"os-retype": map[string]any{"new_type": "fast", "migration_policy": "on-demand"}}); r.Code != 202 {
		t.Fatalf("retype: %s", r)
	}
	want("migrating", "migrating")
	report(other, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
		ProviderLocation: "192.0.2.2:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1", ProviderAuth: "CHAP u p"})
	want("copying", "migrating")
	if n := listed("migrating"); n != 1 {
		t.Fatalf("migration_status=migrating lists %d", n)
	}
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
	want("moved", "success")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup})
	want("old copy removed", "success")
	if n, m := listed("success"), listed("None"); n != 1 || m != 0 {
		t.Fatalf("migration_status=success lists %d, None %d", n, m)
	}

	// Back, failing.
	if r := act(map[string]any{"os-retype": map[string]any{"new_type": "lvm", "migration_policy": "on-demand"}}); r.Code != 202 {
		t.Fatalf("retype back: %s", r)
	}
	want("migrating back", "migrating")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate, Error: "no space"})
	want("failed", "error")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort})
	want("aborted", "error")
	if r := act(map[string]any{"os-reset_status": map[string]any{"migration_status": "none"}}); r.Code != 202 {
		t.Fatalf("reset to none: %s", r)
	}
	want("reset", nil)
}
