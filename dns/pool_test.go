package dns_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

// Pools as Designate's pool manager keeps them: every part stored and
// canonical, bad parts refused naming the field, the last NS record never
// removed, a pool with live zones or TSIG keys never deleted (a deleted
// zone moves to the default pool), a key a target signs with kept.
func testPools(t *testing.T, e *env) {
	key, err := e.s.CreateTSIGKey(e.ctx, dns.TSIGKey{Name: "edge-xfr", Algorithm: "hmac-sha256", Secret: "c2VjcmV0",
		Scope: dns.ScopePool, ResourceID: dns.DefaultPoolID})
	if err != nil {
		t.Fatal(err)
	}
	rev, _, _ := e.feed.Head(e.ctx)
	in := dns.Pool{Name: "edge", ProjectID: "ops", Description: "edge servers", Attributes: map[string]string{"region": "eu"},
		NSRecords:    []dns.NSRecord{{Hostname: "NS1.edge.example.", Priority: 1}, {Hostname: "ns2.edge.example.", Priority: 2}},
		Nameservers:  []string{"192.0.2.1", "ns.edge.example:5353", "2001:db8::1"},
		AlsoNotifies: []string{"192.0.2.2:5300"},
		Targets: []dns.PoolTarget{{Type: dns.TargetSecondary, Description: "knot", Masters: []string{"192.0.2.53:5354"},
			Options: map[string]string{"host": "192.0.2.9"}, TSIGKeyID: key.ID}}}
	p, err := e.s.CreatePool(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.NSRecords[0].Hostname != "ns1.edge.example." || !slices.Equal(p.Nameservers, []string{"192.0.2.1:53", "ns.edge.example:5353", "[2001:db8::1]:53"}) ||
		!slices.Equal(p.AlsoNotifies, []string{"192.0.2.2:5300"}) || p.ProjectID != "ops" || p.Attributes["region"] != "eu" ||
		!maps.Equal(p.Targets[0].Options, map[string]string{"host": "192.0.2.9", "port": "53"}) || p.Targets[0].NotifyAddr() != "192.0.2.9:53" {
		t.Fatalf("created %+v", p)
	}
	got, err := e.s.GetPool(e.ctx, p.ID)
	if err != nil || got.Targets[0].TSIGKeyID != key.ID || got.Description != "edge servers" || !slices.Equal(got.Nameservers, p.Nameservers) {
		t.Fatalf("get: %+v %v", got, err)
	}

	bad := func(f func(*dns.Pool)) dns.Pool {
		q := in
		q.Name = "other"
		q.Targets = slices.Clone(in.Targets)
		f(&q)
		return q
	}
	for _, tc := range []struct {
		what  string
		pool  dns.Pool
		field string
	}{
		{"no name", bad(func(q *dns.Pool) { q.Name = "" }), "name"},
		{"long name", bad(func(q *dns.Pool) { q.Name = strings.Repeat("p", 51) }), "name"},
		{"long attribute", bad(func(q *dns.Pool) { q.Attributes = map[string]string{"k": strings.Repeat("v", 51)} }), "attributes"},
		{"priority 0", bad(func(q *dns.Pool) { q.NSRecords = []dns.NSRecord{{Hostname: "ns1.edge.example.", Priority: 0}} }), "ns_records"},
		{"relative ns", bad(func(q *dns.Pool) { q.NSRecords = []dns.NSRecord{{Hostname: "ns1", Priority: 1}} }), "ns_records"},
		{"bad nameserver", bad(func(q *dns.Pool) { q.Nameservers = []string{"ns 1"} }), "nameservers"},
		{"nameserver twice", bad(func(q *dns.Pool) { q.Nameservers = []string{"192.0.2.1", "192.0.2.1:53"} }), "nameservers"},
		{"bad also notify port", bad(func(q *dns.Pool) { q.AlsoNotifies = []string{"192.0.2.2:0"} }), "also_notifies"},
		{"backend target", bad(func(q *dns.Pool) { q.Targets[0].Type = "bind9" }), "targets"},
		{"target by hostname", bad(func(q *dns.Pool) { q.Targets[0].Options = map[string]string{"host": "ns.edge.example"} }), "targets"},
		{"target option", bad(func(q *dns.Pool) { q.Targets[0].Options = map[string]string{"host": "192.0.2.9", "rndc_host": "x"} }), "targets"},
		{"target port", bad(func(q *dns.Pool) { q.Targets[0].Options = map[string]string{"host": "192.0.2.9", "port": "99999"} }), "targets"},
		{"target key", bad(func(q *dns.Pool) { q.Targets[0].TSIGKeyID = "0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11" }), "targets"},
	} {
		_, err := e.s.CreatePool(e.ctx, tc.pool)
		wantFault(t, tc.what, err, fault.BadRequest, tc.field)
	}
	_, err = e.s.CreatePool(e.ctx, bad(func(q *dns.Pool) { q.Name = "edge" }))
	wantFault(t, "duplicate name", err, fault.Conflict, "")
	if ps, _ := e.s.ListPools(e.ctx); len(ps) != 2 {
		t.Fatalf("%d pools after refused creates", len(ps))
	}

	// Updates: everything but the project; never the last NS record.
	upd := p
	upd.Nameservers, upd.AlsoNotifies, upd.Targets = nil, []string{"192.0.2.3"}, nil
	upd.ProjectID = "someone-else"
	p, err = e.s.UpdatePool(e.ctx, upd)
	if err != nil || len(p.Nameservers) != 0 || !slices.Equal(p.AlsoNotifies, []string{"192.0.2.3:53"}) || len(p.Targets) != 0 ||
		p.ProjectID != "ops" || p.Version != 2 {
		t.Fatalf("updated %+v %v", p, err)
	}
	last := p
	last.NSRecords = nil
	_, err = e.s.UpdatePool(e.ctx, last)
	if fault.TypeOf(err) != "last_server_delete_not_allowed" {
		t.Errorf("last NS record: %v", err)
	}

	// Deletes.
	z, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: "edge.org.", Email: "h@edge.org", PoolID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	err = e.s.DeletePool(e.ctx, p.ID)
	if fault.TypeOf(err) != "invalid_operation" || !strings.Contains(err.Error(), "pool must not contain zones") {
		t.Errorf("pool with a zone: %v", err)
	}
	err = e.s.DeletePool(e.ctx, dns.DefaultPoolID)
	if fault.TypeOf(err) != "invalid_operation" {
		t.Errorf("default pool: %v", err)
	}
	if _, err := e.s.DeleteZone(e.ctx, projA, z.ID); err != nil {
		t.Fatal(err)
	}
	poolKey, err := e.s.CreateTSIGKey(e.ctx, dns.TSIGKey{Name: "edge-pool", Algorithm: "hmac-sha256", Secret: "c2VjcmV0",
		Scope: dns.ScopePool, ResourceID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeletePool(e.ctx, p.ID); fault.TypeOf(err) != "invalid_operation" {
		t.Errorf("pool with a TSIG key: %v", err)
	}
	if err := e.s.DeleteTSIGKey(e.ctx, poolKey.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeletePool(e.ctx, p.ID); err != nil {
		t.Fatalf("pool whose zone is being deleted: %v", err)
	}
	if _, err := e.s.GetPool(e.ctx, p.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("deleted pool: %v", err)
	}
	if del, _ := e.s.Deleting(e.ctx); len(del) != 1 || del[0].PoolID != dns.DefaultPoolID {
		t.Errorf("the deleting zone: %+v", del)
	}
	if err := e.s.DeletePool(e.ctx, p.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("deleted twice: %v", err)
	}
	kinds := feedKinds(t, e, rev)
	if kinds["pool create"] != 1 || kinds["pool update"] != 1 || kinds["pool delete"] != 1 {
		t.Errorf("feed: %v", kinds)
	}

	// A key a target signs with stays until the target lets it go.
	q, err := e.s.CreatePool(e.ctx, dns.Pool{Name: "keyed", NSRecords: []dns.NSRecord{{Hostname: "ns1.keyed.example.", Priority: 1}},
		Targets: []dns.PoolTarget{{Type: dns.TargetSecondary, Options: map[string]string{"host": "192.0.2.10"}, TSIGKeyID: key.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteTSIGKey(e.ctx, key.ID); fault.TypeOf(err) != "invalid_operation" {
		t.Errorf("key of a target: %v", err)
	}
	q.Targets = nil
	if _, err := e.s.UpdatePool(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteTSIGKey(e.ctx, key.ID); err != nil {
		t.Errorf("key no target names: %v", err)
	}
}
