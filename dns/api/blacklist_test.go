package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func zoneBody(name string) map[string]any {
	return map[string]any{"name": name, "email": "a@example.org"}
}

// TestBlacklistedZones: a member cannot take a top-level domain, a public
// suffix or a reserved name (the name, above it or below it): Designate's
// 400 invalid_zone_name, and nothing is stored. Names beside or below the
// suffixes stay a member's to take. An admin passes use_blacklisted_zone
// and creates them, but a single label is refused for admins too, as in
// Designate. The decision is the policy's: granting use_blacklisted_zone
// to members lets them through.
func TestBlacklistedZones(t *testing.T) {
	c := newCloud(t)
	const oneLabel, blacklisted = "More than one label is required", "Blacklisted zone name"

	before := c.snapshot(t)
	for _, tc := range []struct{ name, msg string }{
		{"org.", oneLabel},
		{"com.", oneLabel},
		{"ORG.", oneLabel},
		{"co.uk.", blacklisted},
		{"Co.UK.", blacklisted},
		{"com.au.", blacklisted},
		{"github.io.", blacklisted},
		{"in-addr.arpa.", blacklisted},
		{reservedName, blacklisted},
		{"cloud.example.", blacklisted},
		{"a.ns1.cloud.example.", blacklisted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, "POST", "/v2/zones", memberA, zoneBody(tc.name))
			wantError(t, r, http.StatusBadRequest, "invalid_zone_name", tc.msg)
		})
	}
	c.unchanged(t, before)

	for _, name := range []string{"example.org.", "example.co.uk.", "user.github.io.", "www.cloud.example.", "10.in-addr.arpa."} {
		c.mkZone(t, memberA, name)
	}

	for _, name := range []string{"co.uk.", "github.io.", reservedName, "cloud.example."} {
		c.mkZone(t, adminA, name)
	}
	before = c.snapshot(t)
	r := c.Do(t, "POST", "/v2/zones", adminA, zoneBody("org."))
	wantError(t, r, http.StatusBadRequest, "invalid_zone_name", oneLabel)
	c.unchanged(t, before)

	if err := c.Policy.Load([]byte(`{"use_blacklisted_zone": "role:member"}`)); err != nil {
		t.Fatal(err)
	}
	c.mkZone(t, memberB, "com.au.")
	r = c.Do(t, "POST", "/v2/zones", memberB, zoneBody("net."))
	wantError(t, r, http.StatusBadRequest, "invalid_zone_name", oneLabel)
	r = c.Do(t, "POST", "/v2/zones", readerA, zoneBody("org.uk."))
	wantError(t, r, http.StatusForbidden, "forbidden") // create_zone comes first
}

// TestBlacklistPatterns: an admin's patterns (Designate's /v2/blacklists)
// refuse matching zone names to members — creates and imports — with
// Designate's 400 "Blacklisted zone name", while an admin
// (use_blacklisted_zone) creates them; a transfer accept is not checked,
// as in Designate. Patterns read as Python's (lookarounds,
// backreferences, \Z); one that is not an expression is a 400.
func TestBlacklistPatterns(t *testing.T) {
	c := newCloud(t)
	r := c.Do(t, "POST", "/v2/blacklists", adminA, map[string]any{"pattern": `^([a-z0-9-]+\.)*bank\.example\.$`, "description": "ours"})
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	bl := r.JSON(t)
	id := str(t, bl, "id")
	if got := keysOf(t, bl); got != "created_at description id links pattern updated_at" {
		t.Errorf("blacklist keys = %s", got)
	}
	if bl["updated_at"] != nil || r.Header.Get("Location") != c.URL+"/v2/blacklists/"+id {
		t.Errorf("created: %v, Location %q", bl, r.Header.Get("Location"))
	}
	second := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/blacklists", adminA, map[string]any{"pattern": "casino"}), "id")
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/blacklists?sort_key=pattern&sort_dir=desc", adminA, nil), "blacklists"); !slices.Equal(got, []string{second, id}) {
		t.Errorf("by pattern, descending: %v", got)
	}
	if got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/blacklists?pattern=cas*", adminA, nil), "blacklists"); !slices.Equal(got, []string{second}) {
		t.Errorf("pattern=cas*: %v", got)
	}

	before := c.snapshot(t)
	for _, name := range []string{"bank.example.", "www.bank.example.", "online-casino.example.org."} {
		wantError(t, c.Do(t, "POST", "/v2/zones", memberA, zoneBody(name)), http.StatusBadRequest, "invalid_zone_name", "Blacklisted zone name")
	}
	c.unchanged(t, before)
	r = c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/imports", Token: memberB, Type: "text/dns",
		Body: "$ORIGIN bank.example.\n@ IN SOA ns.example. h.bank.example. 1 2 3 4 5\n"})
	if imp := r.JSON(t); r.Code != http.StatusAccepted || imp["status"] != "ERROR" || !strings.Contains(imp["message"].(string), "Blacklisted zone name") {
		t.Errorf("member's import: %s", r)
	}
	if zs := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones", memberB, nil), "zones"); len(zs) != 0 {
		t.Errorf("the refused import made zones: %v", zs)
	}
	for _, name := range []string{"notbank.example.", "bank.example.org."} {
		c.mkZone(t, memberA, name)
	}
	bank := c.mkZone(t, adminA, "bank.example.")

	// The admin's zone goes to B: Designate checks no blacklist there.
	tr := c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+bank+"/tasks/transfer_requests", adminA, map[string]any{"target_project_id": projectB})
	acc := c.Must(t, http.StatusCreated, "POST", "/v2/zones/tasks/transfer_accepts", memberB,
		map[string]any{"zone_transfer_request_id": str(t, tr, "id"), "key": str(t, tr, "key")})
	if acc["status"] != "COMPLETE" {
		t.Errorf("accept: %v", acc)
	}

	// Narrowed, the pattern lets www through; deleted, it is gone.
	upd := c.Must(t, http.StatusOK, "PATCH", "/v2/blacklists/"+second, adminA, map[string]any{"pattern": `^casino\.`, "description": "narrower"})
	if upd["pattern"] != `^casino\.` || upd["updated_at"] == nil {
		t.Errorf("update: %v", upd)
	}
	c.mkZone(t, memberA, "online-casino.example.org.")
	if r := c.Do(t, "DELETE", "/v2/blacklists/"+id, adminA, nil); r.Code != http.StatusNoContent {
		t.Errorf("delete: %s", r)
	}
	wantError(t, c.Do(t, "GET", "/v2/blacklists/"+id, adminA, nil), http.StatusNotFound, "blacklist_not_found", "Could not find Blacklist")
	c.mkZone(t, memberB, "www.bank.example.")

	const unknown = "/v2/blacklists/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		typ, msg           string
	}{
		{"no pattern", "POST", "/v2/blacklists", map[string]any{"description": "x"}, 400, "invalid_object", "'pattern' is a required property"},
		{"empty", "POST", "/v2/blacklists", map[string]any{"pattern": ""}, 400, "invalid_object", "is not a valid regular expression"},
		{"unbalanced", "POST", "/v2/blacklists", map[string]any{"pattern": "(a"}, 400, "invalid_object", "is not a valid regular expression"},
		{"unclosed lookahead", "POST", "/v2/blacklists", map[string]any{"pattern": `^(?!www`}, 400, "invalid_object", "is not a valid regular expression"},
		{"bad backreference", "POST", "/v2/blacklists", map[string]any{"pattern": `(a)\2`}, 400, "invalid_object", "is not a valid regular expression"},
		{"long", "POST", "/v2/blacklists", map[string]any{"pattern": strings.Repeat("a", 256)}, 400, "invalid_object", "'pattern'"},
		{"number", "POST", "/v2/blacklists", map[string]any{"pattern": 7}, 400, "invalid_object", "is not of type 'string'"},
		{"unknown field", "POST", "/v2/blacklists", map[string]any{"pattern": "x", "junk": 1}, 400, "invalid_object", "'junk'"},
		{"duplicate", "POST", "/v2/blacklists", map[string]any{"pattern": `^casino\.`}, 409, "duplicate_blacklist", "Duplicate Blacklist"},
		{"patch bad pattern", "PATCH", "/v2/blacklists/" + second, map[string]any{"pattern": `(?<=a b`}, 400, "invalid_object", "'pattern'"},
		{"patch id", "PATCH", "/v2/blacklists/" + second, map[string]any{"id": id}, 400, "invalid_object", "'id'"},
		{"patch unknown", "PATCH", unknown, map[string]any{"description": "x"}, 404, "blacklist_not_found", ""},
		{"bad uuid", "DELETE", "/v2/blacklists/x", nil, 400, "invalid_uuid", ""},
		{"delete unknown", "DELETE", unknown, nil, 404, "blacklist_not_found", ""},
		{"bad sort key", "GET", "/v2/blacklists?sort_key=name", nil, 400, "invalid_sort_key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.snapshot(t)
			var msgs []string
			if tc.msg != "" {
				msgs = append(msgs, tc.msg)
			}
			wantError(t, c.Do(t, tc.method, tc.path, adminA, tc.body), tc.code, tc.typ, msgs...)
			c.unchanged(t, before)
		})
	}
}

// TestBlacklistPythonSyntax: a pattern in Python's syntax — a negative
// lookahead, as Designate takes it — refuses what it matches and lets
// through what its lookahead excludes.
func TestBlacklistPythonSyntax(t *testing.T) {
	c := newCloud(t)
	c.Must(t, http.StatusCreated, "POST", "/v2/blacklists", adminA, map[string]any{"pattern": `^(?!www\.)[a-z]+\.shop\.example\.\Z`})
	before := c.snapshot(t)
	wantError(t, c.Do(t, "POST", "/v2/zones", memberA, zoneBody("buy.shop.example.")), http.StatusBadRequest, "invalid_zone_name", "Blacklisted zone name")
	c.unchanged(t, before)
	c.mkZone(t, memberA, "www.shop.example.")
}
