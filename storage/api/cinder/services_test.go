package cinder_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/storage"
)

// os-services: an admin lists each backend as a cinder-volume service
// and disables or enables it (all its pools); a disabled backend takes
// no new volume.
func TestServices(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	if _, err := c.store.ReportBackend(ctx, "host1@lvm#pool2", storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(10), FreeCapacityGB: storage.GB(10), ThickProvisioningSupport: true}); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.call(t, "3.0", alice, "GET", "/os-services", nil), 403, "forbidden", "Policy doesn't allow volume_extension:services:index to be performed.")
	svcs := c.must(t, 200, "3.49", admin, "GET", "/os-services", nil)["services"].([]any)
	if len(svcs) != 1 {
		t.Fatalf("services: %v", svcs)
	}
	s := svcs[0].(map[string]any)
	if s["host"] != "host1@lvm" || s["binary"] != "cinder-volume" || s["status"] != "enabled" || s["state"] != "up" || s["zone"] != "nova" ||
		s["backend_state"] != "up" || s["cluster"] != nil || s["frozen"] != false {
		t.Fatalf("service: %v", s)
	}
	for _, q := range []string{"?host=host1", "?host=host1@lvm", "?binary=cinder-volume"} {
		if l := c.must(t, 200, "3.0", admin, "GET", "/os-services"+q, nil)["services"].([]any); len(l) != 1 {
			t.Errorf("services%s: %v", q, l)
		}
	}
	for _, q := range []string{"?host=host2", "?binary=cinder-scheduler"} {
		if l := c.must(t, 200, "3.0", admin, "GET", "/os-services"+q, nil)["services"].([]any); len(l) != 0 {
			t.Errorf("services%s: %v", q, l)
		}
	}
	// Refusals change nothing.
	before := c.must(t, 200, "3.0", admin, "GET", "/os-services", nil)
	for _, x := range []struct {
		token, action string
		body          any
		code          int
		key, msg      string
	}{
		{alice, "disable", map[string]any{"host": "host1@lvm", "binary": "cinder-volume"}, 403, "forbidden",
			"Policy doesn't allow volume_extension:services:update to be performed."},
		{admin, "disable", map[string]any{"host": "host1@lvm"}, 400, "badRequest", "is not valid under any of the given schemas"},
		{admin, "disable", map[string]any{"binary": "cinder-volume"}, 400, "badRequest", "Invalid input received: Host field is missing."},
		{admin, "disable", map[string]any{"host": "host9@lvm", "binary": "cinder-volume"}, 404, "itemNotFound",
			"Service cinder-volume could not be found on host host9@lvm."},
		{admin, "disable", map[string]any{"host": "host1@lvm", "binary": "cinder-backup"}, 404, "itemNotFound",
			"Service cinder-backup could not be found on host host1@lvm."},
		{admin, "bogus", map[string]any{"host": "host1@lvm", "binary": "cinder-volume"}, 400, "badRequest", "Invalid input received: Unknown action"},
		{admin, "freeze", map[string]any{"host": "host1@lvm"}, 400, "badRequest", "not supported"},
	} {
		wantError(t, c.call(t, "3.0", x.token, "PUT", "/os-services/"+x.action, x.body), x.code, x.key, x.msg)
	}
	if after := c.must(t, 200, "3.0", admin, "GET", "/os-services", nil); !sameJSON(t, before, after) {
		t.Fatalf("refusals changed the services: %v -> %v", before, after)
	}
	res := c.must(t, 200, "3.0", admin, "PUT", "/os-services/disable-log-reason", map[string]any{"host": "host1@lvm", "binary": "cinder-volume",
		"disabled_reason": "maintenance"})
	if res["disabled"] != true || res["status"] != "disabled" || res["disabled_reason"] != "maintenance" || res["host"] != "host1@lvm" {
		t.Fatalf("disable: %v", res)
	}
	for _, p := range []string{pool, "host1@lvm#pool2"} {
		if b, err := c.store.Backend(ctx, p); err != nil || !b.Disabled || b.DisabledReason != "maintenance" {
			t.Fatalf("pool %s: %+v %v", p, b, err)
		}
	}
	s = c.must(t, 200, "3.0", admin, "GET", "/os-services", nil)["services"].([]any)[0].(map[string]any)
	if s["status"] != "disabled" || s["disabled_reason"] != "maintenance" {
		t.Fatalf("disabled service: %v", s)
	}
	// A create no pool takes is made in error, as Cinder's scheduler
	// failure leaves it; enabled again, the backend takes volumes.
	v := c.must(t, 202, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}})["volume"].(map[string]any)
	if v["status"] != "error" {
		t.Fatalf("create on a disabled backend: %v", v)
	}
	res = c.must(t, 200, "3.0", admin, "PUT", "/os-services/enable", map[string]any{"host": "host1@lvm", "service": "cinder-volume"})
	if res["disabled"] != false || res["status"] != "enabled" || res["service"] != "cinder-volume" || res["binary"] != "" {
		t.Fatalf("enable: %v", res)
	}
	v = c.must(t, 202, "3.0", alice, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}})["volume"].(map[string]any)
	if v["status"] != "creating" {
		t.Fatalf("create on an enabled backend: %v", v)
	}
}
