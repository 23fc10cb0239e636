package publish_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func query(t *testing.T, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&mdns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The store drives a real server over UDP: a zone created through the
// store is answered, goes ACTIVE once the server has its serial, and a
// new recordset appears with a higher serial.
func TestPublish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	st := dns.NewStore(db, feed)
	if _, err := st.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		t.Fatal(err)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	dyn := &server.Dynamic{}
	go server.New(dyn, server.Config{}).Serve(ctx, pc, nil)
	p := &publish.Publisher{Store: st, Feed: feed, Target: dyn, Servers: []string{addr}, BumpInterval: 100 * time.Millisecond}
	ready := make(chan struct{})
	go p.Run(ctx, func() { close(ready) })
	<-ready

	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "example.org.", Email: "admin@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRecordSet(ctx, dns.Viewer{Project: "p1"}, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.10"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the zone to be ACTIVE", func() bool {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		return err == nil && got.Status == dns.Active
	})
	r := query(t, addr, "www.example.org.", mdns.TypeA)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.10" || !r.Authoritative {
		t.Fatalf("www A: %v", r)
	}
	first, err := publish.SOASerial(addr, "example.org.")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := st.CreateRecordSet(ctx, dns.Viewer{Project: "p1"}, z.ID, dns.RecordSet{Name: "mail.example.org.", Type: "AAAA", Records: []string{"2001:db8::25"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mail AAAA", func() bool {
		r := query(t, addr, "mail.example.org.", mdns.TypeAAAA)
		return r.Rcode == mdns.RcodeSuccess && len(r.Answer) == 1
	})
	if next, _ := publish.SOASerial(addr, "example.org."); int32(next-first) <= 0 {
		t.Fatalf("serial did not move forward: %d then %d", first, next)
	}
	if r := query(t, addr, "nope.example.org.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("missing name: %v", r)
	}

	if _, err := st.DeleteZone(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the zone to be gone", func() bool {
		return query(t, addr, "www.example.org.", mdns.TypeA).Rcode == mdns.RcodeRefused
	})
	// The publisher ends the deletion once the server no longer answers:
	// the zone is DELETED (not found) and its name free again.
	waitFor(t, "the deletion to finish", func() bool {
		_, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		return fault.KindOf(err) == fault.NotFound
	})
	if dz, err := st.Deleting(ctx); err != nil || len(dz) != 0 {
		t.Fatalf("still deleting: %v %v", dz, err)
	}

	// A child zone deleted under a served parent: the parent's negative
	// answer counts as gone.
	parent, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "example.org.", Email: "admin@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	child, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "sub.example.org.", Email: "admin@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{parent.ID, child.ID} {
		waitFor(t, "both zones ACTIVE", func() bool {
			got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, id)
			return err == nil && got.Status == dns.Active
		})
	}
	if _, err := st.DeleteZone(ctx, dns.Viewer{Project: "p1"}, child.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child's deletion to finish", func() bool {
		_, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, child.ID)
		return fault.KindOf(err) == fault.NotFound
	})
	if r := query(t, addr, "sub.example.org.", mdns.TypeSOA); r.Rcode != mdns.RcodeNameError || !r.Authoritative {
		t.Fatalf("sub SOA after its deletion: %v", r)
	}
}

// A zone deleted while its activation is still polled (a second server
// that never gets it keeps the poll going) is retired at once: the
// activation poll sees it is superseded and the publisher syncs again.
// Before, the deletion waited for the activation poll to give up and
// then for some unrelated change; CI saw it stuck.
func TestDeleteWhileActivating(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	st := dns.NewStore(db, feed)
	if _, err := st.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	dyn := &server.Dynamic{}
	for _, target := range []*server.Dynamic{dyn, {}} { // the second never serves anything
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, pc.LocalAddr().String())
		go server.New(target, server.Config{}).Serve(ctx, pc, nil)
	}
	p := &publish.Publisher{Store: st, Feed: feed, Target: dyn, Servers: addrs, BumpInterval: 100 * time.Millisecond}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, func() { close(ready) }) }()
	<-ready

	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "example.org.", Email: "admin@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the zone to be served", func() bool {
		return query(t, addrs[0], "example.org.", mdns.TypeSOA).Rcode == mdns.RcodeSuccess
	})
	if got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil || got.Status != dns.Pending {
		t.Fatalf("zone with one server missing: %+v %v", got, err)
	}
	if _, err := st.DeleteZone(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion to finish", func() bool {
		_, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		return fault.KindOf(err) == fault.NotFound
	})
	cancel()
	<-done // Run returns once its polls (and the sync a superseded one starts) have ended
}
