package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
)

// TestBadInput: every malformed or refused request answers Designate's
// error body with its status and type, names the offending field, and
// changes nothing.
func TestBadInput(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	rs := c.mkRecordSet(t, memberA, zone, "www.example.org.", "192.0.2.1")
	soa := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets?type=SOA", memberA, nil), "recordsets")[0]
	ns := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets?type=NS", memberA, nil), "recordsets")[0]
	key := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "k1",
		"algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID}), "id")
	expand := strings.NewReplacer("{zone}", zone, "{rs}", rs, "{soa}", soa, "{ns}", ns, "{key}", key, "{pool}", dns.DefaultPoolID).Replace

	zoneBody := func(kv ...any) map[string]any {
		m := map[string]any{"name": "new.example.", "email": "hostmaster@new.example"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil && kv[i] != "ttl" && kv[i] != "description" {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	rsBody := func(kv ...any) map[string]any {
		m := map[string]any{"name": "new.example.org.", "type": "A", "records": []string{"192.0.2.5"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tsigBody := func(kv ...any) map[string]any {
		m := map[string]any{"name": "k2", "algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	const fip = "/v2/reverse/floatingips/RegionOne:0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"
	rsPath := "/v2/zones/{zone}/recordsets"

	for _, tc := range []struct {
		name         string
		method, path string
		token        string // memberA when ""
		body         any
		header       map[string]string
		code         int
		typ          string
		field        string // named in the message as 'field'
		msg          string
	}{
		// zone create
		{name: "zone unknown field", method: "POST", path: "/v2/zones", body: zoneBody("foo", 1), code: 400, typ: "invalid_object", field: "foo", msg: "are not valid for zone"},
		{name: "zone links", method: "POST", path: "/v2/zones", body: zoneBody("links", map[string]any{}), code: 400, typ: "invalid_object", field: "links"},
		{name: "zone read-only status", method: "POST", path: "/v2/zones", body: zoneBody("status", "ACTIVE"), code: 400, typ: "invalid_object", field: "status"},
		{name: "zone read-only id", method: "POST", path: "/v2/zones", body: zoneBody("id", "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"), code: 400, typ: "invalid_object", field: "id"},
		{name: "zone no name", method: "POST", path: "/v2/zones", body: zoneBody("name", nil), code: 400, typ: "invalid_object", field: "name", msg: "required"},
		{name: "zone no email", method: "POST", path: "/v2/zones", body: zoneBody("email", nil), code: 400, typ: "invalid_object", field: "email", msg: "required"},
		{name: "zone name not a string", method: "POST", path: "/v2/zones", body: zoneBody("name", 12), code: 400, typ: "invalid_object", field: "name", msg: "not of type 'string'"},
		{name: "zone name not fqdn", method: "POST", path: "/v2/zones", body: zoneBody("name", "new.example"), code: 400, typ: "invalid_object", field: "name"},
		{name: "zone name bad label", method: "POST", path: "/v2/zones", body: zoneBody("name", "-bad.example."), code: 400, typ: "invalid_object", field: "name"},
		{name: "zone bad email", method: "POST", path: "/v2/zones", body: zoneBody("email", "nope"), code: 400, typ: "invalid_object", field: "email"},
		{name: "zone ttl string", method: "POST", path: "/v2/zones", body: zoneBody("ttl", "600"), code: 400, typ: "invalid_object", field: "ttl", msg: "not of type 'integer'"},
		{name: "zone ttl fraction", method: "POST", path: "/v2/zones", body: zoneBody("ttl", 1.5), code: 400, typ: "invalid_object", field: "ttl"},
		{name: "zone ttl negative", method: "POST", path: "/v2/zones", body: zoneBody("ttl", -1), code: 400, typ: "invalid_object", field: "ttl", msg: "-1 is less than the minimum of 0"},
		{name: "zone ttl huge", method: "POST", path: "/v2/zones", body: zoneBody("ttl", 2147483648), code: 400, typ: "invalid_object", field: "ttl"},
		{name: "zone description long", method: "POST", path: "/v2/zones", body: zoneBody("description", strings.Repeat("d", 161)), code: 400, typ: "invalid_object", field: "description"},
		{name: "zone description number", method: "POST", path: "/v2/zones", body: zoneBody("description", 5), code: 400, typ: "invalid_object", field: "description"},
		{name: "zone catalog type", method: "POST", path: "/v2/zones", body: zoneBody("type", "CATALOG"), code: 400, typ: "invalid_object", field: "type"},
		{name: "secondary without masters", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY"), code: 400, typ: "invalid_object", field: "masters", msg: "required"},
		{name: "secondary bad master", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY", "masters", []string{"ns example"}), code: 400, typ: "invalid_object", field: "masters", msg: "neither an IP address nor a hostname"},
		{name: "secondary master port 0", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY", "masters", []string{"ns.example:0"}), code: 400, typ: "invalid_object", field: "masters", msg: "port must be a number from 1 to 65535"},
		{name: "secondary master port high", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY", "masters", []string{"192.0.2.1:65536"}), code: 400, typ: "invalid_object", field: "masters", msg: "port"},
		{name: "secondary master bad label", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY", "masters", []string{"-ns.example"}), code: 400, typ: "invalid_object", field: "masters"},
		{name: "secondary master brackets", method: "POST", path: "/v2/zones", body: zoneBody("type", "SECONDARY", "masters", []string{"[2001:db8::1]"}), code: 400, typ: "invalid_object", field: "masters"},
		{name: "primary with masters", method: "POST", path: "/v2/zones", body: zoneBody("masters", []string{"192.0.2.1"}), code: 400, typ: "invalid_object", field: "masters"},
		{name: "zone masters not array", method: "POST", path: "/v2/zones", body: zoneBody("masters", "192.0.2.1"), code: 400, typ: "invalid_object", field: "masters", msg: "not of type 'array'"},
		{name: "zone attributes not object", method: "POST", path: "/v2/zones", body: zoneBody("attributes", []string{"x"}), code: 400, typ: "invalid_object", field: "attributes"},
		{name: "zone pool_id not uuid", method: "POST", path: "/v2/zones", body: zoneBody("pool_id", "default"), code: 400, typ: "invalid_object", field: "pool_id"},
		{name: "zone forced pool as member", method: "POST", path: "/v2/zones", body: zoneBody("attributes", map[string]string{"pool_id": dns.DefaultPoolID}), code: 403, typ: "forbidden"},
		{name: "zone duplicate", method: "POST", path: "/v2/zones", body: zoneBody("name", "example.org."), code: 409, typ: "duplicate_zone"},
		{name: "zone duplicate in capitals", method: "POST", path: "/v2/zones", body: zoneBody("name", "EXAMPLE.org."), code: 409, typ: "duplicate_zone"},
		{name: "body not json", method: "POST", path: "/v2/zones", body: `{"name": `, code: 400, typ: "invalid_json"},
		{name: "body an array", method: "POST", path: "/v2/zones", body: `[]`, code: 400, typ: "invalid_json"},
		{name: "body null", method: "POST", path: "/v2/zones", body: `null`, code: 400, typ: "invalid_json"},
		{name: "body empty", method: "POST", path: "/v2/zones", body: ``, code: 400},
		// Designate reads any body and answers it by its content; above
		// every body its default quotas accept, gostack stops reading.
		{name: "body large, refused by content", method: "POST", path: "/v2/zones", body: zoneBody("description", strings.Repeat("x", 120000)), code: 400, typ: "invalid_object", field: "description"},
		{name: "body too large", method: "POST", path: "/v2/zones", body: `{"description": "` + strings.Repeat("x", 4<<20) + `"}`, code: 413, typ: "request_body_too_large", msg: "the body is over 4194304 bytes"},

		// zone update
		{name: "zone id not uuid", method: "GET", path: "/v2/zones/not-a-uuid", code: 400, typ: "invalid_uuid", msg: "Invalid UUID zone_id"},
		{name: "patch unknown field", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"bogus": true}, code: 400, typ: "invalid_object", field: "bogus"},
		{name: "patch rename", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"name": "other.example."}, code: 400, typ: "invalid_object", field: "name"},
		{name: "patch type", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"type": "SECONDARY"}, code: 400, typ: "invalid_object", field: "type"},
		{name: "patch pool", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"pool_id": "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"}, code: 400, typ: "invalid_object", field: "pool_id"},
		{name: "patch serial", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"serial": 1}, code: 400, typ: "invalid_object", field: "serial"},
		{name: "patch email null", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"email": nil}, code: 400, typ: "invalid_object", field: "email"},
		{name: "patch bad email", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"email": "a@@b"}, code: 400, typ: "invalid_object", field: "email"},
		{name: "patch ttl string", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"ttl": "x"}, code: 400, typ: "invalid_object", field: "ttl"},
		{name: "patch ttl negative", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"ttl": -1}, code: 400, typ: "invalid_object", field: "ttl", msg: "less than the minimum of 0"},
		{name: "patch masters on primary", method: "PATCH", path: "/v2/zones/{zone}", body: map[string]any{"masters": []string{"192.0.2.1"}}, code: 400, typ: "invalid_object", field: "masters"},
		{name: "patch json-patch", method: "PATCH", path: "/v2/zones/{zone}", body: `[]`, header: map[string]string{"Content-Type": "application/json-patch+json"}, code: 501, typ: "not_implemented"},

		// recordset create
		{name: "rs no name", method: "POST", path: rsPath, body: rsBody("name", nil), code: 400, typ: "invalid_object", field: "name", msg: "required"},
		{name: "rs no type", method: "POST", path: rsPath, body: rsBody("type", nil), code: 400, typ: "invalid_object", field: "type", msg: "required"},
		{name: "rs no records", method: "POST", path: rsPath, body: rsBody("records", nil), code: 400, typ: "invalid_object", field: "records", msg: "required"},
		{name: "rs empty records", method: "POST", path: rsPath, body: rsBody("records", []string{}), code: 400, typ: "invalid_object", field: "records"},
		{name: "rs records not array", method: "POST", path: rsPath, body: rsBody("records", "192.0.2.5"), code: 400, typ: "invalid_object", field: "records"},
		{name: "rs record not string", method: "POST", path: rsPath, body: rsBody("records", []any{1}), code: 400, typ: "invalid_object", field: "records"},
		{name: "rs bad A", method: "POST", path: rsPath, body: rsBody("records", []string{"999.0.2.5"}), code: 400, typ: "invalid_object", field: "records"},
		{name: "rs AAAA in A", method: "POST", path: rsPath, body: rsBody("records", []string{"2001:db8::1"}), code: 400, typ: "invalid_object", field: "records"},
		{name: "rs unknown type", method: "POST", path: rsPath, body: rsBody("type", "XYZ"), code: 400, typ: "invalid_object", field: "type"},
		{name: "rs TXT lone backslash", method: "POST", path: rsPath, body: rsBody("type", "TXT", "records", []string{`text\`}), code: 400, typ: "invalid_object", field: "records", msg: "ends with a backslash"},
		{name: "rs TXT escaped backslash at end", method: "POST", path: rsPath, body: rsBody("type", "TXT", "records", []string{"ok", `text\\`}), code: 400, typ: "invalid_object", field: "records", msg: "ends with a backslash"},
		{name: "rs wildcard NS", method: "POST", path: rsPath, body: rsBody("name", "*.example.org.", "type", "NS", "records", []string{"ns1.example.net."}), code: 400, typ: "invalid_object", field: "name", msg: "wildcard"},
		{name: "rs CNAME two records", method: "POST", path: rsPath, body: rsBody("name", "alias.example.org.", "type", "CNAME", "records", []string{"a.example.org.", "b.example.org."}), code: 400, typ: "invalid_object", field: "records", msg: "more than 1 record"},
		{name: "rs soa", method: "POST", path: rsPath, body: rsBody("type", "SOA"), code: 400, typ: "bad_request", field: "type", msg: "SOA"},
		{name: "rs outside zone", method: "POST", path: rsPath, body: rsBody("name", "www.example.net."), code: 400, typ: "invalid_recordset_location", field: "name"},
		{name: "rs cname at apex", method: "POST", path: rsPath, body: rsBody("name", "example.org.", "type", "CNAME", "records", []string{"www.example.org."}), code: 400, typ: "invalid_recordset_location", field: "name"},
		{name: "rs cname beside A", method: "POST", path: rsPath, body: rsBody("name", "www.example.org.", "type", "CNAME", "records", []string{"x.example.org."}), code: 400, typ: "invalid_recordset_location", field: "name"},
		{name: "rs read-only zone_id", method: "POST", path: rsPath, body: rsBody("zone_id", zone), code: 400, typ: "invalid_object", field: "zone_id"},
		{name: "rs unknown field", method: "POST", path: rsPath, body: rsBody("priority", 10), code: 400, typ: "invalid_object", field: "priority", msg: "are not valid for recordset"},
		{name: "rs ttl string", method: "POST", path: rsPath, body: rsBody("ttl", "300"), code: 400, typ: "invalid_object", field: "ttl"},
		{name: "rs duplicate", method: "POST", path: rsPath, body: rsBody("name", "www.example.org."), code: 409, typ: "duplicate_recordset"},
		{name: "rs over quota", method: "POST", path: rsPath, body: rsBody("records", manyAddresses(21)), code: 413, typ: "over_quota", msg: "recordset_records"},
		{name: "rs in unknown zone", method: "POST", path: "/v2/zones/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11/recordsets", body: rsBody(), code: 404, typ: "zone_not_found"},

		// recordset update and delete
		{name: "put rename", method: "PUT", path: rsPath + "/{rs}", body: map[string]any{"name": "x.example.org."}, code: 400, typ: "invalid_object", field: "name"},
		{name: "put type", method: "PUT", path: rsPath + "/{rs}", body: map[string]any{"type": "AAAA"}, code: 400, typ: "invalid_object", field: "type"},
		{name: "put no records", method: "PUT", path: rsPath + "/{rs}", body: map[string]any{"records": []string{}}, code: 400, typ: "invalid_object", field: "records"},
		{name: "put records null", method: "PUT", path: rsPath + "/{rs}", body: map[string]any{"records": nil}, code: 400, typ: "invalid_object", field: "records"},
		{name: "put ttl too big", method: "PUT", path: rsPath + "/{rs}", body: map[string]any{"ttl": 2147483648}, code: 400, typ: "invalid_object", field: "ttl"},
		{name: "put soa", method: "PUT", path: rsPath + "/{soa}", body: map[string]any{"ttl": 60}, code: 400, typ: "bad_request", msg: "Managed records may not be updated"},
		{name: "put apex ns", method: "PUT", path: rsPath + "/{ns}", body: map[string]any{"records": []string{"ns9.example.net."}}, code: 400, typ: "bad_request", msg: "Managed records may not be updated"},
		{name: "edit managed as member", method: "PUT", path: rsPath + "/{ns}", body: map[string]any{"ttl": 60}, header: map[string]string{"X-Designate-Edit-Managed-Records": "true"}, code: 403, typ: "forbidden"},
		{name: "delete soa", method: "DELETE", path: rsPath + "/{soa}", code: 400, typ: "bad_request", msg: "Deleting a SOA recordset is not allowed"},
		{name: "delete apex ns", method: "DELETE", path: rsPath + "/{ns}", code: 400, typ: "bad_request", msg: "Managed records may not be deleted"},
		{name: "recordset id not uuid", method: "GET", path: rsPath + "/nope", code: 400, typ: "invalid_uuid", msg: "recordset_id"},

		// lists
		{name: "limit zero", method: "GET", path: "/v2/zones?limit=0", code: 400, typ: "invalid_limit", field: "limit"},
		{name: "limit word", method: "GET", path: "/v2/zones?limit=lots", code: 400, typ: "invalid_limit", field: "limit"},
		{name: "sort key", method: "GET", path: "/v2/zones?sort_key=email", code: 400, typ: "invalid_sort_key", field: "sort_key", msg: "sort key must be one of"},
		{name: "recordsets sort key id", method: "GET", path: "/v2/recordsets?sort_key=id", code: 400, typ: "invalid_sort_key", field: "sort_key"},
		{name: "sort dir", method: "GET", path: "/v2/zones?sort_dir=up", code: 400, typ: "invalid_sort_dir", field: "sort_dir"},
		{name: "unknown marker", method: "GET", path: "/v2/zones?marker=0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11", code: 400, typ: "marker_not_found", field: "marker"},
		{name: "unknown filter", method: "GET", path: "/v2/zones?colour=blue", code: 400, typ: "bad_request", field: "colour", msg: "Invalid filters colour"},
		{name: "duplicate filter", method: "GET", path: "/v2/zones?name=a.&name=b.", code: 400, typ: "bad_request", field: "name", msg: "Duplicate filters name"},
		{name: "ttl filter", method: "GET", path: "/v2/zones/{zone}/recordsets?ttl=long", code: 400, typ: "invalid_object", field: "ttl"},
		{name: "recordsets filter", method: "GET", path: "/v2/recordsets?email=x", code: 400, typ: "bad_request", field: "email"},

		// TSIG keys
		{name: "tsig no secret", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("secret", nil), code: 400, typ: "invalid_object", field: "secret", msg: "required"},
		{name: "tsig empty secret", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("secret", ""), code: 400, typ: "invalid_object", field: "secret"},
		{name: "tsig algorithm", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("algorithm", "rot13"), code: 400, typ: "invalid_object", field: "algorithm"},
		{name: "tsig scope", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("scope", "WORLD"), code: 400, typ: "invalid_object", field: "scope"},
		{name: "tsig resource", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("resource_id", "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"), code: 400, typ: "invalid_object", field: "resource_id"},
		{name: "tsig unknown field", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("owner", "me"), code: 400, typ: "invalid_object", field: "owner"},
		{name: "tsig duplicate", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("name", "k1"), code: 409, typ: "duplicate_tsigkey"},
		{name: "tsig patch read-only", method: "PATCH", path: "/v2/tsigkeys/{key}", token: adminA, body: map[string]any{"created_at": "2020-01-01T00:00:00.000000"}, code: 400, typ: "invalid_object", field: "created_at"},
		{name: "tsig patch bad secret", method: "PATCH", path: "/v2/tsigkeys/{key}", token: adminA, body: map[string]any{"secret": "!!"}, code: 400, typ: "invalid_object", field: "secret", msg: "cannot be a TSIG key: a TSIG secret is base64"},
		{name: "tsig secret not base64", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("secret", "my password"), code: 400, typ: "invalid_object", field: "secret", msg: "Designate would store it, and every secondary would refuse the key"},
		{name: "tsig secret long", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("secret", strings.Repeat("QUFB", 41)), code: 400, typ: "invalid_object", field: "secret", msg: "longer than 160"},
		{name: "tsig name not a domain name", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("name", "my key"), code: 400, typ: "invalid_object", field: "name", msg: "cannot be a TSIG key"},
		{name: "tsig name long", method: "POST", path: "/v2/tsigkeys", token: adminA, body: tsigBody("name", strings.Repeat("k", 161)), code: 400, typ: "invalid_object", field: "name", msg: "at most 160"},
		{name: "tsig unknown", method: "GET", path: "/v2/tsigkeys/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11", token: adminA, code: 404, typ: "tsigkey_not_found"},
		{name: "pool unknown", method: "GET", path: "/v2/pools/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11", token: adminA, code: 404, typ: "pool_not_found"},

		// quotas
		{name: "quota string", method: "PATCH", path: "/v2/quotas/" + projectA, token: adminA, body: map[string]any{"zones": "10"}, code: 400, typ: "invalid_object", field: "zones"},
		{name: "quota unknown resource", method: "PATCH", path: "/v2/quotas/" + projectA, token: adminA, body: map[string]any{"bananas": 10}, code: 400, typ: "invalid_object", field: "bananas"},
		{name: "quota below -1", method: "PATCH", path: "/v2/quotas/" + projectA, token: adminA, body: map[string]any{"zones": -5}, code: 400, typ: "invalid_object", field: "zones"},

		// reverse
		{name: "fip bad key", method: "GET", path: "/v2/reverse/floatingips/nope", code: 400, typ: "bad_request", msg: "<region>:<uuid>"},
		{name: "fip unknown", method: "GET", path: fip, code: 404, typ: "not_found", msg: "FloatingIP"},
		{name: "fip ptrdname number", method: "PATCH", path: fip, body: map[string]any{"ptrdname": 5}, code: 400, typ: "invalid_object", field: "ptrdname"},
		{name: "fip unknown field", method: "PATCH", path: fip, body: map[string]any{"ptr": "x."}, code: 400, typ: "invalid_object", field: "ptr"},
		{name: "fip set", method: "PATCH", path: fip, body: map[string]any{"ptrdname": "smtp.example.org.", "ttl": 600}, code: 404, typ: "not_found"},
		{name: "fip unset", method: "PATCH", path: fip, body: map[string]any{"ptrdname": nil}, code: 404, typ: "not_found"},

		// routes
		{name: "unknown route", method: "POST", path: "/v2/zones/{zone}/tasks/move", code: 404, typ: "not_found"},
		{name: "wrong method", method: "PUT", path: "/v2/zones/{zone}", body: map[string]any{}, code: 405, typ: "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.snapshot(t)
			token := tc.token
			if token == "" {
				token = memberA
			}
			var body any = tc.body
			if s, ok := body.(string); ok && s == "" && tc.method == "POST" {
				body = nil
			}
			r := c.Call(t, call{Method: tc.method, Path: expand(tc.path), Token: token, Body: body, Header: tc.header})
			var msgs []string
			if tc.field != "" {
				msgs = append(msgs, "'"+tc.field+"'")
			}
			if tc.msg != "" {
				msgs = append(msgs, tc.msg)
			}
			wantError(t, r, tc.code, tc.typ, msgs...)
			c.unchanged(t, before)
		})
	}
}

// manyAddresses is n distinct A records.
func manyAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "192.0.2." + strconv.Itoa(i+10)
	}
	return out
}
