package nova_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
)

// os-server-external-events: a volume-extended event of a server on a
// host marks its volume extending with the volume's size for the host;
// each event gets Nova's status and code (207 when any failed);
// malformed bodies are 400s, non-admins 403, and nothing changes then.
func TestExternalEvents(t *testing.T) {
	e := newServerAPI(t)
	i := e.activeServer(t)
	vol := e.vols.add()
	ctx := context.Background()
	if _, err := e.store.AttachVolume(ctx, compute.Viewer{Admin: true}, i.UUID, compute.InstanceVolume{VolumeID: vol, AttachmentID: "att"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ReportVolume(ctx, i.Host, i.UUID, vol, compute.VolumeReport{Op: compute.PortAttaching, Done: true}); err != nil {
		t.Fatal(err)
	}
	unplaced := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"flavorRef": "9"}))["server"].(map[string]any)["id"].(string)
	ev := func(server, name, tag string) map[string]any {
		m := map[string]any{"server_uuid": server, "name": name}
		if tag != "" {
			m["tag"] = tag
		}
		return m
	}
	missing := uuid.NewString()
	for _, c := range []struct {
		name, v, token string
		body           any
		status         int
		key, msg       string
	}{
		{"a member", "2.51", alice, map[string]any{"events": []any{ev(i.UUID, "volume-extended", vol)}}, 403, "forbidden", ""},
		{"no events", "2.51", admin, map[string]any{"events": []any{}}, 400, "badRequest", "[] is too short"},
		{"volume-extended before 2.51", "2.50", admin, map[string]any{"events": []any{ev(i.UUID, "volume-extended", vol)}}, 400, "badRequest",
			"is not one of ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted']"},
		{"a bad server id", "2.51", admin, map[string]any{"events": []any{ev("x", "network-changed", "")}}, 400, "badRequest", "is not a 'uuid'"},
		{"a bad status", "2.51", admin, map[string]any{"events": []any{map[string]any{"server_uuid": i.UUID, "name": "network-changed", "status": "done"}}},
			400, "badRequest", "is not one of ['failed', 'completed', 'in-progress']"},
		{"an unknown key", "2.51", admin, map[string]any{"events": []any{map[string]any{"server_uuid": i.UUID, "name": "network-changed", "x": 1}}},
			400, "badRequest", "('x' was unexpected)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, c.v, c.token, "POST", "/os-server-external-events", c.body), c.status, c.key, c.msg)
			if x := e.instance(t, i.UUID).PendingVolume(); x != nil {
				t.Fatalf("a refused event marked the volume: %+v", x)
			}
		})
	}
	r := e.must(t, 207, "2.51", admin, "POST", "/os-server-external-events", map[string]any{"events": []any{
		ev(i.UUID, "volume-extended", vol), ev(missing, "network-changed", ""), ev(unplaced, "network-vif-plugged", ""),
		ev(i.UUID, "volume-extended", ""), ev(i.UUID, "network-changed", "")}})["events"].([]any)
	want := []struct {
		status string
		code   float64
	}{{"completed", 200}, {"failed", 404}, {"failed", 422}, {"failed", 400}, {"completed", 200}}
	for k, w := range want {
		got := r[k].(map[string]any)
		if got["status"] != w.status || got["code"] != w.code {
			t.Errorf("event %d: %v, want %s %v", k, got, w.status, w.code)
		}
	}
	x := e.instance(t, i.UUID).PendingVolume()
	if x == nil || x.VolumeID != vol || x.Pending != compute.VolumeExtending || x.ExtendTo != 1<<30 {
		t.Fatalf("the volume after the event: %+v", x)
	}
	// The host's report ends it.
	if _, err := e.store.ReportVolume(ctx, i.Host, i.UUID, vol, compute.VolumeReport{Op: compute.VolumeExtending, Done: true}); err != nil {
		t.Fatal(err)
	}
	if x := e.instance(t, i.UUID).PendingVolume(); x != nil {
		t.Fatalf("after the host's report: %+v", x)
	}
	if st := e.vols.status(vol); st != "available" && st != "in-use" {
		t.Fatalf("the volume's attachment after the extend: %s", st)
	}
	// All failed: still 207 with the events, as Nova answers.
	r = e.must(t, 207, "2.51", admin, "POST", "/os-server-external-events", map[string]any{"events": []any{ev(missing, "network-changed", "")}})["events"].([]any)
	if r[0].(map[string]any)["code"] != float64(404) {
		t.Errorf("an unknown server's event: %v", r[0])
	}
}
