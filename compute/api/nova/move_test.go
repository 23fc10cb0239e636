package nova_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute"
)

// resize, migrate, confirmResize and revertResize as the API takes them:
// Nova's body checks and messages, the state rules, the admin-only
// migrate, and the controller's steps between the hosts' reports.
func TestMoves(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	e.must(t, 200, "2.1", admin, "POST", "/flavors", map[string]any{"flavor": map[string]any{"name": "small", "ram": 1024, "vcpus": 1, "disk": 2, "id": "2"}})
	e.must(t, 200, "2.1", admin, "POST", "/flavors", map[string]any{"flavor": map[string]any{"name": "nodisk", "ram": 512, "vcpus": 1, "disk": 0, "id": "0"}})
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	act := func(v, token string, body any) (int, string) {
		r := e.call(t, v, token, "POST", "/servers/"+id+"/action", body)
		return r.Code, string(r.Body)
	}
	for _, c := range []struct {
		body any
		code int
		want string
	}{
		{map[string]any{"resize": map[string]any{}}, 400, "'flavorRef' is a required property"},
		{map[string]any{"resize": map[string]any{"flavorRef": "2", "x": 1}}, 400, "Additional properties are not allowed ('x' was unexpected)"},
		{map[string]any{"resize": map[string]any{"flavorRef": true}}, 400, "is not valid under any of the given schemas"},
		{map[string]any{"resize": map[string]any{"flavorRef": "2", "OS-DCF:diskConfig": "X"}}, 400, "is not one of ['AUTO', 'MANUAL']"},
		// The state before the flavor, as Nova.
		{map[string]any{"resize": map[string]any{"flavorRef": "77"}}, 409, "Cannot 'resize' instance " + id + " while it is in vm_state building"},
		{map[string]any{"resize": map[string]any{"flavorRef": "2"}}, 409, "Cannot 'resize' instance " + id + " while it is in vm_state building"},
		{map[string]any{"migrate": nil}, 403, "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed."},
		{map[string]any{"confirmResize": nil}, 409, "Cannot 'confirmResize' instance " + id + " while it is in vm_state building"},
	} {
		if code, body := act("2.1", alice, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%v: %d %s", c.body, code, body)
		}
	}
	if code, body := act("2.55", admin, map[string]any{"migrate": map[string]any{"host": "host1"}}); code != 400 || !strings.Contains(body, "Additional properties are not allowed ('host' was unexpected)") {
		t.Errorf("migrate with a host before 2.56: %d %s", code, body)
	}
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)
	i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if code, body := act("2.56", admin, map[string]any{"migrate": map[string]any{"host": "nohost"}}); code != 400 || !strings.Contains(body, "Compute host nohost could not be found.") {
		t.Errorf("migrate to no host: %d %s", code, body)
	}
	if code, body := act("2.56", admin, map[string]any{"migrate": map[string]any{"host": i.Host}}); code != 400 || !strings.Contains(body, "Cannot migrate to the host where the server exists.") {
		t.Errorf("migrate to its own host: %d %s", code, body)
	}
	// Quota: only the growth counts.
	e.must(t, 200, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"ram": 1000}})
	if code, body := act("2.1", alice, map[string]any{"resize": map[string]any{"flavorRef": "2"}}); code != 403 ||
		!strings.Contains(body, "Quota exceeded for ram: Requested 512, but already used 512 of 1000 ram") {
		t.Errorf("resize over the ram quota: %d %s", code, body)
	}
	e.must(t, 200, "2.1", admin, "PUT", "/os-quota-sets/proj-a", map[string]any{"quota_set": map[string]any{"ram": -1}})
	for _, c := range []struct {
		ref, want string
	}{
		{"77", "Flavor 77 could not be found."},
		{"1", "When resizing, instances must change flavor!"},
		{"0", "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed."},
	} {
		if code, body := act("2.1", alice, map[string]any{"resize": map[string]any{"flavorRef": c.ref}}); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("resize to %s: %d %s", c.ref, code, body)
		}
	}

	// A resize: the builder picks a destination, the source sends its
	// disk, the builder switches to the destination, which builds the
	// guest: VERIFY_RESIZE with the new flavor; then a revert.
	if code, body := act("2.1", alice, map[string]any{"resize": map[string]any{"flavorRef": "2"}}); code != 202 {
		t.Fatalf("resize: %d %s", code, body)
	}
	if s := e.show(t, alice, id); s["status"] != "RESIZE" || s["OS-EXT-STS:task_state"] != "resize_prep" {
		t.Fatalf("after the resize request: %v %v", s["status"], s["OS-EXT-STS:task_state"])
	}
	if code, _ := act("2.1", alice, map[string]any{"resize": map[string]any{"flavorRef": "2"}}); code != 409 {
		t.Errorf("a second resize at once: %d", code)
	}
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	mv, err := e.store.ActiveMigration(ctx, id)
	if err != nil || mv.Source != i.Host || mv.Dest == "" || mv.Status != compute.MigrationMigrating {
		t.Fatalf("migration: %+v %v", mv, err)
	}
	e.report(t, id, compute.ResizeMigrating, compute.Active, compute.PowerShutdown)
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	moved, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if moved.Host != mv.Dest || moved.TaskState != compute.ResizeFinish || moved.Flavor.ID != "2" {
		t.Fatalf("switched to the destination: host %s task %s flavor %s", moved.Host, moved.TaskState, moved.Flavor.ID)
	}
	e.report(t, id, compute.ResizeFinish, compute.Resized, compute.PowerRunning)
	if s := e.show(t, alice, id); s["status"] != "VERIFY_RESIZE" {
		t.Fatalf("after the destination: %v", s["status"])
	}
	// Both hosts' resources are held until the end.
	if c, _ := e.store.Consumer(ctx, mv.UUID); len(c.Allocations) != 1 {
		t.Errorf("the migration holds %v", c.Allocations)
	}
	if code, body := act("2.1", alice, map[string]any{"revertResize": nil}); code != 202 {
		t.Fatalf("revert: %d %s", code, body)
	}
	e.report(t, id, compute.ResizeReverting, compute.Resized, compute.PowerNoState) // the destination removed its guest
	back, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if back.Host != mv.Source || back.Flavor.ID != "1" || back.TaskState != compute.ResizeReverting {
		t.Fatalf("back on the source: host %s flavor %s task %s", back.Host, back.Flavor.ID, back.TaskState)
	}
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.ResizeReverting, compute.Active, compute.PowerRunning) // the source started its guest
	if s := e.show(t, alice, id); s["status"] != "ACTIVE" {
		t.Fatalf("after the revert: %v", s["status"])
	}
	if c, _ := e.store.Consumer(ctx, mv.UUID); len(c.Allocations) != 0 {
		t.Errorf("the reverted migration still holds %v", c.Allocations)
	}
	if c, _ := e.store.Consumer(ctx, id); len(c.Allocations) != 1 {
		t.Errorf("the instance holds %v after the revert", c.Allocations)
	}
	if code, body := act("2.1", alice, map[string]any{"confirmResize": nil}); code != 409 {
		t.Errorf("a confirm with no resize: %d %s", code, body)
	}
}

// A move that fails on its way ends with the server where it works: the
// source that cannot send its disk keeps the server; a destination that
// cannot build the guest sends it back to its source, as a revert; a
// stale report of a revert's first step changes nothing.
func TestMoveFailures(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	e.must(t, 200, "2.1", admin, "POST", "/flavors", map[string]any{"flavor": map[string]any{"name": "small", "ram": 1024, "vcpus": 1, "disk": 2, "id": "2"}})
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)
	src, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	resize := func() compute.Migration {
		t.Helper()
		e.must(t, 202, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"resize": map[string]any{"flavorRef": "2"}})
		if err := e.builder.MoveWaiting(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := e.store.ActiveMigration(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	holds := func(consumer string, n int) {
		t.Helper()
		if c, _ := e.store.Consumer(ctx, consumer); len(c.Allocations) != n {
			t.Errorf("%s holds %v, want %d providers", consumer, c.Allocations, n)
		}
	}
	reportAs := func(host string, r compute.InstanceReport) {
		t.Helper()
		if _, err := e.store.ReportInstance(ctx, host, id, r); err != nil {
			t.Fatal(err)
		}
	}

	// The source fails.
	m := resize()
	reportAs(src.Host, compute.InstanceReport{Task: compute.ResizeMigrating, VMState: compute.Active, PowerState: compute.PowerRunning,
		Error: "Resize of instance " + id + " failed on its source: qemu-img convert: no space"})
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	i, _ := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if i.Host != src.Host || i.TaskState != compute.NoTask || i.VMState != compute.Active || i.Flavor.ID != "1" {
		t.Fatalf("after the source failed: host %s task %q vm %s flavor %s", i.Host, i.TaskState, i.VMState, i.Flavor.ID)
	}
	holds(m.UUID, 0)
	holds(id, 1)

	// The destination fails: back to the source, which starts its guest.
	m = resize()
	reportAs(src.Host, compute.InstanceReport{Task: compute.ResizeMigrating, VMState: compute.Active, PowerState: compute.PowerShutdown})
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	reportAs(m.Dest, compute.InstanceReport{Task: compute.ResizeFinish, VMState: compute.Resized, Error: "Resize of instance " + id + " failed on its destination: no space"})
	i, _ = e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if i.Host != src.Host || i.TaskState != compute.ResizeReverting || i.Flavor.ID != "1" {
		t.Fatalf("after the destination failed: host %s task %q flavor %s", i.Host, i.TaskState, i.Flavor.ID)
	}
	// Its report sent again after the switch is stale.
	if _, err := e.store.ReportInstance(ctx, src.Host, id, compute.InstanceReport{Task: compute.ResizeReverting, VMState: compute.Resized}); err == nil {
		t.Errorf("a stale report of the destination's step was taken")
	}
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	reportAs(src.Host, compute.InstanceReport{Task: compute.ResizeReverting, VMState: compute.Active, PowerState: compute.PowerRunning})
	if s := e.show(t, alice, id); s["status"] != "ACTIVE" {
		t.Fatalf("after the automatic revert: %v", s["status"])
	}
	holds(m.UUID, 0)
	holds(id, 1)
	acts := e.must(t, 200, "2.84", admin, "GET", "/servers/"+id+"/os-instance-actions", nil)["instanceActions"].([]any)
	if len(acts) < 3 || acts[0].(map[string]any)["message"] != "Error" || acts[1].(map[string]any)["message"] != "Error" {
		t.Errorf("the failed resizes' actions: %v", acts)
	}

	// A reset during a move ends it; another move can start.
	m = resize()
	e.must(t, 202, "2.1", admin, "POST", "/servers/"+id+"/action", map[string]any{"os-resetState": map[string]any{"state": "active"}})
	if _, err := e.store.ActiveMigration(ctx, id); err == nil {
		t.Errorf("a migration still under way after the reset")
	}
	if err := e.builder.MoveWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	holds(m.UUID, 0)
	resize()
}

// Ports a build made before its controller died, not yet recorded on
// the instance, go with it: when no host is found, and when the server
// is deleted before it is placed.
func TestUnrecordedPortsReleased(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, flavor string
		del          bool
	}{{"no valid host", "9", false}, {"deleted unplaced", "1", true}} {
		t.Run(c.name, func(t *testing.T) {
			id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"flavorRef": c.flavor}))["server"].(map[string]any)["id"].(string)
			// The try that died: its ports were made, Place never came.
			ports, err := e.nets.Allocate(ctx, "proj-a", id, "host1", []compute.NetworkRequest{{NetworkID: netA}})
			if err != nil || len(ports) != 1 {
				t.Fatal(ports, err)
			}
			if c.del {
				e.must(t, 204, "2.1", alice, "DELETE", "/servers/"+id, nil)
			} else if err := e.builder.BuildWaiting(ctx); err != nil {
				t.Fatal(err)
			}
			if left, _ := e.nets.PortsOf(ctx, id); len(left) != 0 {
				t.Errorf("ports left: %v", left)
			}
		})
	}
}
