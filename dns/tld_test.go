package dns_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/watch"
)

// wantZoneName checks a 400 invalid_zone_name with Designate's message.
func wantZoneName(t *testing.T, what string, err error, msg string) {
	t.Helper()
	f, ok := err.(*fault.Error)
	if !ok || f.Kind != fault.BadRequest || f.Type != "invalid_zone_name" || f.Message != msg {
		t.Errorf("%s: got %v, want 400 invalid_zone_name %q", what, err, msg)
	}
}

// feedKinds counts the DNS feed's changes after rev by kind and op.
func feedKinds(t *testing.T, e *env, rev int64) map[string]int {
	t.Helper()
	b, err := e.feed.Since(e.ctx, watch.Query{Area: "dns", Since: rev})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range b.Changes {
		out[c.Kind+" "+string(c.Op)]++
	}
	return out
}

// TLDs: names checked as Designate's TldField, lowercase and unique;
// create, update and delete in the feed; a bad or duplicate write changes
// nothing.
func testTLDs(t *testing.T, e *env) {
	rev, _, _ := e.feed.Head(e.ctx)
	com, err := e.s.CreateTLD(e.ctx, dns.TLD{Name: "COM", Description: "commercial"})
	if err != nil || com.Name != "com" || com.Version != 1 {
		t.Fatalf("create: %+v %v", com, err)
	}
	couk, err := e.s.CreateTLD(e.ctx, dns.TLD{Name: "co.uk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tld  dns.TLD
		kind fault.Kind
	}{
		{"trailing dot", dns.TLD{Name: "org."}, fault.BadRequest},
		{"empty", dns.TLD{Name: ""}, fault.BadRequest},
		{"empty label", dns.TLD{Name: "co..uk"}, fault.BadRequest},
		{"leading dash", dns.TLD{Name: "-org"}, fault.BadRequest},
		{"space", dns.TLD{Name: "o rg"}, fault.BadRequest},
		{"long label", dns.TLD{Name: strings.Repeat("a", 64)}, fault.BadRequest},
		{"long name", dns.TLD{Name: strings.Repeat("a.", 127) + "a"}, fault.BadRequest},
		{"long description", dns.TLD{Name: "net", Description: strings.Repeat("x", 161)}, fault.BadRequest},
		{"duplicate", dns.TLD{Name: "Com"}, fault.Conflict},
	} {
		_, err := e.s.CreateTLD(e.ctx, tc.tld)
		wantFault(t, tc.name, err, tc.kind, "")
	}
	if _, err := e.s.CreateTLD(e.ctx, dns.TLD{Name: strings.Repeat("a.", 126) + "a"}); err != nil {
		t.Errorf("a 253-character TLD: %v", err)
	}
	upd := couk
	upd.Name, upd.Description = "com", "clash"
	_, err = e.s.UpdateTLD(e.ctx, upd)
	wantFault(t, "rename onto another", err, fault.Conflict, "")
	upd.Name, upd.Description = "org.uk", "renamed"
	got, err := e.s.UpdateTLD(e.ctx, upd)
	if err != nil || got.Name != "org.uk" || got.Version != 2 {
		t.Fatalf("update: %+v %v", got, err)
	}
	_, err = e.s.UpdateTLD(e.ctx, upd)
	wantFault(t, "stale version", err, fault.Conflict, "")
	if err := e.s.DeleteTLD(e.ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "delete again", e.s.DeleteTLD(e.ctx, got.ID), fault.NotFound, "")
	_, err = e.s.GetTLD(e.ctx, got.ID)
	wantFault(t, "get deleted", err, fault.NotFound, "")
	list, err := e.s.ListTLDs(e.ctx)
	if err != nil || len(list) != 2 || list[1].Name != "com" {
		t.Fatalf("list: %+v %v", list, err)
	}
	kinds := feedKinds(t, e, rev)
	if kinds["tld create"] != 3 || kinds["tld update"] != 1 || kinds["tld delete"] != 1 || len(kinds) != 3 {
		t.Errorf("feed: %v", kinds)
	}
}

// Zones and TLDs, as Designate's _is_valid_zone_name: any name while there
// are none; then below a TLD only, never a TLD itself, for every project
// and for imports too; zones made before stay.
func testTLDZones(t *testing.T, e *env) {
	before := e.zone(t, "a", "example.net.")
	if _, err := e.s.CreateTLD(e.ctx, dns.TLD{Name: "org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateTLD(e.ctx, dns.TLD{Name: "co.uk"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, msg string }{
		{"example.com.", "Invalid TLD"},
		{"uk.", "More than one label is required"},
		{"example.uk.", "Invalid TLD"},
		{"co.uk.", "Zone name cannot be the same as a TLD"},
	} {
		_, err := e.s.CreateZone(e.ctx, dns.Zone{ProjectID: "a", Name: tc.name, Email: "h@example.org"})
		wantZoneName(t, tc.name, err, tc.msg)
		if err := e.s.CheckTLD(e.ctx, tc.name); tc.msg != "More than one label is required" {
			wantZoneName(t, "CheckTLD "+tc.name, err, tc.msg)
		}
	}
	for _, name := range []string{"example.org.", "a.b.example.org.", "example.co.uk."} {
		e.zone(t, "b", name)
	}
	task, err := e.s.ImportZone(e.ctx, projA, strings.Replace(zoneFile, "example.org.", "example.com.", 1), nil)
	if err != nil || task.Status != dns.TaskError || task.Message != "An undefined error occurred. Invalid TLD" {
		t.Errorf("import under no TLD: %+v %v", task, err)
	}
	if zs, _ := e.s.ListZones(e.ctx, projA, dns.ZoneFilter{}, dns.Page{Limit: 10}); len(zs) != 1 || zs[0].ID != before.ID {
		t.Errorf("project a's zones: %+v", zs)
	}
}

// Blacklists: patterns checked (each must be an expression, read as
// Python's), unique, in the feed; Blacklisted matches them anywhere in
// the name, final dot included.
func testBlacklists(t *testing.T, e *env) {
	rev, _, _ := e.feed.Head(e.ctx)
	b, err := e.s.CreateBlacklist(e.ctx, dns.Blacklist{Pattern: `^([A-Za-z0-9_\-]+\.)*example\.com\.$`, Description: "ours"})
	if err != nil || b.Version != 1 {
		t.Fatalf("create: %+v %v", b, err)
	}
	for _, tc := range []struct {
		name    string
		pattern string
		kind    fault.Kind
	}{
		{"empty", "", fault.BadRequest},
		{"unbalanced", "(foo", fault.BadRequest},
		{"unclosed lookahead", `^(?!www\.`, fault.BadRequest},
		{"backreference to no group", `(a)\2`, fault.BadRequest},
		{"too long", strings.Repeat("a", 256), fault.BadRequest},
		{"duplicate", `^([A-Za-z0-9_\-]+\.)*example\.com\.$`, fault.Conflict},
	} {
		_, err := e.s.CreateBlacklist(e.ctx, dns.Blacklist{Pattern: tc.pattern})
		wantFault(t, tc.name, err, tc.kind, "")
	}
	_, err = e.s.CreateBlacklist(e.ctx, dns.Blacklist{Pattern: "x", Description: strings.Repeat("d", 161)})
	wantFault(t, "long description", err, fault.BadRequest, "description")
	for name, want := range map[string]bool{
		"example.com.": true, "www.example.com.": true, "example.org.": false, "notexample.com.": false,
	} {
		err := e.s.Blacklisted(e.ctx, name)
		if want {
			wantZoneName(t, name, err, "Blacklisted zone name")
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	b2, err := e.s.CreateBlacklist(e.ctx, dns.Blacklist{Pattern: `bad`})
	if err != nil {
		t.Fatal(err)
	}
	wantZoneName(t, "unanchored", e.s.Blacklisted(e.ctx, "a.badger.org."), "Blacklisted zone name")
	b2.Pattern = `^bad\.`
	if b2, err = e.s.UpdateBlacklist(e.ctx, b2); err != nil || b2.Version != 2 {
		t.Fatalf("update: %+v %v", b2, err)
	}
	if err := e.s.Blacklisted(e.ctx, "a.badger.org."); err != nil {
		t.Errorf("after the update: %v", err)
	}
	b2.Pattern = "(?<=x"
	_, err = e.s.UpdateBlacklist(e.ctx, b2)
	wantFault(t, "update to a pattern that is not one", err, fault.BadRequest, "pattern")
	if got, _ := e.s.GetBlacklist(e.ctx, b2.ID); got.Pattern != `^bad\.` {
		t.Errorf("refused update changed the pattern: %+v", got)
	}
	if err := e.s.DeleteBlacklist(e.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "delete again", e.s.DeleteBlacklist(e.ctx, b.ID), fault.NotFound, "")
	if err := e.s.Blacklisted(e.ctx, "example.com."); err != nil {
		t.Errorf("after the delete: %v", err)
	}
	if list, err := e.s.ListBlacklists(e.ctx); err != nil || len(list) != 1 || list[0].ID != b2.ID {
		t.Errorf("list: %+v %v", list, err)
	}
	kinds := feedKinds(t, e, rev)
	if kinds["blacklist create"] != 2 || kinds["blacklist update"] != 1 || kinds["blacklist delete"] != 1 || len(kinds) != 3 {
		t.Errorf("feed: %v", kinds)
	}

	// Python's syntax: a lookahead, a backreference, a named group and its
	// reference; a search that runs away counts as a match.
	for _, tc := range []struct {
		pattern string
		match   map[string]bool
	}{
		{`^(?!www\.)[a-z]+\.shop\.example\.$`, map[string]bool{"buy.shop.example.": true, "www.shop.example.": false}},
		{`(?P<c>[a-z])(?P=c)\.`, map[string]bool{"abc.example.": false, "odd.example.": true}},
		{`^(a)\1`, map[string]bool{"aa.example.": true, "ab.example.": false}},
		{`^([a-z]+)+\d$`, map[string]bool{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.": true}},
	} {
		p, err := e.s.CreateBlacklist(e.ctx, dns.Blacklist{Pattern: tc.pattern})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if err := e.s.DeleteBlacklist(e.ctx, b2.ID); err != nil && fault.KindOf(err) != fault.NotFound {
			t.Fatal(err)
		}
		for name, want := range tc.match {
			start := time.Now()
			err := e.s.Blacklisted(e.ctx, name)
			if want {
				wantZoneName(t, tc.pattern+" on "+name, err, "Blacklisted zone name")
			} else if err != nil {
				t.Errorf("%s on %s: %v", tc.pattern, name, err)
			}
			if d := time.Since(start); d > 50*dns.BlacklistTimeout {
				t.Errorf("%s on %s took %v", tc.pattern, name, d)
			}
		}
		if err := e.s.DeleteBlacklist(e.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
}
