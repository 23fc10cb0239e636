package cinder_test

import (
	"context"
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
