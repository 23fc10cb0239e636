package cinder_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// The volume agents' internal API: a host's state, the backend's
// capacity report and volume reports, for the service and admin roles
// only; creates, extends and deletes end by the agent's reports.
func TestInternalAPI(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	hostPath := "/internal/volume/hosts/" + url.PathEscape(pool)
	agent := func(token, method, path string, body any) apitest.Reply {
		return c.Call(t, apitest.Call{Method: method, Path: path, Token: token, Body: body})
	}
	wantError(t, agent("", "GET", hostPath, nil), 401, "unauthorized")
	wantError(t, agent(alice, "GET", hostPath, nil), 403, "forbidden", "Policy doesn't allow volume agents' calls to be performed.")

	id := c.newVolume(t, alice, map[string]any{"size": 2})
	r := agent(service, "GET", hostPath, nil)
	var st storage.BackendState
	if r.Code != 200 || json.Unmarshal(r.Body, &st) != nil {
		t.Fatalf("state: %s", r)
	}
	if len(st.Volumes) != 1 || st.Volumes[0].ID != id || st.Volumes[0].Status != storage.VolumeCreating || st.Revision == 0 {
		t.Fatalf("state: %+v", st)
	}
	if r := agent(admin, "GET", "/internal/volume/hosts/other@lvm", nil); r.Code != 200 {
		t.Fatalf("an admin's call: %s", r)
	}

	// The create ends: available with its export; the answer keeps the
	// export's secret to itself.
	rep := storage.VolumeReport{Status: storage.VolumeCreating, ProviderLocation: "10.0.0.1:3260,1 iqn.x 1", ProviderAuth: "CHAP u p"}
	r = agent(service, "PUT", hostPath+"/volumes/"+id, rep)
	if r.Code != 200 {
		t.Fatalf("create report: %s", r)
	}
	if v := r.JSON(t); v["status"] != "available" || v["provider_auth"] != nil {
		t.Fatalf("create report's answer: %s", r)
	}
	// Reports from another host, or about a status the volume left, are
	// refused and change nothing.
	c.unchanged(t, func() {
		wantError(t, agent(service, "PUT", "/internal/volume/hosts/"+url.PathEscape("host2@lvm#pool1")+"/volumes/"+id, rep), 404, "itemNotFound",
			"Volume "+id+" could not be found.")
		wantError(t, agent(service, "PUT", hostPath+"/volumes/"+id, rep), 409, "conflictingRequest")
		wantError(t, agent(service, "PUT", hostPath+"/volumes/"+id, map[string]any{"status": "available"}), 400, "badRequest")
		wantError(t, agent(service, "PUT", hostPath+"/volumes/"+id, "not json"), 400, "badRequest")
		wantError(t, agent(service, "PUT", hostPath+"/volumes/"+id, "null"), 400, "badRequest", "The report must be a JSON object, not null.")
	})
	// An extend ends at its new size, a delete with the volume gone.
	c.must(t, 202, "3.0", alice, "POST", "/volumes/"+id+"/action", map[string]any{"os-extend": map[string]any{"new_size": 4}})
	if r := agent(service, "PUT", hostPath+"/volumes/"+id, storage.VolumeReport{Status: storage.VolumeExtending, Size: 4}); r.Code != 200 {
		t.Fatalf("extend report: %s", r)
	}
	if v := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["size"] != float64(4) || v["status"] != "available" {
		t.Fatalf("after extend: %v", v)
	}
	c.must(t, 202, "3.0", alice, "DELETE", "/volumes/"+id, nil)
	if r := agent(service, "PUT", hostPath+"/volumes/"+id, storage.VolumeReport{Status: storage.VolumeDeleting}); r.Code != 200 {
		t.Fatalf("delete report: %s", r)
	}
	wantError(t, c.call(t, "3.0", alice, "GET", "/volumes/"+id, nil), 404, "itemNotFound")

	// The capacity report registers a pool, which the zones list shows.
	if r := agent(service, "PUT", "/internal/volume/hosts/"+url.PathEscape("host2@ceph#rbd")+"/backend", storage.BackendReport{
		AvailabilityZone: "az2", VolumeBackendName: "ceph", TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10),
		ThinProvisioningSupport: true}); r.Code != 200 {
		t.Fatalf("backend report: %s", r)
	}
	if b, err := c.store.Backend(ctx, "host2@ceph#rbd"); err != nil || b.AvailabilityZone != "az2" {
		t.Fatalf("backend: %+v %v", b, err)
	}
	backendPath := "/internal/volume/hosts/" + url.PathEscape("host2@ceph#rbd") + "/backend"
	wantError(t, agent(service, "PUT", backendPath, map[string]any{"bogus": 1}), 400, "badRequest")
	// A null body is no report (encoding/json would read it as an empty
	// one, which wipes the backend's names and figures).
	for _, body := range []string{"null", " null "} {
		wantError(t, agent(service, "PUT", backendPath, body), 400, "badRequest", "The report must be a JSON object, not null.")
	}
	if b, err := c.store.Backend(ctx, "host2@ceph#rbd"); err != nil || b.AvailabilityZone != "az2" || b.Report.VolumeBackendName != "ceph" {
		t.Fatalf("a refused report changed the backend: %+v %v", b, err)
	}
	zones := c.must(t, 200, "3.0", alice, "GET", "/os-availability-zone", nil)["availabilityZoneInfo"].([]any)
	if len(zones) != 2 || zones[0].(map[string]any)["zoneName"] != "az2" || zones[1].(map[string]any)["zoneName"] != "nova" ||
		zones[0].(map[string]any)["zoneState"].(map[string]any)["available"] != true {
		t.Fatalf("zones: %v", zones)
	}
	if _, err := c.store.SetBackendDisabled(ctx, "host2@ceph#rbd", true, "maintenance"); err != nil {
		t.Fatal(err)
	}
	zones = c.must(t, 200, "3.0", alice, "GET", "/os-availability-zone", nil)["availabilityZoneInfo"].([]any)
	if zones[0].(map[string]any)["zoneState"].(map[string]any)["available"] != false {
		t.Fatalf("a zone whose pools are all disabled: %v", zones)
	}
	// An admin lists the pools the scheduler may place on: not the
	// disabled one.
	wantError(t, c.call(t, "3.0", alice, "GET", "/scheduler-stats/get_pools", nil), 403, "forbidden",
		"Policy doesn't allow scheduler_extension:scheduler_stats:get_pools to be performed.")
	pools := c.must(t, 200, "3.0", admin, "GET", "/scheduler-stats/get_pools?detail=true", nil)["pools"].([]any)
	if len(pools) != 1 || pools[0].(map[string]any)["name"] != pool {
		t.Fatalf("pools: %v", pools)
	}
	caps := pools[0].(map[string]any)["capabilities"].(map[string]any)
	if caps["pool_name"] != "pool1" || caps["volume_backend_name"] != "lvm" || caps["total_capacity_gb"] != float64(1000) || caps["allocated_capacity_gb"] != float64(0) {
		t.Fatalf("capabilities: %v", caps)
	}
	if pools := c.must(t, 200, "3.28", admin, "GET", "/scheduler-stats/get_pools?name=nope", nil)["pools"].([]any); len(pools) != 0 {
		t.Fatalf("name filter: %v", pools)
	}
	wantError(t, c.call(t, "3.28", admin, "GET", "/scheduler-stats/get_pools?bogus=1", nil), 400, "badRequest", "Invalid filters bogus are found in query options.")
	// A volume in a zone no backend is in is Cinder's 400.
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1, "availability_zone": "az9"}}),
			400, "badRequest", "Availability zone 'az9' is invalid.")
	})
}

// A machine's pools are one service user's: the first to act for them;
// an admin still may.
func TestInternalAPIBinding(t *testing.T) {
	c := newAPI(t)
	other := "token-service2"
	caller := c.tokens[service]
	caller.UserID = "cinder2"
	c.tokens[other] = caller
	path := "/internal/volume/hosts/" + url.PathEscape(pool)
	if r := c.Call(t, apitest.Call{Method: "GET", Path: path, Token: service}); r.Code != 200 {
		t.Fatalf("first agent: %s", r)
	}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape("host1@ceph#rbd") + "/backend", Token: other,
		Body: storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "ceph", TotalCapacityGB: storage.GB(1), FreeCapacityGB: storage.GB(1)}})
	if r.Code != 403 {
		t.Fatalf("another user's report for host1: %s", r)
	}
	if _, err := c.store.Backend(context.Background(), "host1@ceph#rbd"); err == nil {
		t.Fatal("a refused report made a backend")
	}
	if r := c.Call(t, apitest.Call{Method: "GET", Path: "/internal/volume/hosts/host2", Token: other}); r.Code != 200 {
		t.Fatalf("another machine: %s", r)
	}
	if r := c.Call(t, apitest.Call{Method: "GET", Path: "/internal/volume/hosts/host2", Token: service}); r.Code != 403 {
		t.Fatalf("host2 is cinder2's: %s", r)
	}
	if r := c.Call(t, apitest.Call{Method: "GET", Path: path, Token: admin}); r.Code != 200 {
		t.Fatalf("an admin: %s", r)
	}
}
