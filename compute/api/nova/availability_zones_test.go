package nova_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gostack/gostack/compute"
)

// zoneCloud is h1 in az1, h2 in no zone (nova), h3 in az3 and
// disabled, h4 in az1 and disabled, a scheduler and an API service on
// ctl (internal), h2 forced down.
func zoneCloud(t *testing.T) *client {
	c := newAPI(t)
	ctx := context.Background()
	c.computeHosts(t, "h1", "h2", "h3", "h4")
	c.service(t, compute.NovaScheduler, "ctl")
	c.service(t, "nova-osapi_compute", "ctl")
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "a1", "availability_zone": "az1"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "a3", "availability_zone": "az3"}))
	for _, add := range []struct{ id, host string }{{"1", "h1"}, {"1", "h4"}, {"2", "h3"}} {
		c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/"+add.id+"/action", map[string]any{"add_host": map[string]any{"host": add.host}})
	}
	yes := true
	for host, u := range map[string]compute.ServiceUpdate{"h3": {Disabled: &yes}, "h4": {Disabled: &yes}, "h2": {ForcedDown: &yes}} {
		svcs, _ := c.store.Services(ctx, compute.NovaCompute, host)
		if _, err := c.store.UpdateService(ctx, svcs[0].UUID, u); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// zoneSummary is each zone as "name:available:hosts".
func zoneSummary(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, z := range body["availabilityZoneInfo"].([]any) {
		zone := z.(map[string]any)
		out = append(out, fmt.Sprintf("%s:%v:%v", zone["zoneName"], zone["zoneState"].(map[string]any)["available"], zone["hosts"] != nil))
	}
	return out
}

// A zone is available when an enabled service is in it (up or not);
// the list hides the internal zone and shows no hosts, to any user.
func TestAvailabilityZones(t *testing.T) {
	c := zoneCloud(t)
	for _, token := range []string{admin, alice, reader} {
		got := zoneSummary(t, c.must(t, 200, "2.1", token, "GET", "/os-availability-zone", nil))
		if fmt.Sprint(got) != "[az1:true:false nova:true:false az3:false:false]" {
			t.Fatalf("zones: %v", got)
		}
	}
	wantError(t, c.call(t, "2.1", "", "GET", "/os-availability-zone", nil), 401, "unauthorized")
}

// The detail (admins only) adds the internal zone and, for each
// available zone, its hosts' enabled services but the API ones.
func TestAvailabilityZoneDetail(t *testing.T) {
	c := zoneCloud(t)
	body := c.must(t, 200, "2.1", admin, "GET", "/os-availability-zone/detail", nil)
	if got := zoneSummary(t, body); fmt.Sprint(got) != "[az1:true:true internal:true:true nova:true:true az3:false:false]" {
		t.Fatalf("zones: %v", got)
	}
	zones := map[string]map[string]any{}
	for _, z := range body["availabilityZoneInfo"].([]any) {
		zone := z.(map[string]any)
		if h, ok := zone["hosts"].(map[string]any); ok {
			zones[zone["zoneName"].(string)] = h
		}
	}
	state := func(zone, host, binary string) map[string]any {
		t.Helper()
		s, ok := zones[zone][host].(map[string]any)[binary].(map[string]any)
		if !ok {
			t.Fatalf("no %s on %s in %s: %v", binary, host, zone, zones[zone])
		}
		return s
	}
	if s := state("az1", "h1", compute.NovaCompute); s["available"] != true || s["active"] != true || !novaTimeFormat.MatchString(s["updated_at"].(string)) {
		t.Fatalf("h1: %v", s)
	}
	if len(zones["az1"]) != 1 { // h4 is disabled
		t.Fatalf("az1's hosts: %v", zones["az1"])
	}
	if s := state("nova", "h2", compute.NovaCompute); s["available"] != false || s["active"] != true {
		t.Fatalf("h2 (forced down): %v", s)
	}
	if ctl := zones["internal"]["ctl"].(map[string]any); len(ctl) != 1 || ctl[compute.NovaScheduler] == nil {
		t.Fatalf("ctl: %v", ctl)
	}
	for _, token := range []string{alice, reader} {
		wantError(t, c.call(t, "2.1", token, "GET", "/os-availability-zone/detail", nil), 403, "forbidden",
			"Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.")
	}
}
