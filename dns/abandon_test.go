package dns_test

import (
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

// AbandonZone removes a live zone, or one being deleted, at once: DELETED,
// its recordsets gone, no longer served, its name free again, one zone
// delete in the feed. Another project's zone, a zone with subzones and a
// zone already gone are refused and left as they were.
func testZoneAbandon(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	sub := e.zone(t, "a", "sub.example.org.")
	other := e.zone(t, "b", "other.org.")
	z, err := e.s.GetZone(e.ctx, projA, z.ID)
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.s.AbandonZone(e.ctx, projB, z.ID, dns.DeleteOptions{})
	wantFault(t, "abandon another project's zone", err, fault.NotFound, "")
	_, err = e.s.AbandonZone(e.ctx, projA, z.ID, dns.DeleteOptions{})
	if fault.TypeOf(err) != "zone_has_sub_zone" {
		t.Errorf("abandon a zone with a subzone: %v", err)
	}
	if got, err := e.s.GetZone(e.ctx, projA, z.ID); err != nil || got.Status != dns.Pending || got.Version != z.Version {
		t.Fatalf("the refused zone changed: %+v %v", got, err)
	}

	rev, _, _ := e.feed.Head(e.ctx)
	gone, err := e.s.AbandonZone(e.ctx, projA, sub.ID, dns.DeleteOptions{})
	if err != nil || gone.Status != dns.Deleted || gone.Action != dns.ActionNone || gone.ID != sub.ID {
		t.Fatalf("abandon: %+v %v", gone, err)
	}
	if kinds := feedKinds(t, e, rev); len(kinds) != 1 || kinds["zone delete"] != 1 {
		t.Errorf("feed of an abandon: %v", kinds)
	}
	if _, err := e.s.AbandonZone(e.ctx, projA, sub.ID, dns.DeleteOptions{}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("abandon twice: %v", err)
	}

	// Once the subzone is gone the zone goes too, with its recordsets,
	// while its deletion waits for the nameservers.
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AbandonZone(e.ctx, projA, z.ID, dns.DeleteOptions{}); err != nil {
		t.Fatalf("abandon a zone being deleted: %v", err)
	}
	if _, err := e.s.GetZone(e.ctx, projA, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an abandoned zone is still found: %v", err)
	}
	if _, err := e.s.GetRecordSet(e.ctx, projA, "", rs.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a recordset of an abandoned zone is still found: %v", err)
	}
	if dz, err := e.s.Deleting(e.ctx); err != nil || len(dz) != 0 {
		t.Errorf("an abandoned zone is still being deleted: %+v %v", dz, err)
	}
	if _, err := e.s.FinishDelete(e.ctx, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("finish the deletion of an abandoned zone: %v", err)
	}
	served, err := e.s.ServedZones(e.ctx)
	if err != nil || len(served) != 1 || served[0].Zone.ID != other.ID {
		t.Errorf("served after the abandons: %+v %v", served, err)
	}
	// The name is free again, and the other project's zone is untouched.
	e.zone(t, "b", "example.org.")
	if got, err := e.s.GetZone(e.ctx, projB, other.ID); err != nil || got.Status != dns.Pending {
		t.Errorf("the other project's zone: %+v %v", got, err)
	}
	// An admin for every project abandons anyone's zone.
	if _, err := e.s.AbandonZone(e.ctx, adminAll, other.ID, dns.DeleteOptions{}); err != nil {
		t.Errorf("admin abandon: %v", err)
	}
}

// AskTransfer moves a SECONDARY zone's AskedAt forward (also twice in the
// same microsecond) with a zone update in the feed and nothing else of the
// zone changed; a PRIMARY zone, another project's zone and a zone being
// deleted are refused, unchanged.
func testAskTransfer(t *testing.T, e *env) {
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "sec.test.", Type: dns.Secondary, Masters: []string{"192.0.2.53"}})
	if err != nil {
		t.Fatal(err)
	}
	asked := func() time.Time {
		t.Helper()
		sz, err := e.s.SecondaryZones(e.ctx)
		if err != nil || len(sz) != 1 {
			t.Fatalf("secondary zones: %+v %v", sz, err)
		}
		return sz[0].AskedAt
	}
	if !asked().IsZero() {
		t.Fatalf("asked before any request: %v", asked())
	}
	rev, _, _ := e.feed.Head(e.ctx)
	got, err := e.s.AskTransfer(e.ctx, projA, z.ID)
	if err != nil || got.ID != z.ID || got.Version != z.Version || got.Status != z.Status {
		t.Fatalf("ask: %+v %v", got, err)
	}
	first := asked()
	if !first.Equal(e.now) {
		t.Errorf("asked at %v, want %v", first, e.now)
	}
	if _, err := e.s.AskTransfer(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	if second := asked(); !second.After(first) {
		t.Errorf("a second request at the same time did not move AskedAt: %v then %v", first, second)
	}
	if kinds := feedKinds(t, e, rev); len(kinds) != 1 || kinds["zone update"] != 2 {
		t.Errorf("feed: %v", kinds)
	}
	if cur, err := e.s.GetZone(e.ctx, projA, z.ID); err != nil || cur.Version != z.Version || !cur.UpdatedAt.Equal(z.UpdatedAt) {
		t.Errorf("the zone changed: %+v %v", cur, err)
	}

	before := asked()
	_, err = e.s.AskTransfer(e.ctx, projB, z.ID)
	wantFault(t, "another project's zone", err, fault.NotFound, "")
	primary := e.zone(t, "a", "primary.test.")
	_, err = e.s.AskTransfer(e.ctx, projA, primary.ID)
	if fe, ok := err.(*fault.Error); !ok || fe.Kind != fault.BadRequest || fe.Type != "bad_request" ||
		fe.Message != "Can't XFR a non Secondary zone." {
		t.Errorf("a primary zone: %v", err)
	}
	if !asked().Equal(before) {
		t.Errorf("a refused request moved AskedAt")
	}
	if _, err := e.s.Transferred(e.ctx, z.ID, mustRRs(t, "sec.test. 300 IN SOA ns1.master.example. h.sec.test. 7 60 30 600 120")); err != nil {
		t.Fatal(err)
	}
	if sz, _ := e.s.SecondaryZones(e.ctx); !sz[0].AskedAt.Equal(before) || !sz[0].Loaded {
		t.Errorf("a transfer changed AskedAt: %+v", sz[0])
	}
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AskTransfer(e.ctx, projA, z.ID)
	wantFault(t, "a zone being deleted", err, fault.BadRequest, "")
}
