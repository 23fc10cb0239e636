package dns_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
)

// text is an RR in one line with single spaces.
func text(rr mdns.RR) string { return strings.Join(strings.Fields(rr.String()), " ") }

func testServed(t *testing.T, e *env) {
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "example.org.", Email: "john.doe@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1", "192.0.2.2")
	e.recordSet(t, projA, z, "example.org.", "TXT", "v=spf1 -all")
	if _, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "example.org.", Type: "MX", TTL: ptr(60), Records: []string{"10 mail.example.org."}}); err != nil {
		t.Fatal(err)
	}
	e.recordSet(t, projA, z, "sub.example.org.", "NS", "ns.elsewhere.net.")
	if _, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "sec.test.", Type: dns.Secondary, Masters: []string{"192.0.2.53"}}); err != nil {
		t.Fatal(err)
	}
	gone := e.zone(t, "b", "gone.test.")
	if _, err := e.s.DeleteZone(e.ctx, projB, gone.ID); err != nil {
		t.Fatal(err)
	}
	bumped, err := e.s.BumpSerials(e.ctx)
	if err != nil || len(bumped) != 1 {
		t.Fatalf("bump: %+v %v", bumped, err)
	}
	served, rev, err := e.s.ServedZonesAt(e.ctx)
	if err != nil || len(served) != 1 {
		t.Fatalf("served: %+v %v", served, err)
	}
	if head, _, _ := e.feed.Head(e.ctx); rev != head {
		t.Errorf("snapshot revision %d, feed head %d", rev, head)
	}
	sz := served[0]
	if sz.Zone.ID != z.ID || sz.Zone.Serial != bumped[0].Serial || !slices.Equal(sz.Nameservers, []string{"ns1.example.net.", "ns2.example.net."}) {
		t.Fatalf("served zone: %+v", sz)
	}
	rrs, err := sz.RRs()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf(`example.org. 300 IN SOA ns1.example.net. john\.doe.example.org. %d 3600 600 86400 3600`, sz.Zone.Serial),
		"example.org. 300 IN NS ns1.example.net.",
		"example.org. 300 IN NS ns2.example.net.",
		"example.org. 60 IN MX 10 mail.example.org.",
		`example.org. 300 IN TXT "v=spf1" "-all"`,
		"sub.example.org. 300 IN NS ns.elsewhere.net.",
		"www.example.org. 300 IN A 192.0.2.1",
		"www.example.org. 300 IN A 192.0.2.2",
	}
	var got []string
	for _, rr := range rrs {
		got = append(got, text(rr))
		// What RRs builds is what a zone file parser reads back.
		back, err := mdns.NewRR(rr.String())
		if err != nil || !mdns.IsDuplicate(rr, back) || back.Header().Ttl != rr.Header().Ttl {
			t.Errorf("round trip of %q: %v %v", rr, back, err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("RRs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	soa := rrs[0].(*mdns.SOA)
	if soa.Serial != sz.Zone.Serial || soa.Minttl != 3600 || soa.Hdr.Rrtype != mdns.TypeSOA {
		t.Errorf("SOA %+v", soa)
	}
	one, err := e.s.Served(e.ctx, z.ID)
	if err != nil || len(one.RecordSets) != len(sz.RecordSets) {
		t.Errorf("served one: %+v %v", one, err)
	}
	all, _ := e.s.ServedZones(e.ctx)
	if len(all) != 1 {
		t.Errorf("ServedZones: %d zones", len(all))
	}
	_, err = e.s.Served(e.ctx, gone.ID)
	wantFault(t, "served: zone being deleted", err, fault.NotFound, "")
	if _, err := (dns.ServedZone{Zone: z}).RRs(); err == nil {
		t.Error("RRs without nameservers")
	}
}

func testPoolChange(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	e.s.MarkActive(e.ctx, z.ID, z.Serial)
	before, _ := e.s.GetPool(e.ctx, dns.DefaultPoolID)
	if p, err := e.s.EnsureDefaultPool(e.ctx, []string{"NS1.example.net.", "ns2.example.net."}); err != nil || p.Version != before.Version {
		t.Errorf("same nameservers wrote: %+v %v", p, err)
	}
	p, err := e.s.EnsureDefaultPool(e.ctx, []string{"ns3.example.net.", "ns1.example.net."})
	if err != nil || p.Version != before.Version+1 || p.NSRecords[0] != (dns.NSRecord{Hostname: "ns3.example.net.", Priority: 1}) {
		t.Fatalf("new nameservers: %+v %v", p, err)
	}
	got, _ := e.s.GetZone(e.ctx, projA, z.ID)
	if !got.SerialPending || got.Status != dns.Pending {
		t.Errorf("zone after a pool change: %+v", got)
	}
	ns, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{Type: "NS"}, dns.Page{})
	if len(ns) != 1 || !slices.Equal(ns[0].Records, []string{"ns3.example.net.", "ns1.example.net."}) || ns[0].Status != dns.Pending {
		t.Errorf("apex NS after a pool change: %+v", ns)
	}
	e.s.BumpSerials(e.ctx)
	if soa := soaOf(t, e, z); !strings.HasPrefix(soa, "ns3.example.net. ") {
		t.Errorf("SOA MNAME after a pool change: %q", soa)
	}
	_, err = e.s.EnsureDefaultPool(e.ctx, []string{"ns"})
	wantFault(t, "relative nameserver", err, fault.BadRequest, "ns_records")
	_, err = e.s.UpdatePool(e.ctx, before)
	wantFault(t, "stale pool version", err, fault.Conflict, "")
	p.AlsoNotifies = []string{"192.0.2.7", "[2001:db8::7]:5300"}
	if p, err = e.s.UpdatePool(e.ctx, p); err != nil || !slices.Equal(p.AlsoNotifies, []string{"192.0.2.7:53", "[2001:db8::7]:5300"}) {
		t.Errorf("also_notifies: %+v %v", p, err)
	}
	p.AlsoNotifies = []string{"ns.example.org:0"}
	_, err = e.s.UpdatePool(e.ctx, p)
	wantFault(t, "bad also_notifies", err, fault.BadRequest, "also_notifies")
	_, err = e.s.CreatePool(e.ctx, dns.Pool{Name: "default"})
	wantFault(t, "duplicate pool", err, fault.Conflict, "")
	empty, err := e.s.CreatePool(e.ctx, dns.Pool{Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "other.org.", Email: "a@other.org", PoolID: empty.ID})
	wantFault(t, "zone in a pool without nameservers", err, fault.Unavailable, "")
	if ps, _ := e.s.ListPools(e.ctx); len(ps) != 2 {
		t.Errorf("%d pools", len(ps))
	}
}

func testTSIGKeys(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	good := dns.TSIGKey{Name: "xfr", Algorithm: "HMAC-SHA256", Secret: "c2VjcmV0LXNlY3JldA==", Scope: dns.ScopePool, ResourceID: dns.DefaultPoolID}
	bad := func(f func(*dns.TSIGKey)) dns.TSIGKey {
		k := good
		f(&k)
		return k
	}
	for field, k := range map[string]dns.TSIGKey{
		"name":        bad(func(k *dns.TSIGKey) { k.Name = "" }),
		"algorithm":   bad(func(k *dns.TSIGKey) { k.Algorithm = "hmac-foo" }),
		"secret":      bad(func(k *dns.TSIGKey) { k.Secret = "not base64!" }),
		"scope":       bad(func(k *dns.TSIGKey) { k.Scope = "PROJECT" }),
		"resource_id": bad(func(k *dns.TSIGKey) { k.Scope, k.ResourceID = dns.ScopeZone, "nope" }),
	} {
		_, err := e.s.CreateTSIGKey(e.ctx, k)
		wantFault(t, "tsig "+field, err, fault.BadRequest, field)
	}
	k, err := e.s.CreateTSIGKey(e.ctx, good)
	if err != nil || k.Algorithm != "hmac-sha256" || k.Version != 1 {
		t.Fatalf("create: %+v %v", k, err)
	}
	_, err = e.s.CreateTSIGKey(e.ctx, good)
	wantFault(t, "duplicate key name", err, fault.Conflict, "")
	zk, err := e.s.CreateTSIGKey(e.ctx, dns.TSIGKey{Name: "zone", Algorithm: "hmac-sha512", Secret: good.Secret, Scope: dns.ScopeZone, ResourceID: z.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ks, _ := e.s.ListTSIGKeys(e.ctx, dns.ScopeZone, ""); len(ks) != 1 || ks[0].ID != zk.ID || ks[0].Secret != good.Secret {
		t.Errorf("list zone keys: %+v", ks)
	}
	if ks, _ := e.s.ListTSIGKeys(e.ctx, "", ""); len(ks) != 2 {
		t.Errorf("list: %+v", ks)
	}
	k.Secret = "bmV3LXNlY3JldA=="
	k2, err := e.s.UpdateTSIGKey(e.ctx, k)
	if err != nil || k2.Version != 2 || k2.Secret != k.Secret {
		t.Fatalf("update: %+v %v", k2, err)
	}
	_, err = e.s.UpdateTSIGKey(e.ctx, k)
	wantFault(t, "stale key version", err, fault.Conflict, "")
	k2.Name = "zone"
	_, err = e.s.UpdateTSIGKey(e.ctx, k2)
	wantFault(t, "rename onto another key", err, fault.Conflict, "")
	if err := e.s.DeleteTSIGKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetTSIGKey(e.ctx, k.ID)
	wantFault(t, "get deleted key", err, fault.NotFound, "")
	wantFault(t, "delete twice", e.s.DeleteTSIGKey(e.ctx, k.ID), fault.NotFound, "")
	// Secrets stay out of the feed.
	b, _ := e.feed.Since(e.ctx, watch.Query{Area: "dns"})
	for _, c := range b.Changes {
		if c.Kind == "tsigkey" && (strings.Contains(string(c.Data), good.Secret) || strings.Contains(string(c.Data), k.Secret)) {
			t.Errorf("secret in the feed: %s", c.Data)
		}
	}
}

func testFeed(t *testing.T, e *env) {
	start, _, _ := e.feed.Head(e.ctx)
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	rs.Records = []string{"192.0.2.2"}
	if _, err := e.s.UpdateRecordSet(e.ctx, projA, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeleteRecordSet(e.ctx, projA, z.ID, rs.ID); err != nil {
		t.Fatal(err)
	}
	e.s.BumpSerials(e.ctx)
	e.s.DeleteZone(e.ctx, projA, z.ID)
	e.s.FinishDelete(e.ctx, z.ID)
	e.s.SetQuota(e.ctx, "a", map[string]int{"zones": 5})
	b, err := e.feed.Since(e.ctx, watch.Query{Area: "dns", Since: start})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range b.Changes {
		got = append(got, c.Kind+" "+string(c.Op))
		if c.Project != "a" {
			t.Errorf("change without the project: %+v", c)
		}
	}
	want := []string{
		"zone create", "recordset create", "recordset create", // the zone with its SOA and NS
		"zone update", "recordset create",
		"zone update", "recordset update",
		"zone update", "recordset delete",
		"zone update",                // BumpSerials
		"zone update", "zone delete", // DeleteZone, FinishDelete
		"quota update",
	}
	if !slices.Equal(got, want) {
		t.Errorf("feed:\n%q\nwant\n%q", got, want)
	}
	var fz dns.Zone
	if err := json.Unmarshal(b.Changes[0].Data, &fz); err != nil || fz.ID != z.ID || fz.Name != "example.org." || fz.Serial != z.Serial {
		t.Errorf("zone create data: %s %v", b.Changes[0].Data, err)
	}
	var frs dns.RecordSet
	if err := json.Unmarshal(b.Changes[6].Data, &frs); err != nil || frs.ID != rs.ID || !slices.Equal(frs.Records, []string{"192.0.2.2"}) {
		t.Errorf("recordset update data: %s %v", b.Changes[6].Data, err)
	}
}
