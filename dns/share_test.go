package dns_test

import (
	"testing"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

var projC = dns.Viewer{Project: "c"}

// A zone shared with b: b sees it (Shared, in its lists and counts), sees
// every recordset of it and writes its own (owned by b, under a's
// quotas), not a's; c sees none of it. The share goes only once b's
// recordsets are gone; a shared zone is deleted or abandoned only with its
// shares; a transfer to b drops the share with b.
func testShares(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	www := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	e.zone(t, "b", "b.org.")
	rev, _, _ := e.feed.Head(e.ctx)

	_, err := e.s.ShareZone(e.ctx, projB, z.ID, "c")
	wantFault(t, "share another project's zone", err, fault.NotFound, "")
	_, err = e.s.ShareZone(e.ctx, projA, z.ID, "a")
	wantFault(t, "share with the owner", err, fault.BadRequest, "")
	_, err = e.s.ShareZone(e.ctx, projA, z.ID, "not a project")
	wantFault(t, "share with no project", err, fault.BadRequest, "target_project_id")
	sh, err := e.s.ShareZone(e.ctx, projA, z.ID, "b")
	if err != nil || sh.ZoneID != z.ID || sh.ProjectID != "a" || sh.TargetProjectID != "b" || sh.ID == "" || !sh.CreatedAt.Equal(e.now) {
		t.Fatalf("share: %+v %v", sh, err)
	}
	_, err = e.s.ShareZone(e.ctx, projA, z.ID, "b")
	if fault.KindOf(err) != fault.Conflict || fault.TypeOf(err) != "duplicate_shared_zone" {
		t.Errorf("share twice: %v", err)
	}
	if kinds := feedKinds(t, e, rev); len(kinds) != 1 || kinds["shared_zone create"] != 1 {
		t.Errorf("feed of a share: %v", kinds)
	}

	// Who sees the zone and the share.
	for _, v := range []dns.Viewer{projA, projB} {
		got, err := e.s.GetZone(e.ctx, v, z.ID)
		if err != nil || !got.Shared {
			t.Errorf("%s gets the zone: %+v %v", v.Project, got, err)
		}
		if _, err := e.s.GetZoneShare(e.ctx, v, z.ID, sh.ID); err != nil {
			t.Errorf("%s gets the share: %v", v.Project, err)
		}
		if l, err := e.s.ListZoneShares(e.ctx, v, z.ID, ""); err != nil || len(l) != 1 {
			t.Errorf("%s lists the shares: %+v %v", v.Project, l, err)
		}
	}
	if _, err := e.s.GetZone(e.ctx, projC, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("c gets the zone: %v", err)
	}
	if _, err := e.s.GetZoneShare(e.ctx, projC, z.ID, sh.ID); fault.TypeOf(err) != "shared_zone_not_found" {
		t.Errorf("c gets the share: %v", err)
	}
	if l, err := e.s.ListZoneShares(e.ctx, projC, z.ID, ""); err != nil || len(l) != 0 {
		t.Errorf("c lists the shares: %+v %v", l, err)
	}
	if l, _ := e.s.ListZoneShares(e.ctx, projA, z.ID, "c"); len(l) != 0 {
		t.Errorf("shares with c: %+v", l)
	}
	zs, err := e.s.ListZones(e.ctx, projB, dns.ZoneFilter{}, dns.Page{SortKey: "name"})
	if err != nil || len(zs) != 2 || zs[1].ID != z.ID || !zs[1].Shared || zs[0].Shared {
		t.Errorf("b's zones: %+v %v", zs, err)
	}
	if n, err := e.s.CountZones(e.ctx, projB, dns.ZoneFilter{}); err != nil || n != 2 {
		t.Errorf("b counts %d zones (%v)", n, err)
	}
	if n, _ := e.s.CountZones(e.ctx, projC, dns.ZoneFilter{}); n != 0 {
		t.Errorf("c counts %d zones", n)
	}

	// Recordsets: b writes its own, sees all, writes none of a's.
	mine := e.recordSet(t, projB, z, "b.example.org.", "A", "192.0.2.2")
	if mine.ProjectID != "b" {
		t.Errorf("b's recordset belongs to %s", mine.ProjectID)
	}
	if _, err := e.s.GetRecordSet(e.ctx, projB, z.ID, www.ID); err != nil {
		t.Errorf("b gets a's recordset: %v", err)
	}
	if _, err := e.s.GetRecordSet(e.ctx, projA, "", mine.ID); err != nil {
		t.Errorf("a gets b's recordset: %v", err)
	}
	if _, err := e.s.GetRecordSet(e.ctx, projC, "", mine.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("c gets b's recordset: %v", err)
	}
	for _, v := range []dns.Viewer{projA, projB} {
		sets, err := e.s.ListRecordSets(e.ctx, v, z.ID, dns.RecordSetFilter{}, dns.Page{})
		if n, _ := e.s.CountRecordSets(e.ctx, v, z.ID, dns.RecordSetFilter{}); err != nil || len(sets) != 4 || n != 4 {
			t.Errorf("%s lists the zone's recordsets: %d, counts %d (%v)", v.Project, len(sets), n, err)
		}
	}
	if own, _ := e.s.ListRecordSets(e.ctx, projB, "", dns.RecordSetFilter{Type: "A"}, dns.Page{}); len(own) != 1 || own[0].ID != mine.ID {
		t.Errorf("b's recordsets across zones: %+v", own)
	}
	if _, err := e.s.ListRecordSets(e.ctx, projC, z.ID, dns.RecordSetFilter{}, dns.Page{}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("c lists the zone's recordsets: %v", err)
	}
	upd := www
	upd.Records = []string{"192.0.2.9"}
	_, err = e.s.UpdateRecordSet(e.ctx, projB, upd)
	wantFault(t, "b updates a's recordset", err, fault.Forbidden, "")
	_, err = e.s.DeleteRecordSet(e.ctx, projB, z.ID, www.ID)
	wantFault(t, "b deletes a's recordset", err, fault.Forbidden, "")
	_, err = e.s.CreateRecordSet(e.ctx, projC, z.ID, dns.RecordSet{Name: "c.example.org.", Type: "A", Records: []string{"192.0.2.3"}})
	wantFault(t, "c writes into the zone", err, fault.NotFound, "")
	mineUpd := mine
	mineUpd.Records = []string{"192.0.2.4"}
	if mine, err = e.s.UpdateRecordSet(e.ctx, projB, mineUpd); err != nil {
		t.Fatalf("b updates its recordset: %v", err)
	}
	// b cannot change the zone itself.
	_, err = e.s.UpdateZone(e.ctx, projB, z)
	wantFault(t, "b updates the zone", err, fault.NotFound, "")
	_, err = e.s.DeleteZone(e.ctx, projB, z.ID)
	wantFault(t, "b deletes the zone", err, fault.NotFound, "")
	_, err = e.s.ShareZone(e.ctx, projB, z.ID, "c")
	wantFault(t, "b shares on", err, fault.NotFound, "")
	err = e.s.UnshareZone(e.ctx, projB, z.ID, sh.ID)
	wantFault(t, "b unshares", err, fault.NotFound, "")

	// The share goes once b's recordsets are gone; the zone with its shares.
	err = e.s.UnshareZone(e.ctx, projA, z.ID, sh.ID)
	if fault.TypeOf(err) != "shared_zone_has_recordsets" {
		t.Errorf("unshare with b's recordsets: %v", err)
	}
	_, err = e.s.DeleteZone(e.ctx, projA, z.ID)
	if fault.TypeOf(err) != "zone_is_shared" {
		t.Errorf("delete a shared zone: %v", err)
	}
	_, err = e.s.AbandonZone(e.ctx, adminAll, z.ID, dns.DeleteOptions{})
	if fault.TypeOf(err) != "zone_is_shared" {
		t.Errorf("abandon a shared zone: %v", err)
	}
	if _, err := e.s.DeleteRecordSet(e.ctx, projB, z.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.UnshareZone(e.ctx, projA, z.ID, sh.ID); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	if _, err := e.s.GetZone(e.ctx, projB, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("b gets the zone after the unshare: %v", err)
	}
	if got, _ := e.s.GetZone(e.ctx, projA, z.ID); got.Shared {
		t.Errorf("the zone is still shared")
	}
	if _, err := e.s.ShareZone(e.ctx, projA, z.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ShareZone(e.ctx, projA, z.ID, "c"); err != nil {
		t.Fatal(err)
	}
	rev, _, _ = e.feed.Head(e.ctx)
	d, err := e.s.DeleteZoneWith(e.ctx, projA, z.ID, dns.DeleteOptions{Shares: true})
	if err != nil || d.Action != dns.ActionDelete {
		t.Fatalf("delete with the shares: %+v %v", d, err)
	}
	if kinds := feedKinds(t, e, rev); kinds["shared_zone delete"] != 2 || kinds["zone update"] != 1 {
		t.Errorf("feed of a delete with shares: %v", kinds)
	}
	if l, _ := e.s.ListZoneShares(e.ctx, projA, z.ID, ""); len(l) != 0 {
		t.Errorf("shares after the delete: %+v", l)
	}
	_, err = e.s.ShareZone(e.ctx, projA, z.ID, "b")
	wantFault(t, "share a zone being deleted", err, fault.BadRequest, "")

	// Abandoned with its shares; and a transfer to the project the zone
	// is shared with drops that share only.
	ab := e.zone(t, "a", "abandoned.org.")
	if _, err := e.s.ShareZone(e.ctx, projA, ab.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AbandonZone(e.ctx, projA, ab.ID, dns.DeleteOptions{Shares: true}); err != nil {
		t.Fatalf("abandon with the shares: %v", err)
	}
	moved := e.zone(t, "a", "moved.org.")
	for _, p := range []string{"b", "c"} {
		if _, err := e.s.ShareZone(e.ctx, projA, moved.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := e.s.CreateTransferRequest(e.ctx, projA, moved.ID, dns.TransferRequest{TargetProjectID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AcceptTransfer(e.ctx, projB, tr.ID, tr.Key); err != nil {
		t.Fatal(err)
	}
	l, err := e.s.ListZoneShares(e.ctx, projB, moved.ID, "")
	if err != nil || len(l) != 1 || l[0].TargetProjectID != "c" || l[0].ProjectID != "b" {
		t.Errorf("shares after the transfer to b: %+v %v", l, err)
	}
}
