package api_test

import (
	"strings"
	"testing"
)

// Quotas: a member reads its own project's, not another's; the admin
// sets, lists and resets them; creates past a limit are Neutron's
// OverQuota; Neutron's errors for bad input.
func TestQuotasAPI(t *testing.T) {
	c := newAPI(t)
	own := c.Must(t, 200, "GET", "/v2.0/quotas/proj-a", memberA, nil)["quota"].(obj)
	if len(own) != 7 || own["network"] != float64(100) || own["port"] != float64(500) || own["security_group_rule"] != float64(100) ||
		own["floatingip"] != float64(50) {
		t.Fatalf("A's quota: %v", own)
	}
	if def := c.Must(t, 200, "GET", "/v2.0/quotas/proj-a/default", memberA, nil)["quota"].(obj); def["router"] != float64(10) {
		t.Fatalf("A's defaults: %v", def)
	}
	if who := c.Must(t, 200, "GET", "/v2.0/quotas/tenant", memberA, nil); who["tenant"].(obj)["tenant_id"] != "proj-a" {
		t.Fatalf("who am I: %v", who)
	}
	for _, path := range []string{"/v2.0/quotas", "/v2.0/quotas/proj-b", "/v2.0/quotas/proj-b/default"} {
		neutronError(t, c.Do(t, "GET", path, memberA, nil), 403, "PolicyNotAuthorized")
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/quotas/proj-b/details", memberA, nil), 403, "AdminRequired")
	neutronError(t, c.Do(t, "PUT", "/v2.0/quotas/proj-a", memberA, obj{"quota": obj{"network": 1000}}), 403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "DELETE", "/v2.0/quotas/proj-a", memberA, nil), 403, "PolicyNotAuthorized")

	set := c.Must(t, 200, "PUT", "/v2.0/quotas/proj-a", admin, obj{"quota": obj{"network": 1, "port": "2", "router": -1}})["quota"].(obj)
	if set["network"] != float64(1) || set["port"] != float64(2) || set["router"] != float64(-1) || set["subnet"] != float64(100) {
		t.Fatalf("set: %v", set)
	}
	c.Must(t, 201, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "one"}})
	r := c.Do(t, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "two"}})
	neutronError(t, r, 409, "OverQuota")
	if msg := r.JSON(t)["NeutronError"].(obj)["message"]; msg != "Quota exceeded for resources: ['network']." {
		t.Fatalf("OverQuota message: %v", msg)
	}
	c.Must(t, 201, "POST", "/v2.0/networks", memberB, obj{"network": obj{"name": "b"}}) // B's own quota
	d := c.Must(t, 200, "GET", "/v2.0/quotas/proj-a/details", memberA, nil)["quota"].(obj)
	if n := d["network"].(obj); n["used"] != float64(1) || n["limit"] != float64(1) || n["reserved"] != float64(0) {
		t.Fatalf("details: %v", d)
	}

	for _, tc := range []struct {
		name, path string
		body       any
		code       int
		typ, msg   string
	}{
		{"unknown resource", "proj-a", obj{"quota": obj{"rbac_policy": 1}}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'rbac_policy'"},
		{"below -1", "proj-a", obj{"quota": obj{"network": -2}}, 400, "HTTPBadRequest", "Invalid input for network. Reason: '-2' is too small - must be at least '-1'."},
		{"too large", "proj-a", obj{"quota": obj{"network": 1 << 31}}, 400, "HTTPBadRequest", "must be no larger than '2147483647'"},
		{"not a number", "proj-a", obj{"quota": obj{"network": "x"}}, 400, "InvalidInput", "'x' is not an integer"},
		{"null", "proj-a", obj{"quota": obj{"network": nil}}, 400, "InvalidInput", "'None' is not an integer"},
		{"no quota", "proj-a", obj{"network": 1}, 400, "HTTPBadRequest", ""},
		{"check_limit", "proj-a", obj{"quota": obj{"network": 0, "check_limit": true}}, 400, "HTTPBadRequest",
			"Quota limit 0 for network must be greater than or equal to already used 1"},
		{"a project id Keystone never issues", "a%20b", obj{"quota": obj{"network": 1}}, 400, "HTTPBadRequest", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, "PUT", "/v2.0/quotas/"+tc.path, admin, tc.body)
			neutronError(t, r, tc.code, tc.typ)
			if msg := r.JSON(t)["NeutronError"].(obj)["message"].(string); !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q, want %q", msg, tc.msg)
			}
		})
	}
	// A limit below the use is taken without check_limit.
	if set := c.Must(t, 200, "PUT", "/v2.0/quotas/proj-a", admin, obj{"quota": obj{"network": 0, "force": true}})["quota"].(obj); set["network"] != float64(0) {
		t.Fatalf("lowered: %v", set)
	}
	list := c.Must(t, 200, "GET", "/v2.0/quotas", admin, nil)["quotas"].([]any)
	if len(list) != 1 || list[0].(obj)["project_id"] != "proj-a" || list[0].(obj)["tenant_id"] != "proj-a" || list[0].(obj)["network"] != float64(0) {
		t.Fatalf("list: %v", list)
	}
	if b := c.Must(t, 200, "GET", "/v2.0/quotas/proj-b", admin, nil)["quota"].(obj); b["network"] != float64(100) {
		t.Fatalf("the admin reads B's: %v", b)
	}
	if r := c.Do(t, "DELETE", "/v2.0/quotas/proj-a", admin, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	neutronError(t, c.Do(t, "DELETE", "/v2.0/quotas/proj-a", admin, nil), 404, "TenantQuotaNotFound")
	if list := c.Must(t, 200, "GET", "/v2.0/quotas", admin, nil)["quotas"].([]any); len(list) != 0 {
		t.Fatalf("list after the reset: %v", list)
	}
	c.Must(t, 201, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "two"}})
	for _, alias := range []string{"quotas", "quota_details", "quota-check-limit"} {
		c.Must(t, 200, "GET", "/v2.0/extensions/"+alias, memberA, nil)
	}
}
