package dns_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

func ptr[T any](v T) *T { return &v }

func testRecordSetLifecycle(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	cases := []struct {
		name, typ string
		records   []string
		want      []string // as stored
	}{
		{"www.example.org.", "A", []string{"192.0.2.1", "192.0.2.2"}, nil},
		{"WWW.Example.Org.", "aaaa", []string{"2001:DB8::1"}, []string{"2001:db8::1"}},
		{"example.org.", "MX", []string{"10 mail.example.org.", "20 MAIL2.example.org."}, []string{"10 mail.example.org.", "20 MAIL2.example.org."}},
		{"example.org.", "TXT", []string{"hello world", `"v=spf1 -all"`}, []string{`"hello" "world"`, `"v=spf1 -all"`}},
		{"_sip._tcp.example.org.", "SRV", []string{"10 60 5060 sip.example.org."}, nil},
		{"example.org.", "CAA", []string{`0 issue "letsencrypt.org"`}, nil},
		{"*.dev.example.org.", "CNAME", []string{"www.example.org."}, nil},
		{"sub.example.org.", "NS", []string{"ns.elsewhere.net."}, nil},
		{"1.2.0.192.example.org.", "PTR", []string{"host.example.org."}, nil},
		{"example.org.", "SSHFP", []string{"1 1 123456789abcdef67890123456789abcdef67890"}, []string{"1 1 123456789ABCDEF67890123456789ABCDEF67890"}},
		{"_443._tcp.example.org.", "TLSA", []string{"3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, nil},
		{"example.org.", "HTTPS", []string{`1 . alpn="h2,h3"`}, []string{`1 . alpn="h2,h3"`}},
	}
	for _, c := range cases {
		rs, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: c.name, Type: c.typ, Records: c.records})
		if err != nil {
			t.Errorf("%s %s: %v", c.name, c.typ, err)
			continue
		}
		want := c.want
		if want == nil {
			want = c.records
		}
		if !slices.Equal(rs.Records, want) || rs.Name != strings.ToLower(c.name) || rs.Type != strings.ToUpper(c.typ) ||
			rs.Status != dns.Pending || rs.Action != dns.ActionCreate || rs.ZoneName != z.Name || rs.ProjectID != "a" {
			t.Errorf("%s %s: %+v, want records %q", c.name, c.typ, rs, want)
		}
		if got, err := e.s.GetRecordSet(e.ctx, projA, z.ID, rs.ID); err != nil || !slices.Equal(got.Records, want) {
			t.Errorf("get %s %s: %+v %v", c.name, c.typ, got, err)
		}
	}
	_, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.3"}})
	wantFault(t, "duplicate name and type", err, fault.Conflict, "")
	if fault.TypeOf(err) != "duplicate_recordset" {
		t.Errorf("type %q", fault.TypeOf(err))
	}
}

func testRecordSetUpdate(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1", "192.0.2.2")
	// Update: ttl, records, description; compare-and-swap on the version.
	upd := rs
	upd.TTL, upd.Records, upd.Description = ptr(60), []string{"192.0.2.9"}, "one now"
	got, err := e.s.UpdateRecordSet(e.ctx, projA, upd)
	if err != nil || *got.TTL != 60 || !slices.Equal(got.Records, []string{"192.0.2.9"}) || got.Version != rs.Version+1 ||
		got.Action != dns.ActionUpdate || got.Description != "one now" {
		t.Fatalf("update: %+v %v", got, err)
	}
	_, err = e.s.UpdateRecordSet(e.ctx, projA, upd)
	wantFault(t, "stale recordset version", err, fault.Conflict, "")
	upd = got
	upd.TTL = nil // back to the zone's TTL
	if got, err = e.s.UpdateRecordSet(e.ctx, projA, upd); err != nil || got.TTL != nil {
		t.Fatalf("ttl back to default: %+v %v", got, err)
	}
	upd = got
	upd.Records = []string{"not-an-ip"}
	_, err = e.s.UpdateRecordSet(e.ctx, projA, upd)
	wantFault(t, "update with a bad record", err, fault.BadRequest, "records")
	wins := race(6, func(i int) error {
		u := got
		u.Records = []string{"192.0.2." + string(rune('1'+i))}
		_, err := e.s.UpdateRecordSet(e.ctx, projA, u)
		return err
	}, t)
	if wins != 1 {
		t.Errorf("%d concurrent recordset updates won, want 1", wins)
	}
	// The zone's own recordsets are managed.
	all, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{Name: "example.org."}, dns.Page{})
	for _, m := range all {
		if !m.Managed() {
			continue
		}
		m.Records = []string{"ns9.example.net."}
		_, err := e.s.UpdateRecordSet(e.ctx, projA, m)
		wantFault(t, "update "+m.Type, err, fault.BadRequest, "")
		_, err = e.s.DeleteRecordSet(e.ctx, projA, z.ID, m.ID)
		wantFault(t, "delete "+m.Type, err, fault.BadRequest, "")
	}
	del, err := e.s.DeleteRecordSet(e.ctx, projA, z.ID, rs.ID)
	if err != nil || del.Status != dns.Pending || del.Action != dns.ActionDelete {
		t.Fatalf("delete: %+v %v", del, err)
	}
	_, err = e.s.GetRecordSet(e.ctx, projA, z.ID, rs.ID)
	wantFault(t, "get deleted recordset", err, fault.NotFound, "")
	_, err = e.s.DeleteRecordSet(e.ctx, projA, z.ID, rs.ID)
	wantFault(t, "delete twice", err, fault.NotFound, "")
}

func testRecordSetValidation(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	cases := []struct {
		what    string
		rs      dns.RecordSet
		field   string
		errType string
	}{
		{"relative name", dns.RecordSet{Name: "www", Type: "A", Records: []string{"192.0.2.1"}}, "name", ""},
		{"name outside the zone", dns.RecordSet{Name: "www.example.net.", Type: "A", Records: []string{"192.0.2.1"}}, "name", "invalid_recordset_location"},
		{"name that only ends like the zone", dns.RecordSet{Name: "badexample.org.", Type: "A", Records: []string{"192.0.2.1"}}, "name", "invalid_recordset_location"},
		{"wildcard not first", dns.RecordSet{Name: "a.*.example.org.", Type: "A", Records: []string{"192.0.2.1"}}, "name", ""},
		{"no type", dns.RecordSet{Name: "www.example.org.", Records: []string{"192.0.2.1"}}, "type", ""},
		{"SOA", dns.RecordSet{Name: "example.org.", Type: "SOA", Records: []string{"a. b. 1 2 3 4 5"}}, "type", ""},
		{"unknown type", dns.RecordSet{Name: "www.example.org.", Type: "BOGUS", Records: []string{"x"}}, "type", ""},
		{"type not offered", dns.RecordSet{Name: "www.example.org.", Type: "DNSKEY", Records: []string{"x"}}, "type", ""},
		{"NS at the apex", dns.RecordSet{Name: "example.org.", Type: "NS", Records: []string{"ns.example.com."}}, "type", ""},
		{"CNAME at the apex", dns.RecordSet{Name: "example.org.", Type: "CNAME", Records: []string{"www.example.com."}}, "name", "invalid_recordset_location"},
		{"no records", dns.RecordSet{Name: "www.example.org.", Type: "A"}, "records", ""},
		{"empty record", dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{" "}}, "records", ""},
		{"bad A", dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2"}}, "records", ""},
		{"A with garbage", dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.1 extra"}}, "records", ""},
		{"IPv4 as AAAA", dns.RecordSet{Name: "www.example.org.", Type: "AAAA", Records: []string{"192.0.2.1"}}, "records", ""},
		{"relative CNAME target", dns.RecordSet{Name: "www.example.org.", Type: "CNAME", Records: []string{"target"}}, "records", ""},
		{"origin in data", dns.RecordSet{Name: "www.example.org.", Type: "CNAME", Records: []string{"@"}}, "records", ""},
		{"relative MX", dns.RecordSet{Name: "example.org.", Type: "MX", Records: []string{"10 mail"}}, "records", ""},
		{"MX without preference", dns.RecordSet{Name: "example.org.", Type: "MX", Records: []string{"mail.example.org."}}, "records", ""},
		{"second record smuggled", dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.1\nevil.example.org. 0 IN A 192.0.2.66"}}, "records", ""},
		{"comment", dns.RecordSet{Name: "www.example.org.", Type: "TXT", Records: []string{"hello ; world"}}, "records", ""},
		{"two CNAMEs", dns.RecordSet{Name: "www.example.org.", Type: "CNAME", Records: []string{"a.example.com.", "b.example.com."}}, "records", ""},
		{"TXT ending with a backslash", dns.RecordSet{Name: "www.example.org.", Type: "TXT", Records: []string{`text\\`}}, "records", ""},
		{"wildcard NS", dns.RecordSet{Name: "*.example.org.", Type: "NS", Records: []string{"ns1.example.net."}}, "name", ""},
		{"negative ttl", dns.RecordSet{Name: "www.example.org.", Type: "A", TTL: ptr(-1), Records: []string{"192.0.2.1"}}, "ttl", ""},
		{"huge ttl", dns.RecordSet{Name: "www.example.org.", Type: "A", TTL: ptr(dns.MaxTTL + 1), Records: []string{"192.0.2.1"}}, "ttl", ""},
		{"long description", dns.RecordSet{Name: "www.example.org.", Type: "A", Description: strings.Repeat("d", 161), Records: []string{"192.0.2.1"}}, "description", ""},
	}
	for _, c := range cases {
		_, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, c.rs)
		wantFault(t, c.what, err, fault.BadRequest, c.field)
		if c.errType != "" && fault.TypeOf(err) != c.errType {
			t.Errorf("%s: type %q, want %q", c.what, fault.TypeOf(err), c.errType)
		}
	}
	if _, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "A", TTL: ptr(0), Records: []string{"192.0.2.1"}}); err != nil {
		t.Errorf("ttl 0: %v", err)
	}
	// A record given twice, in any spelling, is kept once.
	dup, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "AAAA",
		Records: []string{"2001:db8::1", "2001:DB8::1", "2001:db8::2", "2001:db8::1"}})
	if err != nil || !slices.Equal(dup.Records, []string{"2001:db8::1", "2001:db8::2"}) {
		t.Errorf("repeated records: %v %v", dup.Records, err)
	}
	_, err = e.s.CreateRecordSet(e.ctx, projA, "nope", dns.RecordSet{Name: "www.example.org.", Type: "TXT", Records: []string{"x"}})
	wantFault(t, "unknown zone", err, fault.NotFound, "")
	if sets, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{}); len(sets) != 4 {
		t.Errorf("%d recordsets, want SOA, NS, the valid A and AAAA", len(sets))
	}
}

func testPlacement(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	_, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "CNAME", Records: []string{"x.example.com."}})
	wantFault(t, "CNAME beside an A", err, fault.BadRequest, "name")
	e.recordSet(t, projA, z, "alias.example.org.", "CNAME", "www.example.org.")
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "alias.example.org.", Type: "TXT", Records: []string{"hi"}})
	wantFault(t, "TXT beside a CNAME", err, fault.BadRequest, "name")
	if fault.TypeOf(err) != "invalid_recordset_location" {
		t.Errorf("type %q", fault.TypeOf(err))
	}
	// A record that belongs in a child zone goes there, not in the parent.
	child := e.zone(t, "a", "sub.example.org.")
	for _, name := range []string{"sub.example.org.", "x.sub.example.org.", "a.b.sub.example.org."} {
		_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: name, Type: "A", Records: []string{"192.0.2.1"}})
		wantFault(t, name+" in the parent of its zone", err, fault.BadRequest, "name")
	}
	e.recordSet(t, projA, child, "x.sub.example.org.", "A", "192.0.2.1")
	e.recordSet(t, projA, z, "xsub.example.org.", "A", "192.0.2.1")
}

func testRecordSetList(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	other := e.zone(t, "a", "example.com.")
	e.zone(t, "b", "example.net.")
	e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1", "192.0.2.2")
	e.tick(time.Second)
	e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "ftp.example.org.", Type: "A", TTL: ptr(60), Records: []string{"192.0.2.3"}, Description: "files"})
	e.tick(time.Second)
	e.recordSet(t, projA, z, "example.org.", "TXT", `"v=spf1 -all"`)
	e.tick(time.Second)
	e.recordSet(t, projA, other, "www.example.com.", "AAAA", "2001:db8::1")
	names := func(zoneID string, f dns.RecordSetFilter, p dns.Page) []string {
		t.Helper()
		sets, err := e.s.ListRecordSets(e.ctx, projA, zoneID, f, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Marker == "" && p.Limit == 0 {
			if n, err := e.s.CountRecordSets(e.ctx, projA, zoneID, f); err != nil || n != len(sets) {
				t.Fatalf("CountRecordSets = %d, %v; the list has %d", n, err, len(sets))
			}
		}
		var out []string
		for _, rs := range sets {
			out = append(out, rs.Type+" "+rs.Name)
		}
		return out
	}
	cases := []struct {
		what   string
		zoneID string
		f      dns.RecordSetFilter
		p      dns.Page
		want   []string
	}{
		{"type filter across zones", "", dns.RecordSetFilter{Type: "a"}, dns.Page{}, []string{"A www.example.org.", "A ftp.example.org."}},
		{"one zone by name, descending", z.ID, dns.RecordSetFilter{Name: "*.example.org."}, dns.Page{SortKey: "name", SortDir: "desc"},
			[]string{"A www.example.org.", "A ftp.example.org."}},
		{"one zone by type", z.ID, dns.RecordSetFilter{Name: "example.org."}, dns.Page{SortKey: "type"},
			[]string{"NS example.org.", "SOA example.org.", "TXT example.org."}},
		{"name wildcard", "", dns.RecordSetFilter{Name: "www.*"}, dns.Page{}, []string{"A www.example.org.", "AAAA www.example.com."}},
		{"data", "", dns.RecordSetFilter{Data: "192.0.2.2"}, dns.Page{}, []string{"A www.example.org."}},
		{"data wildcard", "", dns.RecordSetFilter{Data: "*spf1*"}, dns.Page{}, []string{"TXT example.org."}},
		{"ttl", "", dns.RecordSetFilter{TTL: ptr(60)}, dns.Page{}, []string{"A ftp.example.org."}},
		{"description", "", dns.RecordSetFilter{Description: "fil*"}, dns.Page{}, []string{"A ftp.example.org."}},
		{"status", other.ID, dns.RecordSetFilter{Status: dns.Active}, dns.Page{}, nil},
		{"ttl sort", z.ID, dns.RecordSetFilter{Type: "A"}, dns.Page{SortKey: "ttl", SortDir: "desc"}, []string{"A ftp.example.org.", "A www.example.org."}},
	}
	for _, c := range cases {
		if got := names(c.zoneID, c.f, c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	// Paging by marker visits every recordset once, in order.
	all := names("", dns.RecordSetFilter{}, dns.Page{SortKey: "name"})
	var paged []string
	marker := ""
	for {
		sets, err := e.s.ListRecordSets(e.ctx, projA, "", dns.RecordSetFilter{}, dns.Page{SortKey: "name", Marker: marker, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range sets {
			paged = append(paged, rs.Type+" "+rs.Name)
		}
		if len(sets) < 3 {
			break
		}
		marker = sets[len(sets)-1].ID
	}
	if len(all) != 8 || !slices.Equal(paged, all) {
		t.Errorf("paged %q, want %q", paged, all)
	}
	for _, c := range []struct {
		p     dns.Page
		field string
	}{
		{dns.Page{SortKey: "records"}, "sort_key"},
		{dns.Page{SortDir: "up"}, "sort_dir"},
		{dns.Page{Marker: "nope"}, "marker"},
		{dns.Page{Limit: -1}, "limit"},
	} {
		_, err := e.s.ListRecordSets(e.ctx, projA, "", dns.RecordSetFilter{}, c.p)
		wantFault(t, "page "+c.field, err, fault.BadRequest, c.field)
	}
}

func testZoneList(t *testing.T, e *env) {
	for i, name := range []string{"b.org.", "a.org.", "c.com.", "d.net."} {
		e.tick(time.Second)
		z := dns.Zone{ProjectID: "a", Name: name, Email: "dns@" + strings.TrimSuffix(name, "."), TTL: 300 * (i + 1)}
		if i == 3 {
			z.Type, z.Masters, z.Description = dns.Secondary, []string{"192.0.2.53"}, "mirror"
		}
		if _, err := e.s.CreateZone(e.ctx, z); err != nil {
			t.Fatal(err)
		}
	}
	e.zone(t, "b", "e.org.")
	names := func(f dns.ZoneFilter, p dns.Page) []string {
		t.Helper()
		zs, err := e.s.ListZones(e.ctx, projA, f, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Marker == "" && p.Limit == 0 {
			if n, err := e.s.CountZones(e.ctx, projA, f); err != nil || n != len(zs) {
				t.Fatalf("CountZones = %d, %v; the list has %d", n, err, len(zs))
			}
		}
		var out []string
		for _, z := range zs {
			out = append(out, z.Name)
		}
		return out
	}
	cases := []struct {
		what string
		f    dns.ZoneFilter
		p    dns.Page
		want []string
	}{
		{"default: oldest first", dns.ZoneFilter{}, dns.Page{}, []string{"b.org.", "a.org.", "c.com.", "d.net."}},
		{"by name", dns.ZoneFilter{}, dns.Page{SortKey: "name"}, []string{"a.org.", "b.org.", "c.com.", "d.net."}},
		{"by ttl, descending", dns.ZoneFilter{}, dns.Page{SortKey: "ttl", SortDir: "desc"}, []string{"d.net.", "c.com.", "a.org.", "b.org."}},
		{"limit", dns.ZoneFilter{}, dns.Page{SortKey: "name", Limit: 2}, []string{"a.org.", "b.org."}},
		{"name wildcard", dns.ZoneFilter{Name: "*.ORG."}, dns.Page{SortKey: "name"}, []string{"a.org.", "b.org."}},
		{"exact name", dns.ZoneFilter{Name: "c.com."}, dns.Page{}, []string{"c.com."}},
		{"email", dns.ZoneFilter{Email: "dns@a.org"}, dns.Page{}, []string{"a.org."}},
		{"ttl", dns.ZoneFilter{TTL: ptr(900)}, dns.Page{}, []string{"c.com."}},
		{"type", dns.ZoneFilter{Type: dns.Secondary}, dns.Page{}, []string{"d.net."}},
		{"description", dns.ZoneFilter{Description: "mir*"}, dns.Page{}, []string{"d.net."}},
		{"status", dns.ZoneFilter{Status: dns.Active}, dns.Page{}, nil},
	}
	for _, c := range cases {
		if got := names(c.f, c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	first, _ := e.s.ListZones(e.ctx, projA, dns.ZoneFilter{}, dns.Page{SortKey: "name", Limit: 2})
	if got := names(dns.ZoneFilter{}, dns.Page{SortKey: "name", Marker: first[1].ID}); !slices.Equal(got, []string{"c.com.", "d.net."}) {
		t.Errorf("after marker: %q", got)
	}
	if got := names(dns.ZoneFilter{}, dns.Page{SortKey: "name", SortDir: "desc", Marker: first[1].ID}); !slices.Equal(got, []string{"a.org."}) {
		t.Errorf("after marker, descending: %q", got)
	}
	b, _ := e.s.ListZones(e.ctx, projB, dns.ZoneFilter{}, dns.Page{})
	_, err := e.s.ListZones(e.ctx, projA, dns.ZoneFilter{}, dns.Page{Marker: b[0].ID})
	wantFault(t, "marker of another project's zone", err, fault.BadRequest, "marker")
	_, err = e.s.ListZones(e.ctx, projA, dns.ZoneFilter{}, dns.Page{SortKey: "email"})
	wantFault(t, "bad sort key", err, fault.BadRequest, "sort_key")
}

func testQuotas(t *testing.T, e *env) {
	if q, err := e.s.GetQuota(e.ctx, "a"); err != nil || q != dns.DefaultQuota() {
		t.Fatalf("default quota: %+v %v", q, err)
	}
	if q := dns.DefaultQuota(); q.Zones != 10 || q.ZoneRecordSets != 500 || q.ZoneRecords != 500 || q.RecordSetRecords != 20 || q.APIExportSize != 1000 {
		t.Errorf("Designate's defaults: %+v", q)
	}
	_, err := e.s.SetQuota(e.ctx, "a", map[string]int{"zones": 2, "bogus": 1})
	wantFault(t, "unknown resource", err, fault.BadRequest, "bogus")
	_, err = e.s.SetQuota(e.ctx, "a", map[string]int{"zones": -2})
	wantFault(t, "negative limit", err, fault.BadRequest, "zones")
	q, err := e.s.SetQuota(e.ctx, "a", map[string]int{"zones": 2, "recordset_records": 2, "zone_recordsets": 4, "zone_records": 7})
	if err != nil || q.Zones != 2 || q.RecordSetRecords != 2 || q.ZoneRecordSets != 4 || q.ZoneRecords != 7 || q.APIExportSize != 1000 {
		t.Fatalf("set: %+v %v", q, err)
	}
	z := e.zone(t, "a", "one.org.") // SOA + 2 NS: 2 recordsets, 3 records
	e.zone(t, "a", "two.org.")
	_, err = e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "three.org.", Email: "a@three.org"})
	wantFault(t, "zones", err, fault.TooLarge, "")
	if fault.TypeOf(err) != "over_quota" {
		t.Errorf("type %q", fault.TypeOf(err))
	}
	e.zone(t, "b", "three.org.") // b has its own quota
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "a.one.org.", Type: "A", Records: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}})
	wantFault(t, "recordset_records", err, fault.TooLarge, "")
	rs := e.recordSet(t, projA, z, "a.one.org.", "A", "192.0.2.1", "192.0.2.2") // 5 records
	e.recordSet(t, projA, z, "b.one.org.", "A", "192.0.2.1")                    // 4 recordsets, 6 records
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "c.one.org.", Type: "A", Records: []string{"192.0.2.1"}})
	wantFault(t, "zone_recordsets", err, fault.TooLarge, "")
	if _, err := e.s.SetQuota(e.ctx, "a", map[string]int{"zone_recordsets": -1}); err != nil {
		t.Fatal(err)
	}
	e.recordSet(t, projA, z, "c.one.org.", "A", "192.0.2.1") // 7 records
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "d.one.org.", Type: "A", Records: []string{"192.0.2.1"}})
	wantFault(t, "zone_records", err, fault.TooLarge, "")
	// An update may shrink a set and then grow it back, not past the limit.
	upd := rs
	upd.Records = []string{"192.0.2.1"}
	if rs, err = e.s.UpdateRecordSet(e.ctx, projA, upd); err != nil {
		t.Fatal(err)
	}
	upd = rs
	upd.Records = []string{"192.0.2.1", "192.0.2.2"}
	if rs, err = e.s.UpdateRecordSet(e.ctx, projA, upd); err != nil {
		t.Fatal(err)
	}
	upd = rs
	upd.Records = []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	_, err = e.s.UpdateRecordSet(e.ctx, projA, upd)
	wantFault(t, "update past recordset_records", err, fault.TooLarge, "")
	if err := e.s.ResetQuota(e.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if q, _ := e.s.GetQuota(e.ctx, "a"); q != dns.DefaultQuota() {
		t.Errorf("after reset: %+v", q)
	}
	// A project id Keystone could not issue is refused; resetting quotas
	// that were never set changes nothing, not even the feed.
	for _, bad := range []string{"", strings.Repeat("a", 65), "a b", "a/b", "ünï"} {
		_, err := e.s.SetQuota(e.ctx, bad, map[string]int{"zones": 1})
		wantFault(t, "set project "+bad, err, fault.BadRequest, "project_id")
		wantFault(t, "reset project "+bad, e.s.ResetQuota(e.ctx, bad), fault.BadRequest, "project_id")
	}
	head, _, err := e.feed.Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.ResetQuota(e.ctx, "never-set"); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := e.feed.Head(e.ctx); after != head {
		t.Errorf("an empty reset moved the feed from %d to %d", head, after)
	}
}
