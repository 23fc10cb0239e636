package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
)

// estate is a zone with a recordset in each of projects A and B.
type estate struct {
	zoneA, rsA, zoneB, rsB string
}

func newEstate(t *testing.T, c *cloud) estate {
	t.Helper()
	var e estate
	e.zoneA = c.mkZone(t, memberA, "a.example.")
	e.rsA = c.mkRecordSet(t, memberA, e.zoneA, "www.a.example.", "192.0.2.1")
	e.zoneB = c.mkZone(t, memberB, "b.example.")
	e.rsB = c.mkRecordSet(t, memberB, e.zoneB, "www.b.example.", "192.0.2.2")
	return e
}

// op is one call on a zone and recordset; {zone} and {rs} stand for them.
type op struct {
	name, method, path string
	body               any
}

var (
	zoneOps = []op{
		{"show zone", "GET", "/v2/zones/{zone}", nil},
		{"update zone", "PATCH", "/v2/zones/{zone}", map[string]any{"ttl": 1234}},
		{"delete zone", "DELETE", "/v2/zones/{zone}", nil},
		{"nameservers", "GET", "/v2/zones/{zone}/nameservers", nil},
		{"list recordsets", "GET", "/v2/zones/{zone}/recordsets", nil},
		{"create recordset", "POST", "/v2/zones/{zone}/recordsets", map[string]any{"name": "x.{name}", "type": "A", "records": []string{"192.0.2.9"}}},
		{"show recordset", "GET", "/v2/zones/{zone}/recordsets/{rs}", nil},
		{"update recordset", "PUT", "/v2/zones/{zone}/recordsets/{rs}", map[string]any{"records": []string{"192.0.2.9"}}},
		{"delete recordset", "DELETE", "/v2/zones/{zone}/recordsets/{rs}", nil},
		{"find recordset", "GET", "/v2/recordsets/{rs}", nil},
	}
	writeOps = []string{"update zone", "delete zone", "create recordset", "update recordset", "delete recordset"}
)

func (o op) run(t *testing.T, c *cloud, token, zone, rs, name string, header map[string]string) reply {
	t.Helper()
	path := strings.NewReplacer("{zone}", zone, "{rs}", rs).Replace(o.path)
	var body any = o.body
	if m, ok := o.body.(map[string]any); ok {
		b := map[string]any{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				v = strings.ReplaceAll(s, "{name}", name)
			}
			b[k] = v
		}
		body = b
	}
	return c.Call(t, call{Method: o.method, Path: path, Token: token, Body: body, Header: header})
}

// TestOtherProjectSeesNothing: project B never sees or changes A's zone
// or recordset: every call is a 404, A's objects are absent from B's
// lists, and nothing changes.
func TestOtherProjectSeesNothing(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	before := c.snapshot(t)
	for _, o := range zoneOps {
		t.Run(o.name, func(t *testing.T) {
			r := o.run(t, c, memberB, e.zoneA, e.rsA, "a.example.", nil)
			if r.Code != http.StatusNotFound {
				t.Fatalf("B %s on A's zone = %s, want 404", o.name, r)
			}
			typ := "zone_not_found"
			if strings.HasPrefix(o.path, "/v2/recordsets/") {
				typ = "recordset_not_found"
			}
			wantError(t, r, http.StatusNotFound, typ, "Could not find")
			// A's recordset through B's own zone is not found either.
			if strings.Contains(o.path, "{rs}") && strings.HasPrefix(o.path, "/v2/zones/") {
				wantError(t, o.run(t, c, memberB, e.zoneB, e.rsA, "b.example.", nil), http.StatusNotFound, "recordset_not_found")
			}
		})
	}
	c.unchanged(t, before)

	zonesB := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones", memberB, nil), "zones")
	if !slices.Equal(zonesB, []string{e.zoneB}) {
		t.Errorf("B's zones = %v, want only %s", zonesB, e.zoneB)
	}
	for _, path := range []string{"/v2/recordsets", "/v2/recordsets?name=www.a.example.", "/v2/zones?name=a.example."} {
		key := "recordsets"
		if strings.HasPrefix(path, "/v2/zones") {
			key = "zones"
		}
		for _, id := range ids(t, c.Must(t, http.StatusOK, "GET", path, memberB, nil), key) {
			if id == e.zoneA || id == e.rsA {
				t.Errorf("GET %s as B lists A's %s", path, id)
			}
		}
	}

	// B cannot take A's name, nor a name below it.
	wantError(t, c.Do(t, "POST", "/v2/zones", memberB, map[string]any{"name": "a.example.", "email": "b@b.example"}),
		http.StatusConflict, "duplicate_zone")
	wantError(t, c.Do(t, "POST", "/v2/zones", memberB, map[string]any{"name": "sub.a.example.", "email": "b@b.example"}),
		http.StatusForbidden, "illegal_child")
	c.unchanged(t, before)
}

// TestReaderCannotWrite: a reader of A reads A's zone and recordsets but
// every write is a 403; a caller with no role cannot even read.
func TestReaderCannotWrite(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	before := c.snapshot(t)
	for _, o := range zoneOps {
		t.Run(o.name, func(t *testing.T) {
			r := o.run(t, c, readerA, e.zoneA, e.rsA, "a.example.", nil)
			want := http.StatusOK
			switch {
			case slices.Contains(writeOps, o.name):
				wantError(t, r, http.StatusForbidden, "forbidden", "not authorized")
				return
			case o.name == "find recordset":
				want = http.StatusMovedPermanently
			}
			if r.Code != want {
				t.Errorf("reader %s = %s, want %d", o.name, r, want)
			}
			wantError(t, o.run(t, c, nobodyA, e.zoneA, e.rsA, "a.example.", nil), http.StatusForbidden, "forbidden")
		})
	}
	wantError(t, c.Do(t, "POST", "/v2/zones", readerA, map[string]any{"name": "r.example.", "email": "r@r.example"}),
		http.StatusForbidden, "forbidden", "create_zone")
	wantError(t, c.Do(t, "GET", "/v2/zones", nobodyA, nil), http.StatusForbidden, "forbidden", "find_zones")
	c.unchanged(t, before)
}

// TestAllProjects: an admin sees every project's zones and recordsets
// only with X-Auth-All-Projects (or ?all_projects=true); anyone else
// asking for it gets a 403.
func TestAllProjects(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	all := map[string]string{"X-Auth-All-Projects": "true"}

	listed := func(token, path string, header map[string]string) []string {
		t.Helper()
		r := c.Call(t, call{Method: "GET", Path: path, Token: token, Header: header})
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %s", path, r)
		}
		key := strings.TrimPrefix(strings.Split(path, "?")[0], "/v2/")
		got := ids(t, r.JSON(t), key)
		slices.Sort(got)
		return got
	}
	if got := listed(adminA, "/v2/zones", nil); !slices.Equal(got, []string{e.zoneA}) {
		t.Errorf("admin without all projects lists %v, want only A's zone", got)
	}
	wantError(t, c.Do(t, "GET", "/v2/zones/"+e.zoneB, adminA, nil), http.StatusNotFound, "zone_not_found")

	both := []string{e.zoneA, e.zoneB}
	slices.Sort(both)
	if got := listed(adminA, "/v2/zones", all); !slices.Equal(got, both) {
		t.Errorf("admin with all projects lists %v, want %v", got, both)
	}
	if got := listed(adminA, "/v2/zones?all_projects=true", nil); !slices.Equal(got, both) {
		t.Errorf("admin with ?all_projects=true lists %v, want %v", got, both)
	}
	if got := listed(adminA, "/v2/recordsets?type=A", all); len(got) != 2 || !slices.Contains(got, e.rsA) || !slices.Contains(got, e.rsB) {
		t.Errorf("admin with all projects lists recordsets %v", got)
	}
	z := c.Call(t, call{Method: "GET", Path: "/v2/zones/" + e.zoneB, Token: adminA, Header: all})
	if z.Code != http.StatusOK || str(t, z.JSON(t), "project_id") != projectB {
		t.Errorf("admin shows B's zone: %s", z)
	}
	r := c.Call(t, call{Method: "PATCH", Path: "/v2/zones/" + e.zoneB, Token: adminA, Header: all, Body: map[string]any{"ttl": 7200}})
	if r.Code != http.StatusAccepted {
		t.Errorf("admin updates B's zone: %s", r)
	}

	before := c.snapshot(t)
	for _, tc := range []struct {
		token, path string
		header      map[string]string
	}{
		{memberA, "/v2/zones", all},
		{memberA, "/v2/zones?all_projects=true", nil},
		{memberA, "/v2/zones?all_tenants=1", nil},
		{memberB, "/v2/recordsets", all},
		{readerA, "/v2/zones/" + e.zoneB, all},
		{memberA, "/v2/zones", map[string]string{"X-Auth-Sudo-Project-ID": projectB}},
	} {
		wantError(t, c.Call(t, call{Method: "GET", Path: tc.path, Token: tc.token, Header: tc.header}), http.StatusForbidden, "forbidden")
	}
	wantError(t, c.Call(t, call{Method: "DELETE", Path: "/v2/zones/" + e.zoneA, Token: memberB, Header: all}), http.StatusForbidden, "forbidden")
	// Asking for no projects is no privilege.
	if got := listed(memberA, "/v2/zones", map[string]string{"X-Auth-All-Projects": "false"}); !slices.Equal(got, []string{e.zoneA}) {
		t.Errorf("member with all projects false lists %v", got)
	}
	c.unchanged(t, before)

	// An admin may act as another project.
	sudo := map[string]string{"X-Auth-Sudo-Project-ID": projectB}
	if got := listed(adminA, "/v2/zones", sudo); !slices.Equal(got, []string{e.zoneB}) {
		t.Errorf("admin sudo to B lists %v", got)
	}
	r = c.Call(t, call{Method: "POST", Path: "/v2/zones", Token: adminA, Header: sudo, Body: map[string]any{"name": "sudo.example.", "email": "s@sudo.example"}})
	if r.Code != http.StatusAccepted || str(t, r.JSON(t), "project_id") != projectB {
		t.Errorf("admin sudo create: %s", r)
	}
}

// TestAdminOnlyResources: TSIG keys, pools, other projects' quotas, TLDs
// and blacklists are for admins; members and readers get a 403 and change
// nothing.
func TestAdminOnlyResources(t *testing.T) {
	c := newCloud(t)
	key := c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "k1", "algorithm": "hmac-sha256",
		"secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID})
	keyID := str(t, key, "id")
	tldID := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/tlds", adminA, map[string]any{"name": "org"}), "id")
	blID := str(t, c.Must(t, http.StatusCreated, "POST", "/v2/blacklists", adminA, map[string]any{"pattern": "^bank\\."}), "id")
	before := c.snapshot(t)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v2/tsigkeys", nil},
		{"GET", "/v2/tsigkeys/" + keyID, nil},
		{"POST", "/v2/tsigkeys", map[string]any{"name": "k2", "algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID}},
		{"PATCH", "/v2/tsigkeys/" + keyID, map[string]any{"name": "pwned"}},
		{"DELETE", "/v2/tsigkeys/" + keyID, nil},
		{"GET", "/v2/pools", nil},
		{"GET", "/v2/pools/" + dns.DefaultPoolID, nil},
		{"GET", "/v2/quotas/" + projectB, nil},
		{"PATCH", "/v2/quotas/" + projectA, map[string]any{"zones": 1000}},
		{"DELETE", "/v2/quotas/" + projectA, nil},
		{"GET", "/v2/tlds", nil},
		{"GET", "/v2/tlds/" + tldID, nil},
		{"POST", "/v2/tlds", map[string]any{"name": "net"}},
		{"PATCH", "/v2/tlds/" + tldID, map[string]any{"name": "com"}},
		{"DELETE", "/v2/tlds/" + tldID, nil},
		{"GET", "/v2/blacklists", nil},
		{"GET", "/v2/blacklists/" + blID, nil},
		{"POST", "/v2/blacklists", map[string]any{"pattern": ".*"}},
		{"PATCH", "/v2/blacklists/" + blID, map[string]any{"pattern": "x"}},
		{"DELETE", "/v2/blacklists/" + blID, nil},
	} {
		for _, token := range []string{memberA, readerA} {
			wantError(t, c.Do(t, tc.method, tc.path, token, tc.body), http.StatusForbidden, "forbidden")
		}
	}
	c.unchanged(t, before)
	// Its own quotas and limits a reader may read.
	if q := c.Must(t, http.StatusOK, "GET", "/v2/quotas/"+projectA, readerA, nil); q["zones"] != float64(dns.DefaultQuota().Zones) {
		t.Errorf("own quota = %v", q)
	}
	if l := c.Must(t, http.StatusOK, "GET", "/v2/limits", readerA, nil); l["max_zones"] != float64(dns.DefaultQuota().Zones) || l["max_page_limit"] != float64(1000) {
		t.Errorf("limits = %v", l)
	}
}
