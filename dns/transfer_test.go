package dns_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
)

// TestZoneTasks runs the tests of transfers, imports, exports, TLDs,
// blacklists and service statuses on SQLite and PostgreSQL, each on a
// fresh database.
func TestZoneTasks(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"transfer", testTransfer},
		{"transfer refused", testTransferRefused},
		{"transfer quota", testTransferQuota},
		{"import", testImport},
		{"import refused", testImportRefused},
		{"export", testExport},
		{"tlds", testTLDs},
		{"tld zones", testTLDZones},
		{"blacklists", testBlacklists},
		{"service statuses", testServiceStatuses},
	}
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, eng.New(t))) })
			}
		})
	}
}

var keyPattern = regexp.MustCompile(`^[A-Z0-9]{8}$`)

// A targeted request: seen by its owner and its target only; accepted
// with its key, it moves the zone and every recordset to the target at
// once, keeps the zone's serial and content, and is COMPLETE.
func testTransfer(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	if _, err := e.s.BumpSerials(e.ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := e.s.GetZone(e.ctx, projA, z.ID)
	tr, err := e.s.CreateTransferRequest(e.ctx, projA, z.ID, dns.TransferRequest{TargetProjectID: "b", Description: "to b"})
	if err != nil {
		t.Fatal(err)
	}
	if !keyPattern.MatchString(tr.Key) || tr.Status != dns.TransferActive || tr.ProjectID != "a" || tr.ZoneName != "example.org." {
		t.Fatalf("request: %+v", tr)
	}
	projC := dns.Viewer{Project: "c"}
	for _, v := range []dns.Viewer{projA, projB, adminAll} {
		if got, err := e.s.GetTransferRequest(e.ctx, v, tr.ID); err != nil || got.Key != tr.Key {
			t.Errorf("get as %+v: %+v %v", v, got, err)
		}
		if l, err := e.s.ListTransferRequests(e.ctx, v, ""); err != nil || len(l) != 1 {
			t.Errorf("list as %+v: %v %v", v, l, err)
		}
	}
	_, err = e.s.GetTransferRequest(e.ctx, projC, tr.ID)
	wantFault(t, "get as another project", err, fault.NotFound, "")
	if l, _ := e.s.ListTransferRequests(e.ctx, projC, ""); len(l) != 0 {
		t.Errorf("list as another project: %v", l)
	}
	_, err = e.s.AcceptTransfer(e.ctx, projC, tr.ID, tr.Key)
	wantFault(t, "accept by another project", err, fault.NotFound, "")
	_, err = e.s.AcceptTransfer(e.ctx, projB, tr.ID, "WRONGKEY")
	wantFault(t, "wrong key", err, fault.Forbidden, "")
	if err := e.s.DeleteTransferRequest(e.ctx, projB, tr.ID); fault.KindOf(err) != fault.Forbidden {
		t.Errorf("delete by the target: %v", err)
	}

	rev, _, _ := e.feed.Head(e.ctx)
	e.tick(10 * time.Second)
	acc, err := e.s.AcceptTransfer(e.ctx, projB, tr.ID, tr.Key)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Status != dns.TransferComplete || acc.ZoneID != z.ID || acc.ProjectID != "b" || acc.RequestID != tr.ID {
		t.Fatalf("accept: %+v", acc)
	}
	b, err := e.feed.Since(e.ctx, watch.Query{Area: "dns", Since: rev})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, c := range b.Changes {
		kinds[c.Kind]++
		if c.Kind == "zone" && c.Project != "b" {
			t.Errorf("zone change for project %q", c.Project)
		}
	}
	if kinds["zone"] != 1 || kinds["recordset"] != 3 || kinds["transfer_request"] != 1 || kinds["transfer_accept"] != 1 {
		t.Errorf("feed after accept: %v", kinds)
	}
	moved, err := e.s.GetZone(e.ctx, projB, z.ID)
	if err != nil || moved.ProjectID != "b" || moved.Serial != before.Serial || moved.Status != before.Status || moved.SerialPending {
		t.Fatalf("zone after accept: %+v %v (before %+v)", moved, err, before)
	}
	if _, err := e.s.GetZone(e.ctx, projA, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("old owner still sees the zone: %v", err)
	}
	sets, err := e.s.ListRecordSets(e.ctx, projB, z.ID, dns.RecordSetFilter{}, dns.Page{})
	if err != nil || len(sets) != 3 {
		t.Fatalf("recordsets after accept: %v %v", sets, err)
	}
	for _, s := range sets {
		if s.ProjectID != "b" {
			t.Errorf("recordset %s %s still belongs to %s", s.Name, s.Type, s.ProjectID)
		}
	}
	if _, err := e.s.UpdateRecordSet(e.ctx, projB, dns.RecordSet{ID: rs.ID, ZoneID: z.ID, Version: rs.Version, Records: []string{"192.0.2.2"}}); err != nil {
		t.Errorf("the new owner cannot change a recordset: %v", err)
	}
	got, _ := e.s.GetTransferRequest(e.ctx, projA, tr.ID)
	if got.Status != dns.TransferComplete {
		t.Errorf("request after accept: %+v", got)
	}
	_, err = e.s.AcceptTransfer(e.ctx, projB, tr.ID, tr.Key)
	if f, _ := err.(*fault.Error); f == nil || f.Type != "invalid_zone_transfer_request" || f.Message != "Zone Transfer Request has been used" {
		t.Errorf("second accept: %v", err)
	}
	if a, err := e.s.GetTransferAccept(e.ctx, projB, acc.ID); err != nil || a.ID != acc.ID {
		t.Errorf("get accept: %+v %v", a, err)
	}
	_, err = e.s.GetTransferAccept(e.ctx, projA, acc.ID)
	wantFault(t, "accept seen by the old owner", err, fault.NotFound, "")
	if l, _ := e.s.ListTransferAccepts(e.ctx, projB, ""); len(l) != 1 {
		t.Errorf("list accepts: %v", l)
	}
}

// Requests that cannot be made or accepted change nothing.
func testTransferRefused(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	_, err := e.s.CreateTransferRequest(e.ctx, projB, z.ID, dns.TransferRequest{})
	wantFault(t, "another project's zone", err, fault.NotFound, "")
	_, err = e.s.CreateTransferRequest(e.ctx, projA, z.ID, dns.TransferRequest{TargetProjectID: "no spaces"})
	wantFault(t, "bad target", err, fault.BadRequest, "target_project_id")
	tr, err := e.s.CreateTransferRequest(e.ctx, projA, z.ID, dns.TransferRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateTransferRequest(e.ctx, projA, z.ID, dns.TransferRequest{})
	wantFault(t, "second active request", err, fault.Conflict, "")

	// Untargeted: anyone with the id may see it and accept it with the
	// key, but lists show it to its owner only.
	if _, err := e.s.GetTransferRequest(e.ctx, dns.Viewer{Project: "c"}, tr.ID); err != nil {
		t.Errorf("untargeted request by id: %v", err)
	}
	if l, _ := e.s.ListTransferRequests(e.ctx, projB, ""); len(l) != 0 {
		t.Errorf("untargeted request listed to another project: %v", l)
	}
	// The target can be set once, not changed.
	tr.TargetProjectID = "b"
	if tr, err = e.s.UpdateTransferRequest(e.ctx, projA, tr); err != nil || tr.TargetProjectID != "b" {
		t.Fatalf("set target: %+v %v", tr, err)
	}
	tr.TargetProjectID = "c"
	_, err = e.s.UpdateTransferRequest(e.ctx, projA, tr)
	wantFault(t, "change target", err, fault.BadRequest, "target_project_id")

	// A zone being deleted cannot be accepted.
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AcceptTransfer(e.ctx, projB, tr.ID, tr.Key)
	wantFault(t, "deleting zone", err, fault.BadRequest, "")
	if got, _ := e.s.GetTransferRequest(e.ctx, projA, tr.ID); got.Status != dns.TransferActive {
		t.Errorf("refused accept changed the request: %+v", got)
	}
	if err := e.s.DeleteTransferRequest(e.ctx, projA, tr.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetTransferRequest(e.ctx, projA, tr.ID)
	wantFault(t, "deleted request", err, fault.NotFound, "")
}

// The accepting project's zones quota applies; over it, nothing moves.
func testTransferQuota(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	e.zone(t, "b", "b.example.")
	if _, err := e.s.SetQuota(e.ctx, "b", map[string]int{"zones": 1}); err != nil {
		t.Fatal(err)
	}
	tr, err := e.s.CreateTransferRequest(e.ctx, projA, z.ID, dns.TransferRequest{TargetProjectID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AcceptTransfer(e.ctx, projB, tr.ID, tr.Key)
	wantFault(t, "over quota", err, fault.TooLarge, "")
	if got, err := e.s.GetZone(e.ctx, projA, z.ID); err != nil || got.ProjectID != "a" {
		t.Errorf("zone after refused accept: %+v %v", got, err)
	}
	if l, _ := e.s.ListTransferAccepts(e.ctx, adminAll, ""); len(l) != 0 {
		t.Errorf("accept stored: %v", l)
	}
}
