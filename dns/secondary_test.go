package dns_test

import (
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

func mustRRs(t *testing.T, lines ...string) []mdns.RR {
	t.Helper()
	var out []mdns.RR
	for _, l := range lines {
		rr, err := mdns.NewRR(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

// A SECONDARY zone is not served until a transfer gives it its content;
// Transferred stores the master's zone (SOA, NS and all, names outside
// the zone dropped), the zone taking the SOA's serial and timers, PENDING;
// a second transfer keeps the ids of the recordsets that stay.
func testSecondary(t *testing.T, e *env) {
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "sec.test.", Type: dns.Secondary, Masters: []string{"192.0.2.53"}})
	if err != nil {
		t.Fatal(err)
	}
	sz, err := e.s.SecondaryZones(e.ctx)
	if err != nil || len(sz) != 1 || sz[0].Loaded || sz[0].Zone.ID != z.ID {
		t.Fatalf("secondary zones before a transfer: %+v %v", sz, err)
	}
	if _, err := e.s.Served(e.ctx, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("served before a transfer: %v", err)
	}
	rev, _, _ := e.feed.Head(e.ctx)
	v1 := mustRRs(t,
		"sec.test. 300 IN SOA ns1.master.example. hostmaster.sec.test. 7 60 30 600 120",
		"sec.test. 300 IN NS ns1.master.example.",
		"www.sec.test. 60 IN A 192.0.2.1",
		"www.sec.test. 60 IN A 192.0.2.2",
		"old.sec.test. 60 IN TXT \"gone soon\"",
		"elsewhere.example. 60 IN A 192.0.2.99")
	got, err := e.s.Transferred(e.ctx, z.ID, v1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 7 || got.Refresh != 60 || got.Retry != 30 || got.Expire != 600 || got.Minimum != 120 || got.TTL != 300 ||
		got.Email != "hostmaster@sec.test" || got.Status != dns.Pending || got.Action != dns.ActionCreate || got.SerialPending {
		t.Fatalf("after the first transfer: %+v", got)
	}
	sets, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{})
	byName := map[string]dns.RecordSet{}
	for _, rs := range sets {
		byName[rs.Name+" "+rs.Type] = rs
	}
	if len(sets) != 4 || !slices.Equal(byName["www.sec.test. A"].Records, []string{"192.0.2.1", "192.0.2.2"}) ||
		*byName["www.sec.test. A"].TTL != 60 || byName["sec.test. SOA"].Records[0] != "ns1.master.example. hostmaster.sec.test. 7 60 30 600 120" {
		t.Fatalf("recordsets after the first transfer: %+v", sets)
	}
	served, err := e.s.Served(e.ctx, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	rrs, err := served.RRs()
	if err != nil || len(rrs) != 5 || rrs[0].Header().Rrtype != mdns.TypeSOA || rrs[0].(*mdns.SOA).Ns != "ns1.master.example." {
		t.Fatalf("served: %v %v", rrs, err)
	}
	if sz, _ := e.s.SecondaryZones(e.ctx); !sz[0].Loaded || sz[0].Zone.Serial != 7 {
		t.Errorf("after a transfer: %+v", sz)
	}
	if _, err := e.s.MarkActive(e.ctx, z.ID, 7); err != nil {
		t.Fatal(err)
	}

	v2 := mustRRs(t,
		"sec.test. 300 IN SOA ns1.master.example. hostmaster.sec.test. 8 60 30 600 120",
		"sec.test. 300 IN NS ns1.master.example.",
		"www.sec.test. 60 IN A 192.0.2.1",
		"www.sec.test. 60 IN A 192.0.2.3",
		"new.sec.test. 60 IN AAAA 2001:db8::1")
	got, err = e.s.Transferred(e.ctx, z.ID, v2)
	if err != nil || got.Serial != 8 || got.Status != dns.Pending || got.Action != dns.ActionUpdate {
		t.Fatalf("second transfer: %+v %v", got, err)
	}
	after, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{})
	ids := map[string]string{}
	for _, rs := range after {
		ids[rs.Name+" "+rs.Type] = rs.ID
	}
	if len(after) != 4 || ids["www.sec.test. A"] != byName["www.sec.test. A"].ID || ids["sec.test. NS"] != byName["sec.test. NS"].ID ||
		ids["old.sec.test. TXT"] != "" || ids["new.sec.test. AAAA"] == "" {
		t.Errorf("recordsets after the second transfer: %v", ids)
	}
	kinds := feedKinds(t, e, rev)
	if kinds["zone update"] < 3 || kinds["recordset delete"] != 1 || kinds["recordset create"] != 5 || kinds["recordset update"] != 2 {
		t.Errorf("feed: %v", kinds)
	}
	// Members cannot write a secondary zone's recordsets.
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "x.sec.test.", Type: "A", Records: []string{"192.0.2.5"}})
	if fault.KindOf(err) != fault.BadRequest {
		t.Errorf("a recordset written into a secondary zone: %v", err)
	}

	_, err = e.s.Transferred(e.ctx, z.ID, mustRRs(t, "www.sec.test. 60 IN A 192.0.2.1"))
	if fault.KindOf(err) != fault.BadRequest || !strings.Contains(err.Error(), "no SOA") {
		t.Errorf("a transfer without the SOA: %v", err)
	}
	primary := e.zone(t, "a", "primary.test.")
	if _, err := e.s.Transferred(e.ctx, primary.ID, v1); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a transfer into a primary zone: %v", err)
	}
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Transferred(e.ctx, z.ID, v2); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a transfer into a zone being deleted: %v", err)
	}
	if sz, _ := e.s.SecondaryZones(e.ctx); len(sz) != 0 {
		t.Errorf("secondary zones after the delete: %+v", sz)
	}
}
