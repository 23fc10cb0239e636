package cinder_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// os-migrate_volume: Cinder's schemas (3.16 adds cluster), lookup,
// admin-only policy and refusals, nothing changed; then 202 with
// migration_status starting, migrating once the destination's copy is
// made, success once moved, the volume available and of its type
// throughout; lock_volume puts it in maintenance until the end.
func TestMigrateAction(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	const other = "host2@lvm#pool2"
	if _, err := c.store.ReportBackend(ctx, other, storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}); err != nil {
		t.Fatal(err)
	}
	id := c.newVolume(t, alice, nil)
	c.agentDone(t, id)
	act := func(version, token string, body any) apitest.Reply {
		t.Helper()
		return c.call(t, version, token, "POST", "/volumes/"+id+"/action", body)
	}
	migrate := func(params map[string]any) map[string]any { return map[string]any{"os-migrate_volume": params} }
	c.unchanged(t, func() {
		wantError(t, act("3.0", admin, migrate(map[string]any{})), 400, "badRequest", "'host' is a required property")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": other, "cluster": "c"})), 400, "badRequest", "Additional properties")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": other, "lock_volume": "maybe"})), 400, "badRequest", "'maybe' is not one of")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": 3})), 400, "badRequest", "3 is not of type 'string'")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": ""})), 400, "badRequest", "Invalid input received: Host field is missing.")
		wantError(t, act("3.16", admin, migrate(map[string]any{"host": other, "cluster": "c"})), 400, "badRequest",
			"Invalid input received: One and only one of cluster and host must be set.")
		wantError(t, act("3.16", admin, migrate(map[string]any{})), 400, "badRequest",
			"Invalid input received: One and only one of cluster and host must be set.")
		wantError(t, act("3.16", admin, migrate(map[string]any{"cluster": "c1"})), 400, "badRequest", "Invalid host: No available service named 'c1'")
		wantError(t, act("3.0", bob, migrate(map[string]any{"host": other})), 404, "itemNotFound", "Volume "+id+" could not be found.")
		wantError(t, act("3.0", alice, migrate(map[string]any{"host": other})), 403, "forbidden",
			"Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume to be performed.")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": "nowhere@lvm#pool"})), 400, "badRequest",
			"Invalid host: No available service named 'nowhere@lvm#pool'")
		wantError(t, act("3.0", admin, migrate(map[string]any{"host": pool})), 400, "badRequest",
			"Invalid volume: Volume "+id+" status must be available or in-use, must not be migrating, have snapshots, be replicated, "+
				"be part of a group and destination host/cluster must be different than the current one")
	})
	show := func() map[string]any {
		t.Helper()
		return c.must(t, 200, "3.0", admin, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	}
	want := func(what, status, migration string) {
		t.Helper()
		v := show()
		if v["status"] != status || v["migration_status"] != migration || v["volume_type"] != storage.DefaultVolumeTypeName {
			t.Fatalf("%s: status %v, migration_status %v, type %v; want %s, %s", what, v["status"], v["migration_status"], v["volume_type"], status, migration)
		}
	}
	report := func(host string, rep storage.VolumeReport) {
		t.Helper()
		r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(host) + "/volumes/" + id, Token: service, Body: rep})
		if r.Code != 200 {
			t.Fatalf("the agent's report: %s", r)
		}
	}
	if r := act("3.0", admin, migrate(map[string]any{"host": other, "force_host_copy": "True"})); r.Code != 202 || len(r.Body) != 0 {
		t.Fatalf("migrate: %s", r)
	}
	want("asked", "available", "starting")
	wantError(t, act("3.0", admin, migrate(map[string]any{"host": pool})), 400, "badRequest", "Invalid volume: Volume "+id+" status must be")
	report(other, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
		ProviderLocation: "192.0.2.2:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1", ProviderAuth: "CHAP u p"})
	want("copying", "available", "migrating")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy})
	want("moved", "available", "success")
	if h := show()["os-vol-host-attr:host"]; h != other {
		t.Fatalf("moved to %v, want %s", h, other)
	}
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup})

	// Back, locked (3.16: host null beside no cluster is refused; host
	// alone is taken).
	if r := act("3.16", admin, migrate(map[string]any{"host": pool, "lock_volume": true})); r.Code != 202 {
		t.Fatalf("migrate back: %s", r)
	}
	want("locked", "maintenance", "starting")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate, Error: "no space"})
	want("failed", "available", "error")
	report(pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeAbort})
}

// python3-openstackclient's volume migrate (cinderclient at 3.60, with
// --lock-volume): 202, the volume in maintenance, migration_status
// starting, then moved by the agents' reports.
func TestMigrateOpenStackClient(t *testing.T) {
	c := newAPI(t)
	const other = "host2@lvm#pool2"
	if _, err := c.store.ReportBackend(context.Background(), other, storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100)}); err != nil {
		t.Fatal(err)
	}
	var vol map[string]any
	c.osc(t, alice, &vol, "volume", "create", "--size", "1", "m1")
	id, _ := vol["id"].(string)
	c.agentDone(t, id)
	c.osc(t, admin, nil, "volume", "migrate", "--host", other, "--lock-volume", "--force-host-copy", id)
	c.osc(t, admin, &vol, "volume", "show", id)
	if vol["status"] != "maintenance" || vol["migration_status"] != "starting" || vol["os-vol-host-attr:host"] != pool {
		t.Fatalf("after openstack volume migrate: %v %v %v", vol["status"], vol["migration_status"], vol["os-vol-host-attr:host"])
	}
	for _, step := range []struct {
		host string
		rep  storage.VolumeReport
	}{
		{other, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCreate,
			ProviderLocation: "192.0.2.2:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1", ProviderAuth: "CHAP u p"}},
		{pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCopy}},
		{pool, storage.VolumeReport{Status: storage.VolumeRetyping, Retype: storage.RetypeCleanup}},
	} {
		r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(step.host) + "/volumes/" + id, Token: service, Body: step.rep})
		if r.Code != 200 {
			t.Fatalf("the agent's report: %s", r)
		}
	}
	c.osc(t, admin, &vol, "volume", "show", id)
	if vol["status"] != "available" || vol["migration_status"] != "success" || vol["os-vol-host-attr:host"] != other {
		t.Fatalf("migrated: %v %v %v", vol["status"], vol["migration_status"], vol["os-vol-host-attr:host"])
	}
}
