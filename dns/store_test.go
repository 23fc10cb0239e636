package dns_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	projA    = dns.Viewer{Project: "a"}
	projB    = dns.Viewer{Project: "b"}
	adminAll = dns.Viewer{Project: "ops", Admin: true, AllProjects: true}
)

// t0 is the fixed clock of the tests: serials start at its Unix seconds.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	s    *dns.Store
	feed *watch.Log
	ctx  context.Context
	now  time.Time
}

// newEnv opens a fresh database with the default pool's nameservers set
// and a clock the test moves with env.tick.
func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	e := &env{s: dns.NewStore(db, feed), feed: feed, ctx: ctx, now: t0}
	e.s.Now = func() time.Time { return e.now }
	if _, err := e.s.EnsureDefaultPool(ctx, []string{"ns1.example.net.", "ns2.example.net."}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) tick(d time.Duration) { e.now = e.now.Add(d) }

func (e *env) zone(t *testing.T, project, name string) dns.Zone {
	t.Helper()
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: project, Name: name, Email: "hostmaster@" + strings.TrimSuffix(name, "."), TTL: dns.DefaultTTL})
	if err != nil {
		t.Fatalf("create zone %s: %v", name, err)
	}
	return z
}

func (e *env) recordSet(t *testing.T, v dns.Viewer, z dns.Zone, name, typ string, records ...string) dns.RecordSet {
	t.Helper()
	rs, err := e.s.CreateRecordSet(e.ctx, v, z.ID, dns.RecordSet{Name: name, Type: typ, Records: records})
	if err != nil {
		t.Fatalf("create %s %s: %v", name, typ, err)
	}
	return rs
}

// wantFault fails unless err is a *fault.Error of kind k naming field
// (when field is not "").
func wantFault(t *testing.T, what string, err error, k fault.Kind, field string) {
	t.Helper()
	if fault.KindOf(err) != k || (field != "" && fault.FieldOf(err) != field) {
		t.Errorf("%s: got %v (kind %v, field %q), want kind %v field %q", what, err, fault.KindOf(err), fault.FieldOf(err), k, field)
	}
}

// TestStore runs every store test on SQLite and PostgreSQL, each on a
// fresh database.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"zone create", testZoneCreate},
		{"zone validation", testZoneValidation},
		{"zone tenancy", testTenancy},
		{"subzones", testSubzones},
		{"zone list", testZoneList},
		{"zone update", testZoneUpdate},
		{"zone delete", testZoneDelete},
		{"zone abandon", testZoneAbandon},
		{"shared zones", testShares},
		{"recordset create", testRecordSetLifecycle},
		{"recordset update", testRecordSetUpdate},
		{"recordset validation", testRecordSetValidation},
		{"recordset placement", testPlacement},
		{"recordset list", testRecordSetList},
		{"quotas", testQuotas},
		{"serials", testSerials},
		{"serial batches", testSerialBatch},
		{"serial race", testSerialRace},
		{"served zones", testServed},
		{"pool nameservers", testPoolChange},
		{"pools", testPools},
		{"secondary zones", testSecondary},
		{"secondary transfer asked", testAskTransfer},
		{"tsig keys", testTSIGKeys},
		{"feed", testFeed},
	}
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, eng.New(t))) })
			}
		})
	}
}

func testZoneCreate(t *testing.T, e *env) {
	// TTL 0 is a TTL, as in Designate: the caller sets DefaultTTL for the default.
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "Example.ORG.", Email: "john.doe@example.org", Description: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "example.org." || z.Status != dns.Pending || z.Action != dns.ActionCreate || z.Type != dns.Primary ||
		z.Serial != uint32(t0.Unix()) || z.TTL != 0 || z.PoolID != dns.DefaultPoolID || z.Version != 1 || z.ID == "" {
		t.Fatalf("created %+v", z)
	}
	got, err := e.s.GetZone(e.ctx, projA, z.ID)
	if err != nil || got.Name != z.Name || got.Email != z.Email || got.Description != "mine" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("get: %+v %v", got, err)
	}
	// The SOA and apex NS recordsets are created with the zone.
	sets, err := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{SortKey: "type"})
	if err != nil || len(sets) != 2 {
		t.Fatalf("recordsets: %+v %v", sets, err)
	}
	ns, soa := sets[0], sets[1]
	if ns.Type != "NS" || strings.Join(ns.Records, ",") != "ns1.example.net.,ns2.example.net." || !ns.Managed() {
		t.Errorf("NS: %+v", ns)
	}
	wantSOA := `ns1.example.net. john\.doe.example.org. 1893553445 3600 600 86400 3600`
	if soa.Type != "SOA" || len(soa.Records) != 1 || soa.Records[0] != wantSOA || soa.TTL != nil || soa.Name != "example.org." {
		t.Errorf("SOA: %+v, want %q", soa, wantSOA)
	}
	// Duplicate names, in any project.
	for _, p := range []string{"a", "b"} {
		_, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: p, Name: "example.org.", Email: "x@example.org"})
		wantFault(t, "duplicate in "+p, err, fault.Conflict, "")
		if fault.TypeOf(err) != "duplicate_zone" {
			t.Errorf("duplicate type %q", fault.TypeOf(err))
		}
	}
	// A SECONDARY zone has masters, a default email and no recordsets.
	sec, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "sec.test.", Type: dns.Secondary, Masters: []string{"192.0.2.1", "[2001:db8::1]:5353"}})
	if err != nil || sec.Email != "hostmaster@sec.test" || strings.Join(sec.Masters, ",") != "192.0.2.1,[2001:db8::1]:5353" {
		t.Fatalf("secondary: %+v %v", sec, err)
	}
	if sets, _ := e.s.ListRecordSets(e.ctx, projA, sec.ID, dns.RecordSetFilter{}, dns.Page{}); len(sets) != 0 {
		t.Errorf("secondary recordsets: %+v", sets)
	}
	_, err = e.s.CreateRecordSet(e.ctx, projA, sec.ID, dns.RecordSet{Name: "www.sec.test.", Type: "A", Records: []string{"192.0.2.1"}})
	wantFault(t, "recordset in a secondary zone", err, fault.BadRequest, "")
}

func testZoneValidation(t *testing.T, e *env) {
	long := strings.Repeat("a", 64)
	deep := strings.Repeat("abcdefghi.", 26) // 260 characters
	cases := []struct {
		name  string
		zone  dns.Zone
		field string
	}{
		{"no trailing dot", dns.Zone{Name: "example.org"}, "name"},
		{"root", dns.Zone{Name: "."}, "name"},
		{"empty name", dns.Zone{Name: ""}, "name"},
		{"leading hyphen", dns.Zone{Name: "-x.example.org."}, "name"},
		{"label over 63", dns.Zone{Name: long + ".org."}, "name"},
		{"name over 253", dns.Zone{Name: deep}, "name"},
		{"space", dns.Zone{Name: "exa mple.org."}, "name"},
		{"empty label", dns.Zone{Name: "a..org."}, "name"},
		{"wildcard", dns.Zone{Name: "*.example.org."}, "name"},
		{"single label", dns.Zone{Name: "org."}, ""}, // invalid_zone_name, no field (TestZoneName)
		{"no email", dns.Zone{Name: "ok.org.", Email: "-"}, "email"},
		{"email without @", dns.Zone{Name: "ok.org.", Email: "hostmaster"}, "email"},
		{"email bad domain", dns.Zone{Name: "ok.org.", Email: "a@b@c"}, "email"},
		{"email space", dns.Zone{Name: "ok.org.", Email: "a b@example.org"}, "email"},
		{"negative ttl", dns.Zone{Name: "ok.org.", TTL: -1}, "ttl"},
		{"huge ttl", dns.Zone{Name: "ok.org.", TTL: dns.MaxTTL + 1}, "ttl"},
		{"negative retry", dns.Zone{Name: "ok.org.", Retry: -5}, "retry"},
		{"catalog", dns.Zone{Name: "ok.org.", Type: "CATALOG"}, "type"},
		{"secondary without masters", dns.Zone{Name: "ok.org.", Type: dns.Secondary}, "masters"},
		{"bad master", dns.Zone{Name: "ok.org.", Type: dns.Secondary, Masters: []string{"ns1 example.org"}}, "masters"},
		{"master port 0", dns.Zone{Name: "ok.org.", Type: dns.Secondary, Masters: []string{"ns1.example.org:0"}}, "masters"},
		{"master port word", dns.Zone{Name: "ok.org.", Type: dns.Secondary, Masters: []string{"ns1.example.org:dns"}}, "masters"},
		{"primary with masters", dns.Zone{Name: "ok.org.", Masters: []string{"192.0.2.1"}}, "masters"},
		{"long description", dns.Zone{Name: "ok.org.", Description: strings.Repeat("d", 161)}, "description"},
		{"no project", dns.Zone{Name: "ok.org.", ProjectID: "-"}, "project_id"},
		{"unknown pool", dns.Zone{Name: "ok.org.", PoolID: "nope"}, "pool_id"},
	}
	for _, c := range cases {
		z := c.zone
		if z.ProjectID == "" {
			z.ProjectID = "a"
		} else if z.ProjectID == "-" {
			z.ProjectID = ""
		}
		if z.Email == "" {
			z.Email = "hostmaster@example.org"
		} else if z.Email == "-" {
			z.Email = ""
		}
		_, err := e.s.CreateZone(e.ctx, z)
		wantFault(t, c.name, err, fault.BadRequest, c.field)
	}
	if zs, _ := e.s.ListZones(e.ctx, adminAll, dns.ZoneFilter{}, dns.Page{}); len(zs) != 0 {
		t.Errorf("invalid zones were stored: %+v", zs)
	}
}

func testTenancy(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	admin := dns.Viewer{Project: "ops", Admin: true}
	for _, v := range []dns.Viewer{projB, admin} {
		_, err := e.s.GetZone(e.ctx, v, z.ID)
		wantFault(t, "get another project's zone", err, fault.NotFound, "")
		upd := z
		upd.Description = "mine now"
		_, err = e.s.UpdateZone(e.ctx, v, upd)
		wantFault(t, "update another project's zone", err, fault.NotFound, "")
		_, err = e.s.DeleteZone(e.ctx, v, z.ID)
		wantFault(t, "delete another project's zone", err, fault.NotFound, "")
		_, err = e.s.CreateRecordSet(e.ctx, v, z.ID, dns.RecordSet{Name: "x.example.org.", Type: "A", Records: []string{"192.0.2.9"}})
		wantFault(t, "recordset in another project's zone", err, fault.NotFound, "")
		_, err = e.s.GetRecordSet(e.ctx, v, "", rs.ID)
		wantFault(t, "get another project's recordset", err, fault.NotFound, "")
		upRS := rs
		upRS.Records = []string{"192.0.2.66"}
		_, err = e.s.UpdateRecordSet(e.ctx, v, upRS)
		wantFault(t, "update another project's recordset", err, fault.NotFound, "")
		_, err = e.s.DeleteRecordSet(e.ctx, v, z.ID, rs.ID)
		wantFault(t, "delete another project's recordset", err, fault.NotFound, "")
		_, err = e.s.ListRecordSets(e.ctx, v, z.ID, dns.RecordSetFilter{}, dns.Page{})
		wantFault(t, "list another project's zone", err, fault.NotFound, "")
		if zs, err := e.s.ListZones(e.ctx, v, dns.ZoneFilter{}, dns.Page{}); err != nil || len(zs) != 0 {
			t.Errorf("%+v lists %d zones, %v", v, len(zs), err)
		}
		if sets, err := e.s.ListRecordSets(e.ctx, v, "", dns.RecordSetFilter{}, dns.Page{}); err != nil || len(sets) != 0 {
			t.Errorf("%+v lists %d recordsets, %v", v, len(sets), err)
		}
	}
	// Nothing changed: the failed writes rolled back their zone flag.
	if got, _ := e.s.GetZone(e.ctx, projA, z.ID); got.Version != z.Version+1 || got.Description != "" {
		t.Errorf("zone after others' writes: %+v", got)
	}
	if got, err := e.s.GetZone(e.ctx, adminAll, z.ID); err != nil || got.ID != z.ID {
		t.Errorf("admin all_projects get: %v", err)
	}
	if zs, _ := e.s.ListZones(e.ctx, adminAll, dns.ZoneFilter{}, dns.Page{}); len(zs) != 1 {
		t.Errorf("admin all_projects list: %d zones", len(zs))
	}
	if sets, _ := e.s.ListRecordSets(e.ctx, adminAll, "", dns.RecordSetFilter{}, dns.Page{}); len(sets) != 3 {
		t.Errorf("admin all_projects recordsets: %d", len(sets))
	}
	if _, err := e.s.GetRecordSet(e.ctx, adminAll, z.ID, rs.ID); err != nil {
		t.Errorf("admin all_projects get recordset: %v", err)
	}
	_, err := e.s.ListZones(e.ctx, dns.Viewer{Project: "b", AllProjects: true}, dns.ZoneFilter{}, dns.Page{})
	wantFault(t, "all_projects without admin", err, fault.Forbidden, "")
}

func testSubzones(t *testing.T, e *env) {
	parent := e.zone(t, "a", "example.org.")
	_, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "b", Name: "sub.example.org.", Email: "b@example.net"})
	wantFault(t, "subzone of another project's zone", err, fault.Forbidden, "")
	if fault.TypeOf(err) != "illegal_child" {
		t.Errorf("type %q", fault.TypeOf(err))
	}
	e.zone(t, "a", "deep.example.com.")
	_, err = e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "b", Name: "example.com.", Email: "b@example.net"})
	wantFault(t, "superzone of another project's zone", err, fault.Forbidden, "")
	if fault.TypeOf(err) != "illegal_parent" {
		t.Errorf("type %q", fault.TypeOf(err))
	}
	// '_' in a name is not a LIKE wildcard: x.axb.net. is not below a_b.net.
	e.zone(t, "a", "x.axb.net.")
	e.zone(t, "b", "a_b.net.")
	child := e.zone(t, "a", "sub.example.org.")
	_, err = e.s.DeleteZone(e.ctx, projA, parent.ID)
	wantFault(t, "delete a zone with a subzone", err, fault.BadRequest, "")
	if _, err := e.s.DeleteZone(e.ctx, projA, child.ID); err != nil {
		t.Fatal(err)
	}
	// A subzone still being deleted still counts.
	_, err = e.s.DeleteZone(e.ctx, projA, parent.ID)
	wantFault(t, "delete while the subzone is being deleted", err, fault.BadRequest, "")
	if _, err := e.s.FinishDelete(e.ctx, child.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeleteZone(e.ctx, projA, parent.ID); err != nil {
		t.Errorf("delete after the subzone went: %v", err)
	}
}

func testZoneUpdate(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	if _, err := e.s.MarkActive(e.ctx, z.ID, z.Serial); err != nil {
		t.Fatal(err)
	}
	z, _ = e.s.GetZone(e.ctx, projA, z.ID)
	upd := z
	upd.Email, upd.TTL, upd.Description, upd.Refresh, upd.Minimum = "dns@example.org", 600, "changed", 7200, 300
	upd.Name, upd.ProjectID = "ignored.org.", "b" // read-only: ignored
	got, err := e.s.UpdateZone(e.ctx, projA, upd)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "dns@example.org" || got.TTL != 600 || got.Refresh != 7200 || got.Minimum != 300 || got.Name != "example.org." ||
		got.ProjectID != "a" || got.Version != z.Version+1 || got.Status != dns.Pending || got.Action != dns.ActionUpdate || !got.SerialPending {
		t.Fatalf("updated: %+v", got)
	}
	// The same version again lost the race.
	_, err = e.s.UpdateZone(e.ctx, projA, upd)
	wantFault(t, "stale version", err, fault.Conflict, "")
	bad := got
	bad.TTL = -1
	_, err = e.s.UpdateZone(e.ctx, projA, bad)
	wantFault(t, "ttl -1", err, fault.BadRequest, "ttl")
	bad = got
	bad.Email = "nope"
	_, err = e.s.UpdateZone(e.ctx, projA, bad)
	wantFault(t, "bad email", err, fault.BadRequest, "email")
	// Of many concurrent updates from one version, exactly one wins.
	wins := race(8, func(i int) error {
		u := got
		u.Description = strings.Repeat("x", i+1)
		_, err := e.s.UpdateZone(e.ctx, projA, u)
		return err
	}, t)
	if wins != 1 {
		t.Errorf("%d concurrent updates won, want 1", wins)
	}
	_, err = e.s.UpdateZone(e.ctx, projA, dns.Zone{ID: "nope", Email: "a@b.org", TTL: 60})
	wantFault(t, "update unknown zone", err, fault.NotFound, "")
}

func testZoneDelete(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	_, err := e.s.FinishDelete(e.ctx, z.ID)
	wantFault(t, "finish a deletion never started", err, fault.Conflict, "")
	d, err := e.s.DeleteZone(e.ctx, projA, z.ID)
	if err != nil || d.Status != dns.Pending || d.Action != dns.ActionDelete {
		t.Fatalf("delete: %+v %v", d, err)
	}
	if again, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil || again.Version != d.Version {
		t.Errorf("second delete: %+v %v", again, err)
	}
	if _, err := e.s.Served(e.ctx, z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a zone being deleted is still served: %v", err)
	}
	if dz, err := e.s.Deleting(e.ctx); err != nil || len(dz) != 1 || dz[0].ID != z.ID {
		t.Errorf("deleting: %+v %v", dz, err)
	}
	_, err = e.s.UpdateZone(e.ctx, projA, d)
	wantFault(t, "update a deleting zone", err, fault.BadRequest, "")
	_, err = e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: "x.example.org.", Type: "A", Records: []string{"192.0.2.2"}})
	wantFault(t, "recordset in a deleting zone", err, fault.BadRequest, "")
	gone, err := e.s.FinishDelete(e.ctx, z.ID)
	if err != nil || gone.Status != dns.Deleted || gone.Action != dns.ActionNone {
		t.Fatalf("finish: %+v %v", gone, err)
	}
	_, err = e.s.GetZone(e.ctx, projA, z.ID)
	wantFault(t, "get deleted", err, fault.NotFound, "")
	if dz, err := e.s.Deleting(e.ctx); err != nil || len(dz) != 0 {
		t.Errorf("deleting after finish: %+v %v", dz, err)
	}
	_, err = e.s.GetRecordSet(e.ctx, projA, "", rs.ID)
	wantFault(t, "recordset of a deleted zone", err, fault.NotFound, "")
	_, err = e.s.FinishDelete(e.ctx, z.ID)
	wantFault(t, "finish twice", err, fault.NotFound, "")
	// The name is free again; the old row goes with Purge.
	e.zone(t, "b", "example.org.")
	if n, err := e.s.Purge(e.ctx, e.now.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("purge: %d %v", n, err)
	}
}

// race runs n functions at once and returns how many returned nil; every
// error must be a Conflict.
func race(n int, fn func(i int) error, t *testing.T) int {
	t.Helper()
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			errs <- fn(i)
		}()
	}
	close(start)
	wins := 0
	for range n {
		if err := <-errs; err == nil {
			wins++
		} else if fault.KindOf(err) != fault.Conflict {
			t.Errorf("race: %v", err)
		}
	}
	return wins
}
