package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/recordsets"
	"github.com/gophercloud/gophercloud/v2/openstack/dns/v2/zones"

	"github.com/gostack/gostack/dns"
)

// follow GETs path as token and then every links.next, and returns the
// ids of all pages in order. Every page holds at most limit items and
// reports total_count want (when want >= 0).
func follow(t *testing.T, c *cloud, token, path, key string, limit, want int) []string {
	t.Helper()
	var out []string
	next := path
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			t.Fatal("more than 1000 pages")
		}
		r := c.Do(t, "GET", next, token, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %s", next, r)
		}
		body := r.JSON(t)
		page := ids(t, body, key)
		if len(page) > limit {
			t.Fatalf("GET %s: %d items, limit %d", next, len(page), limit)
		}
		out = append(out, page...)
		links := body["links"].(map[string]any)
		if self, _ := links["self"].(string); !strings.HasPrefix(self, c.URL+"/v2/") {
			t.Errorf("self link %q", self)
		}
		if want >= 0 {
			if got := body["metadata"].(map[string]any)["total_count"]; got != float64(want) {
				t.Errorf("GET %s: total_count %v, want %d", next, got, want)
			}
		}
		next, _ = links["next"].(string)
		if next != "" && len(page) != limit {
			t.Errorf("GET %s: next link after a page of %d (limit %d)", next, len(page), limit)
		}
	}
	return out
}

// once fails unless got holds every id of want exactly once.
func once(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("%s listed %d times", id, seen[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %d items, want %d", len(got), len(want))
	}
}

// TestPagination follows links.next to the end: every item once, in the
// requested order, with filters and sorting kept from page to page.
func TestPagination(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	c.Call(t, call{Method: "PATCH", Path: "/v2/quotas/" + projectA, Token: adminA, Body: map[string]any{"zones": 50},
		Header: map[string]string{"X-Auth-All-Projects": "true"}})
	var all, names []string
	for i := range 23 {
		name := fmt.Sprintf("z%02d.example.", i)
		all = append(all, c.mkZone(t, memberA, name))
		names = append(names, name)
	}
	c.mkZone(t, memberB, "other.example.")

	t.Run("zones", func(t *testing.T) {
		whole := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones?limit=max", memberA, nil), "zones")
		once(t, whole, all)
		for _, limit := range []int{1, 5, 22, 23, 1000} {
			got := follow(t, c, memberA, fmt.Sprintf("/v2/zones?limit=%d", limit), "zones", limit, 23)
			once(t, got, all)
			if !slices.Equal(got, whole) {
				t.Errorf("limit %d: pages are not in the order of the whole list", limit)
			}
		}
		// The default page is 20.
		got := follow(t, c, memberA, "/v2/zones", "zones", 20, 23)
		once(t, got, all)
	})
	t.Run("sorted", func(t *testing.T) {
		got := follow(t, c, memberA, "/v2/zones?limit=4&sort_key=name&sort_dir=desc", "zones", 4, 23)
		once(t, got, all)
		var gotNames []string
		for _, id := range got {
			gotNames = append(gotNames, str(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+id, memberA, nil), "name"))
		}
		want := slices.Clone(names)
		slices.Sort(want)
		slices.Reverse(want)
		if !slices.Equal(gotNames, want) {
			t.Errorf("names = %v, want %v", gotNames, want)
		}
	})
	t.Run("filtered", func(t *testing.T) {
		got := follow(t, c, memberA, "/v2/zones?limit=3&name=z1*", "zones", 3, 10)
		once(t, got, all[10:20])
	})
	t.Run("gophercloud", func(t *testing.T) {
		pages, err := zones.List(c.client(memberA), zones.ListOpts{Limit: 4}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := zones.ExtractZones(pages)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, z := range got {
			gotIDs = append(gotIDs, z.ID)
		}
		once(t, gotIDs, all)
	})
	t.Run("all projects", func(t *testing.T) {
		r := follow(t, c, adminA, "/v2/zones?limit=7&all_projects=true", "zones", 7, 24)
		if len(r) != 24 {
			t.Errorf("admin with all projects: %d zones, want 24", len(r))
		}
	})

	t.Run("recordsets", func(t *testing.T) {
		zone := all[0]
		want := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone+"/recordsets", memberA, nil), "recordsets") // SOA, NS
		for i := range 12 {
			want = append(want, c.mkRecordSet(t, memberA, zone, fmt.Sprintf("h%02d.z00.example.", i), "192.0.2.1"))
		}
		got := follow(t, c, memberA, "/v2/zones/"+zone+"/recordsets?limit=3", "recordsets", 3, 14)
		once(t, got, want)

		pages, err := recordsets.ListByZone(c.client(memberA), zone, recordsets.ListOpts{Limit: 5}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sets, _ := recordsets.ExtractRecordSets(pages)
		var gotIDs []string
		for _, s := range sets {
			gotIDs = append(gotIDs, s.ID)
		}
		once(t, gotIDs, want)

		// Across zones: every zone's SOA and NS, and the 12 A sets.
		got = follow(t, c, memberA, "/v2/recordsets?limit=9&type=A", "recordsets", 9, 12)
		once(t, got, want[2:])
		got = follow(t, c, memberA, "/v2/recordsets?limit=10&sort_key=name", "recordsets", 10, 23*2+12)
		if len(got) != 23*2+12 {
			t.Errorf("all recordsets: %d", len(got))
		}
	})

	t.Run("tsigkeys", func(t *testing.T) {
		var want []string
		for i := range 5 {
			k := c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": fmt.Sprintf("k%d", i),
				"algorithm": "hmac-sha256", "secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID})
			want = append(want, str(t, k, "id"))
		}
		got := follow(t, c, adminA, "/v2/tsigkeys?limit=2&sort_key=name", "tsigkeys", 2, -1)
		if !slices.Equal(got, want) {
			t.Errorf("tsigkeys by name = %v, want %v", got, want)
		}
		pools := follow(t, c, adminA, "/v2/pools?limit=1", "pools", 1, -1)
		if !slices.Equal(pools, []string{dns.DefaultPoolID}) {
			t.Errorf("pools = %v", pools)
		}
	})
}

// topKeys returns a JSON object's member names in the order they are
// written.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestListKeyOrder: every list answer writes its collection first, then
// "links", then "metadata" for the lists Designate pages in storage
// (zones, recordsets, imports, exports, transfer accepts), as Designate's
// render_list does; some clients read the first key.
func TestListKeyOrder(t *testing.T) {
	c := newCloud(t)
	zone := c.mkZone(t, memberA, "example.org.")
	c.mkRecordSet(t, memberA, zone, "www.example.org.", "192.0.2.1")
	c.Must(t, http.StatusCreated, "POST", "/v2/tsigkeys", adminA, map[string]any{"name": "k", "algorithm": "hmac-sha256",
		"secret": "c2VjcmV0", "scope": "POOL", "resource_id": dns.DefaultPoolID})
	c.Must(t, http.StatusCreated, "POST", "/v2/tlds", adminA, map[string]any{"name": "org"})
	c.Must(t, http.StatusCreated, "POST", "/v2/blacklists", adminA, map[string]any{"pattern": "^bad\\."})
	c.Must(t, http.StatusCreated, "POST", "/v2/zones/"+zone+"/tasks/transfer_requests", memberA, map[string]any{})
	c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/tasks/export", memberA, nil)
	all := map[string]string{"X-Auth-All-Projects": "true"}
	for _, tc := range []struct {
		path, token string
		want        string
	}{
		{"/v2/zones", memberA, "zones links metadata"},
		{"/v2/zones/" + zone + "/recordsets", memberA, "recordsets links metadata"},
		{"/v2/recordsets", memberA, "recordsets links metadata"},
		{"/v2/zones/tasks/imports", memberA, "imports links metadata"},
		{"/v2/zones/tasks/exports", memberA, "exports links metadata"},
		{"/v2/zones/tasks/transfer_accepts", adminA, "transfer_accepts links metadata"},
		{"/v2/zones/tasks/transfer_requests", memberA, "transfer_requests links"},
		{"/v2/tsigkeys", adminA, "tsigkeys links"},
		{"/v2/pools", adminA, "pools links"},
		{"/v2/tlds", adminA, "tlds links"},
		{"/v2/blacklists", adminA, "blacklists links"},
		{"/v2/reverse/floatingips", memberA, "floatingips links"},
	} {
		r := c.Call(t, call{Method: "GET", Path: tc.path, Token: tc.token, Header: all})
		if tc.token == memberA {
			r = c.Do(t, "GET", tc.path, tc.token, nil)
		}
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %s", tc.path, r)
		}
		if got := strings.Join(topKeys(t, r.Body), " "); got != tc.want {
			t.Errorf("GET %s: keys in order %q, want %q", tc.path, got, tc.want)
		}
	}
}
