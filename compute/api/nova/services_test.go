package nova_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
)

// service reports binary on host and returns it.
func (c *client) service(t *testing.T, binary, host string) compute.Service {
	t.Helper()
	sv, err := c.store.ReportService(context.Background(), binary, host, 66)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// services lists the services at v, by host/binary.
func (c *client) services(t *testing.T, v, query string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, s := range c.must(t, 200, v, admin, "GET", "/os-services"+query, nil)["services"].([]any) {
		sv := s.(map[string]any)
		out[sv["host"].(string)+"/"+sv["binary"].(string)] = sv
	}
	return out
}

// Services listed, filtered, updated and deleted at each microversion:
// integer ids before 2.53 and uuids from it, forced_down from 2.11, the
// old action routes before 2.53 and PUT by uuid from it.
func TestServices(t *testing.T) {
	c := newAPI(t)
	h1 := c.service(t, compute.NovaCompute, "h1")
	c.service(t, compute.NovaCompute, "h2")
	sched := c.service(t, compute.NovaScheduler, "ctl")
	c.service(t, "nova-osapi_compute", "ctl") // never listed

	all := c.services(t, "2.1", "")
	if len(all) != 3 {
		t.Fatalf("list: %v", all)
	}
	s := all["h1/nova-compute"]
	if s["id"] != float64(h1.ID) || s["zone"] != "nova" || s["status"] != "enabled" || s["state"] != "up" ||
		s["disabled_reason"] != nil || !novaTimeFormat.MatchString(s["updated_at"].(string)) || s["forced_down"] != nil {
		t.Fatalf("h1 at 2.1: %v", s)
	}
	if all["ctl/nova-scheduler"]["zone"] != "internal" {
		t.Fatalf("scheduler: %v", all["ctl/nova-scheduler"])
	}
	if s := c.services(t, "2.11", "")["h1/nova-compute"]; s["forced_down"] != false {
		t.Fatalf("h1 at 2.11: %v", s)
	}
	if s := c.services(t, "2.53", "")["h1/nova-compute"]; s["id"] != h1.UUID {
		t.Fatalf("h1 at 2.53: %v", s)
	}
	for query, want := range map[string]string{"?host=h1": "[h1/nova-compute]", "?binary=nova-scheduler": "[ctl/nova-scheduler]",
		"?host=h2&binary=nova-compute": "[h2/nova-compute]", "?host=nope": "[]", "?host=nope&host=h2": "[h2/nova-compute]",
		"?host=": "[ctl/nova-scheduler h1/nova-compute h2/nova-compute]", "?foo=1": "[ctl/nova-scheduler h1/nova-compute h2/nova-compute]"} {
		got := c.services(t, "2.74", query)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		if fmt.Sprint(slices.Sorted(slices.Values(keys))) != want {
			t.Fatalf("%s: %v, want %s", query, keys, want)
		}
	}

	// Before 2.53: actions named on the path, the service by host and binary.
	put := func(v, action string, body map[string]any) map[string]any {
		return c.must(t, 200, v, admin, "PUT", "/os-services/"+action, body)["service"].(map[string]any)
	}
	hb := map[string]any{"host": "h1", "binary": compute.NovaCompute}
	if r := put("2.1", "disable", hb); fmt.Sprint(r) != "map[binary:nova-compute host:h1 status:disabled]" {
		t.Fatalf("disable: %v", r)
	}
	if r := put("2.1", "disable-log-reason", map[string]any{"host": "h1", "binary": compute.NovaCompute, "disabled_reason": "maintenance"}); fmt.Sprint(r) !=
		"map[binary:nova-compute disabled_reason:maintenance host:h1 status:disabled]" {
		t.Fatalf("disable-log-reason: %v", r)
	}
	if s := c.services(t, "2.1", "?host=h1")["h1/nova-compute"]; s["status"] != "disabled" || s["disabled_reason"] != "maintenance" {
		t.Fatalf("after disable-log-reason: %v", s)
	}
	if r := put("2.11", "force-down", map[string]any{"host": "h1", "binary": compute.NovaCompute, "forced_down": "yes"}); fmt.Sprint(r) !=
		"map[binary:nova-compute forced_down:true host:h1]" {
		t.Fatalf("force-down: %v", r)
	}
	if s := c.services(t, "2.11", "?host=h1")["h1/nova-compute"]; s["state"] != "down" || s["forced_down"] != true {
		t.Fatalf("after force-down: %v", s)
	}
	put("2.1", "enable", hb)
	if s := c.services(t, "2.1", "?host=h1")["h1/nova-compute"]; s["status"] != "enabled" || s["disabled_reason"] != nil {
		t.Fatalf("after enable: %v", s)
	}

	// From 2.53: PUT /os-services/{uuid}, the whole service back.
	r := c.must(t, 200, "2.53", admin, "PUT", "/os-services/"+h1.UUID, map[string]any{"status": "disabled", "disabled_reason": "why", "forced_down": false})["service"].(map[string]any)
	if r["id"] != h1.UUID || r["status"] != "disabled" || r["disabled_reason"] != "why" || r["forced_down"] != false || r["state"] != "up" {
		t.Fatalf("PUT at 2.53: %v", r)
	}
	r = c.must(t, 200, "2.53", admin, "PUT", "/os-services/"+h1.UUID, map[string]any{"status": "enabled"})["service"].(map[string]any)
	if r["status"] != "enabled" || r["disabled_reason"] != nil {
		t.Fatalf("enable at 2.53: %v", r)
	}
	wantError(t, c.call(t, "2.53", admin, "PUT", "/os-services/enable", hb), 400, "badRequest",
		"Additional properties are not allowed ('binary', 'host' were unexpected)")
	wantError(t, c.call(t, "2.53", admin, "PUT", "/os-services/enable", map[string]any{"status": "enabled"}), 400, "badRequest", "Invalid uuid enable")

	// Delete: 204, by integer id before 2.53.
	if r := c.call(t, "2.1", admin, "DELETE", fmt.Sprintf("/os-services/%d", sched.ID), nil); r.Code != 204 {
		t.Fatalf("delete at 2.1: %s", r)
	}
	if got := c.services(t, "2.1", ""); len(got) != 2 {
		t.Fatalf("after the delete: %v", got)
	}
}

// Deleting a compute service takes its host out of its aggregates and
// deletes its node and the node's provider; not while the host has
// instances, nor while the provider has allocations.
func TestDeleteComputeService(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	c.computeHosts(t, "h1", "h2")
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1", "availability_zone": "az1"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h2"}})
	n := c.node(t, "h2")
	vm := c.instanceOn(t, "vm", "h2", n)
	svcs, _ := c.store.Services(ctx, compute.NovaCompute, "h2")
	path := "/os-services/" + svcs[0].UUID
	refused := func(why string) {
		t.Helper()
		wantError(t, c.call(t, "2.53", admin, "DELETE", path, nil), 409, "conflictingRequest",
			"Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
		if _, err := c.store.NodeByHost(ctx, "h2"); err != nil {
			t.Fatalf("the node after the refusal (%s): %v", why, err)
		}
		if ag := c.must(t, 200, "2.1", admin, "GET", "/os-aggregates/1", nil)["aggregate"].(map[string]any); fmt.Sprint(ag["hosts"]) != "[h2]" {
			t.Fatalf("the aggregate after the refusal (%s): %v", why, ag)
		}
	}
	refused("an instance")
	if _, err := c.store.ReportInstance(ctx, "h2", vm.UUID, compute.InstanceReport{Task: compute.Spawning, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	refused("its allocations")
	if err := c.store.DeleteAllocations(ctx, vm.UUID); err != nil {
		t.Fatal(err)
	}
	if r := c.call(t, "2.53", admin, "DELETE", path, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	if ag := c.must(t, 200, "2.1", admin, "GET", "/os-aggregates/1", nil)["aggregate"].(map[string]any); fmt.Sprint(ag["hosts"]) != "[]" {
		t.Fatalf("aggregate after the delete: %v", ag)
	}
	if _, err := c.store.NodeByHost(ctx, "h2"); err == nil {
		t.Fatal("the node outlived its service")
	}
	if _, err := c.store.Provider(ctx, n.UUID); err == nil {
		t.Fatal("the provider outlived its service")
	}
	wantError(t, c.call(t, "2.53", admin, "DELETE", path, nil), 404, "itemNotFound", "Service "+svcs[0].UUID+" not found.")
}

func TestServicePolicy(t *testing.T) {
	c := newAPI(t)
	h1 := c.service(t, compute.NovaCompute, "h1")
	for _, tc := range []struct {
		v, method, path string
		body            any
		rule            string
	}{
		{"2.1", "GET", "/os-services", nil, "list"},
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "h1", "binary": compute.NovaCompute}, "update"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"status": "disabled"}, "update"},
		{"2.1", "DELETE", fmt.Sprint("/os-services/", h1.ID), nil, "delete"},
		{"2.53", "DELETE", "/os-services/" + h1.UUID, nil, "delete"},
		{"2.53", "DELETE", "/os-services/x", nil, "delete"}, // the policy before the id
	} {
		for _, token := range []string{alice, reader} {
			wantError(t, c.call(t, tc.v, token, tc.method, tc.path, tc.body), 403, "forbidden",
				"Policy doesn't allow os_compute_api:os-services:"+tc.rule+" to be performed.")
		}
	}
	// The body's schema before the policy.
	wantError(t, c.call(t, "2.53", alice, "PUT", "/os-services/"+h1.UUID, map[string]any{"status": "off"}), 400, "badRequest", "is not one of")
	if s := c.services(t, "2.1", "")["h1/nova-compute"]; s["status"] != "enabled" {
		t.Fatalf("after the refusals: %v", s)
	}
}

// Bad input is refused with Nova's messages and changes nothing.
func TestServiceRefusals(t *testing.T) {
	c := newAPI(t)
	h1 := c.service(t, compute.NovaCompute, "h1")
	sched := c.service(t, compute.NovaScheduler, "ctl")
	before := c.call(t, "2.53", admin, "GET", "/os-services", nil).Body
	long := strings.Repeat("r", 256)
	hb := func(extra map[string]any) map[string]any {
		m := map[string]any{"host": "h1", "binary": compute.NovaCompute}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		v, method, path string
		body            any
		status          int
		key, msg        string
	}{
		{"2.75", "GET", "/os-services?foo=1", nil, 400, "badRequest", "Additional properties are not allowed ('foo' was unexpected)"},
		// before 2.53
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "h1"}, 400, "badRequest", "'binary' is a required property"},
		{"2.1", "PUT", "/os-services/disable", hb(map[string]any{"foo": 1}), 400, "badRequest", "Additional properties are not allowed ('foo' was unexpected)"},
		{"2.1", "PUT", "/os-services/disable", hb(map[string]any{"forced_down": true}), 400, "badRequest", "('forced_down' was unexpected)"},
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "h/1", "binary": "b"}, 400, "badRequest",
			"Invalid input for field/attribute host. Value: h/1. 'h/1' does not match '^[a-zA-Z0-9-._]*$'"},
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "h1", "binary": ""}, 400, "badRequest",
			"Invalid input for field/attribute binary. Value: . '' is too short"},
		{"2.1", "PUT", "/os-services/disable-log-reason", hb(map[string]any{"disabled_reason": ""}), 400, "badRequest",
			"Invalid input for field/attribute disabled_reason. Value: . '' is too short"},
		{"2.11", "PUT", "/os-services/force-down", hb(map[string]any{"forced_down": "maybe"}), 400, "badRequest",
			"Invalid input for field/attribute forced_down. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"},
		{"2.1", "PUT", "/os-services/disable-log-reason", hb(nil), 400, "badRequest", "Missing disabled reason field"},
		{"2.11", "PUT", "/os-services/force-down", hb(nil), 400, "badRequest", "Missing forced_down field"},
		{"2.10", "PUT", "/os-services/force-down", hb(nil), 404, "itemNotFound", "Unknown action"},
		{"2.1", "PUT", "/os-services/reboot", hb(nil), 404, "itemNotFound", "Unknown action"},
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "ctl", "binary": compute.NovaScheduler}, 400, "badRequest",
			"Updating a nova-scheduler service is not supported. Only nova-compute services can be updated."},
		{"2.1", "PUT", "/os-services/disable", map[string]any{"host": "h9", "binary": compute.NovaCompute}, 404, "itemNotFound",
			"Host 'h9' is not mapped to any cell"},
		{"2.1", "PUT", "/os-services/disable", []any{}, 400, "badRequest", "[] is not of type 'object'"},
		// from 2.53
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"status": "up"}, 400, "badRequest",
			"Invalid input for field/attribute status. Value: up. 'up' is not one of ['enabled', 'disabled']"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"status": 1}, 400, "badRequest",
			"Invalid input for field/attribute status. Value: 1. 1 is not of type 'string'"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"forced_down": nil}, 400, "badRequest",
			"Invalid input for field/attribute forced_down. Value: None. None is not of type 'boolean', 'string'"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"status": "disabled", "disabled_reason": long}, 400, "badRequest", "is too long"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"foo": 1}, 400, "badRequest", "Additional properties are not allowed ('foo' was unexpected)"},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"disabled_reason": "why"}, 400, "badRequest",
			"No updates were requested. Fields 'status' or 'forced_down' should be specified."},
		{"2.53", "PUT", "/os-services/" + h1.UUID, map[string]any{"status": "enabled", "disabled_reason": "why"}, 400, "badRequest",
			"Specifying 'disabled_reason' with status 'enabled' is invalid."},
		{"2.53", "PUT", "/os-services/" + sched.UUID, map[string]any{"status": "disabled"}, 400, "badRequest",
			"Updating a nova-scheduler service is not supported. Only nova-compute services can be updated."},
		{"2.53", "PUT", "/os-services/1", map[string]any{"status": "disabled"}, 400, "badRequest", "Invalid uuid 1"},
		{"2.53", "PUT", "/os-services/" + strings.Repeat("a", 32), map[string]any{"status": "disabled"}, 404, "itemNotFound",
			"Service " + strings.Repeat("a", 32) + " could not be found."},
		// delete
		{"2.1", "DELETE", "/os-services/x", nil, 400, "badRequest", "Invalid input received: id must be an integer"},
		{"2.1", "DELETE", "/os-services/99", nil, 404, "itemNotFound", "Service 99 not found."},
		{"2.53", "DELETE", "/os-services/1", nil, 400, "badRequest", "Invalid uuid 1"},
		{"2.53", "DELETE", "/os-services/" + uuid.NewString(), nil, 404, "itemNotFound", " not found."},
	} {
		t.Run(tc.v+" "+tc.method+" "+tc.path, func(t *testing.T) {
			wantError(t, c.call(t, tc.v, admin, tc.method, tc.path, tc.body), tc.status, tc.key, tc.msg)
		})
	}
	if after := c.call(t, "2.53", admin, "GET", "/os-services", nil).Body; string(after) != string(before) {
		t.Fatalf("the refusals changed the services:\n%s\n%s", before, after)
	}
}
