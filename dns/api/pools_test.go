package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
)

// edgePool is a pool with every part Designate's pool manager knows.
func edgePool(key string) map[string]any {
	return map[string]any{
		"name": "edge", "description": "edge servers", "attributes": map[string]string{"region": "eu"},
		"ns_records":    []map[string]any{{"hostname": "ns1.edge.example.", "priority": 1}, {"hostname": "ns2.edge.example.", "priority": 2}},
		"nameservers":   []map[string]any{{"host": "192.0.2.1", "port": 53}, {"host": "2001:db8::1", "port": 5353}},
		"also_notifies": []map[string]any{{"host": "192.0.2.2"}},
		"targets": []map[string]any{{"type": "secondary", "description": "knot", "masters": []map[string]any{{"host": "192.0.2.53", "port": 5354}},
			"options": map[string]any{"host": "192.0.2.9", "port": 5300}, "tsigkey_id": key}},
	}
}

// TestPools: an admin creates, lists, shows, updates and deletes pools
// with their NS records, nameservers, also-notifies, targets and
// attributes, rendered as Designate does plus the pools.yaml parts; a
// pool with zones is not deleted; the default pool's NS records and
// also-notifies stay the configuration's; members may do nothing.
func TestPools(t *testing.T) {
	c := newCloud(t)
	key := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "edge-xfr",
		"algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID}), "id")

	r := c.Do(t, "POST", "/v2/pools", adminA, edgePool(key))
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	p := r.JSON(t)
	id := str(t, p, "id")
	if got := strings.Join(topKeys(t, r.Body), " "); got != "id project_id name description attributes ns_records nameservers also_notifies targets created_at updated_at links" {
		t.Errorf("pool keys in order: %s", got)
	}
	if r.Header.Get("Location") != c.URL+"/v2/pools/"+id || p["project_id"] != projectA || p["updated_at"] != nil {
		t.Errorf("created: Location %q, %v", r.Header.Get("Location"), p)
	}
	target := list(t, p, "targets")[0].(map[string]any)
	if target["type"] != "secondary" || target["tsigkey_id"] != key || target["options"].(map[string]any)["port"] != "5300" ||
		list(t, target, "masters")[0].(map[string]any)["port"] != float64(5354) {
		t.Errorf("target: %v", target)
	}
	servers := list(t, p, "nameservers")
	if len(servers) != 2 || servers[1].(map[string]any)["host"] != "2001:db8::1" || servers[1].(map[string]any)["port"] != float64(5353) {
		t.Errorf("nameservers: %v", servers)
	}
	if an := list(t, p, "also_notifies"); len(an) != 1 || an[0].(map[string]any)["port"] != float64(53) {
		t.Errorf("also_notifies: %v", an)
	}

	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/pools?sort_key=name", adminA, nil), "pools"); !slices.Equal(got, []string{dns.DefaultPoolID, id}) {
		t.Errorf("pools by name: %v", got)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/pools?name=ed*", adminA, nil), "pools"); !slices.Equal(got, []string{id}) {
		t.Errorf("pools named ed*: %v", got)
	}

	// A zone made in the pool (Designate's pool_id attribute) has its NS
	// records; a new NS record reaches the zone.
	zone := str(t, c.Must(t, http.StatusAccepted, "POST", "/v2/zones", adminA, map[string]any{"name": "edge.org.",
		"email": "h@edge.org", "attributes": map[string]string{"pool_id": id}}), "id")
	upd := c.Must(t, http.StatusAccepted, "PATCH", "/v2/pools/"+id, adminA, map[string]any{
		"ns_records": []map[string]any{{"hostname": "ns3.edge.example.", "priority": 1}}, "targets": nil, "description": nil,
		"attributes": map[string]string{"region": "us"}})
	if upd["description"] != nil || len(list(t, upd, "targets")) != 0 || upd["updated_at"] == nil ||
		upd["attributes"].(map[string]any)["region"] != "us" || len(list(t, upd, "nameservers")) != 2 {
		t.Errorf("update: %v", upd)
	}
	ns := list(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/nameservers", adminA, nil), "nameservers")
	if len(ns) != 1 || ns[0].(map[string]any)["hostname"] != "ns3.edge.example." {
		t.Errorf("zone nameservers after the update: %v", ns)
	}

	// Deletes: not while the zone lives.
	wantError(t, c.Do(t, "DELETE", "/v2/pools/"+id, adminA, nil), http.StatusBadRequest, "invalid_operation", "pool must not contain zones")
	c.Must(t, http.StatusAccepted, "DELETE", "/v2/zones/"+zone, adminA, nil)
	if r := c.Do(t, "DELETE", "/v2/pools/"+id, adminA, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/pools/"+id, adminA, nil), http.StatusNotFound, "pool_not_found", "Could not find Pool")

	// The default pool: its description and nameservers may change, its
	// NS records and also-notifies are the configuration's.
	def := c.Must(t, http.StatusAccepted, "PATCH", "/v2/pools/"+dns.DefaultPoolID, adminA, map[string]any{"description": "ours",
		"nameservers": []map[string]any{{"host": "192.0.2.77"}}})
	if def["description"] != "ours" {
		t.Errorf("default pool update: %v", def)
	}
	// Unchanged NS records in the body are no change.
	c.Must(t, http.StatusAccepted, "PATCH", "/v2/pools/"+dns.DefaultPoolID, adminA, map[string]any{"ns_records": def["ns_records"]})
}

// TestPoolBadInput: Designate's errors for pool writes, each changing
// nothing.
func TestPoolBadInput(t *testing.T) {
	c := newCloud(t)
	key := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "edge-xfr",
		"algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID}), "id")
	id := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/pools", adminA, edgePool(key)), "id")
	c.Must(t, http.StatusAccepted, "POST", "/v2/zones", adminA, map[string]any{"name": "edge.org.", "email": "h@edge.org",
		"attributes": map[string]string{"pool_id": id}})
	body := func(kv ...any) map[string]any {
		m := edgePool(key)
		m["name"] = "other"
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	target := func(kv ...any) map[string]any {
		m := map[string]any{"type": "secondary", "options": map[string]any{"host": "192.0.2.9"}}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return body("targets", []any{m})
	}
	const unknown = "/v2/pools/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"
	pool := "/v2/pools/" + id
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		code                      int
		typ, msg                  string
	}{
		{"member create", "POST", "/v2/pools", memberA, body(), 403, "forbidden", ""},
		{"member update", "PATCH", pool, memberA, map[string]any{"description": "x"}, 403, "forbidden", ""},
		{"member delete", "DELETE", pool, memberA, nil, 403, "forbidden", ""},
		{"no name", "POST", "/v2/pools", adminA, body("name", nil), 400, "invalid_object", "'name'"},
		{"long name", "POST", "/v2/pools", adminA, body("name", strings.Repeat("p", 51)), 400, "invalid_object", "'name'"},
		{"duplicate name", "POST", "/v2/pools", adminA, body("name", "edge"), 409, "duplicate_pool", "Duplicate Pool"},
		{"unknown field", "POST", "/v2/pools", adminA, body("provisioner", "x"), 400, "invalid_object", "'provisioner'"},
		{"read-only id", "POST", "/v2/pools", adminA, body("id", "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"), 400, "invalid_object", "'id'"},
		{"attributes list", "POST", "/v2/pools", adminA, body("attributes", []string{"x"}), 400, "invalid_object", "'attributes'"},
		{"ns record no priority", "POST", "/v2/pools", adminA, body("ns_records", []map[string]any{{"hostname": "ns.x.example."}}), 400, "invalid_object", "'priority' is a required property"},
		{"ns record priority 0", "POST", "/v2/pools", adminA, body("ns_records", []map[string]any{{"hostname": "ns.x.example.", "priority": 0}}), 400, "invalid_object", "priority 0"},
		{"ns record relative", "POST", "/v2/pools", adminA, body("ns_records", []map[string]any{{"hostname": "ns", "priority": 1}}), 400, "invalid_object", "'ns_records'"},
		{"ns record extra key", "POST", "/v2/pools", adminA, body("ns_records", []map[string]any{{"hostname": "ns.x.example.", "priority": 1, "ttl": 5}}), 400, "invalid_object", "'ttl' was unexpected"},
		{"ns records object", "POST", "/v2/pools", adminA, body("ns_records", map[string]any{}), 400, "invalid_object", "not of type 'array'"},
		{"nameserver no host", "POST", "/v2/pools", adminA, body("nameservers", []map[string]any{{"port": 53}}), 400, "invalid_object", "'host' is a required property"},
		{"nameserver port", "POST", "/v2/pools", adminA, body("nameservers", []map[string]any{{"host": "192.0.2.1", "port": 70000}}), 400, "invalid_object", "'nameservers'"},
		{"nameserver port string", "POST", "/v2/pools", adminA, body("nameservers", []map[string]any{{"host": "192.0.2.1", "port": "53"}}), 400, "invalid_object", "'nameservers'"},
		{"also notify host", "POST", "/v2/pools", adminA, body("also_notifies", []map[string]any{{"host": "bad host"}}), 400, "invalid_object", "neither an IP address nor a hostname"},
		{"backend target", "POST", "/v2/pools", adminA, target("type", "bind9"), 400, "invalid_object", "drives no backend"},
		{"target no type", "POST", "/v2/pools", adminA, target("type", nil), 400, "invalid_object", "'targets'"},
		{"target by hostname", "POST", "/v2/pools", adminA, target("options", map[string]any{"host": "ns.example"}), 400, "invalid_object", "IP address"},
		{"target backend option", "POST", "/v2/pools", adminA, target("options", map[string]any{"host": "192.0.2.9", "rndc_host": "x"}), 400, "invalid_object", "takes only host and port"},
		{"target option object", "POST", "/v2/pools", adminA, target("options", map[string]any{"host": map[string]any{}}), 400, "invalid_object", "'targets'"},
		{"target key not uuid", "POST", "/v2/pools", adminA, target("tsigkey_id", "k"), 400, "invalid_object", "is not a 'uuid'"},
		{"target key unknown", "POST", "/v2/pools", adminA, target("tsigkey_id", "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"), 400, "invalid_object", "no such TSIG key"},
		{"not json", "POST", "/v2/pools", adminA, "{", 400, "invalid_json", ""},
		{"patch project", "PATCH", pool, adminA, map[string]any{"project_id": projectB}, 400, "invalid_object", "'project_id'"},
		{"patch created_at", "PATCH", pool, adminA, map[string]any{"created_at": "2020-01-01T00:00:00.000000"}, 400, "invalid_object", "'created_at'"},
		{"patch last ns record", "PATCH", pool, adminA, map[string]any{"ns_records": []any{}}, 400, "last_server_delete_not_allowed", "Not allowed to delete last of servers"},
		{"patch default ns records", "PATCH", "/v2/pools/" + dns.DefaultPoolID, adminA, map[string]any{"ns_records": []map[string]any{{"hostname": "ns9.example.net.", "priority": 1}}}, 400, "invalid_operation", "dns.nameservers"},
		{"patch default also notifies", "PATCH", "/v2/pools/" + dns.DefaultPoolID, adminA, map[string]any{"also_notifies": []map[string]any{{"host": "192.0.2.99"}}}, 400, "invalid_operation", "dns.also_notify"},
		{"patch json-patch", "PATCH", pool, adminA, "[]", 501, "not_implemented", ""},
		{"patch unknown", "PATCH", unknown, adminA, map[string]any{"description": "x"}, 404, "pool_not_found", ""},
		{"delete with zone", "DELETE", pool, adminA, nil, 400, "invalid_operation", "pool must not contain zones"},
		{"delete default", "DELETE", "/v2/pools/" + dns.DefaultPoolID, adminA, nil, 400, "invalid_operation", "default pool"},
		{"delete unknown", "DELETE", unknown, adminA, nil, 404, "pool_not_found", ""},
		{"bad uuid", "DELETE", "/v2/pools/edge", adminA, nil, 400, "invalid_uuid", "pool_id"},
		{"sort key", "GET", "/v2/pools?sort_key=description", adminA, nil, 400, "invalid_sort_key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.snapshot(t)
			var header map[string]string
			if tc.name == "patch json-patch" {
				header = map[string]string{"Content-Type": "application/json-patch+json"}
			}
			r := c.Call(t, call{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body, Header: header})
			wantError(t, r, tc.code, tc.typ, tc.msg)
			c.unchanged(t, before)
		})
	}
}
