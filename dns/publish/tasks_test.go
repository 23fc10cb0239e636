package publish_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// served is a store published by a real server over UDP at addr.
func served(t *testing.T, ctx context.Context) (*dns.Store, string) {
	t.Helper()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
	return st, addr
}

func activeAt(t *testing.T, ctx context.Context, st *dns.Store, v dns.Viewer, id string) dns.Zone {
	t.Helper()
	var z dns.Zone
	waitFor(t, "the zone to be ACTIVE", func() bool {
		var err error
		z, err = st.GetZone(ctx, v, id)
		return err == nil && z.Status == dns.Active
	})
	return z
}

// A zone transferred to another project is served as it was, at the same
// serial; its new owner's changes are published with a higher one.
func TestPublishTransferredZone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, addr := served(t, ctx)
	a, b := dns.Viewer{Project: "pa"}, dns.Viewer{Project: "pb"}
	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "pa", Name: "example.org.", Email: "admin@example.org", TTL: 300})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRecordSet(ctx, a, z.ID, dns.RecordSet{Name: "www.example.org.", Type: "A", Records: []string{"192.0.2.10"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "www to be served", func() bool { return len(query(t, addr, "www.example.org.", mdns.TypeA).Answer) == 1 })
	z = activeAt(t, ctx, st, a, z.ID)
	tr, err := st.CreateTransferRequest(ctx, a, z.ID, dns.TransferRequest{TargetProjectID: "pb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcceptTransfer(ctx, b, tr.ID, tr.Key); err != nil {
		t.Fatal(err)
	}
	moved := activeAt(t, ctx, st, b, z.ID)
	if serial, err := publish.SOASerial(addr, "example.org."); err != nil || serial != z.Serial || moved.Serial != z.Serial {
		t.Fatalf("serial after the transfer: served %d (%v), zone %d, before %d", serial, err, moved.Serial, z.Serial)
	}
	if r := query(t, addr, "www.example.org.", mdns.TypeA); len(r.Answer) != 1 || !r.Authoritative {
		t.Fatalf("www after the transfer: %v", r)
	}
	if _, err := st.CreateRecordSet(ctx, b, z.ID, dns.RecordSet{Name: "mail.example.org.", Type: "A", Records: []string{"192.0.2.25"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new owner's record", func() bool { return len(query(t, addr, "mail.example.org.", mdns.TypeA).Answer) == 1 })
	if next, _ := publish.SOASerial(addr, "example.org."); int32(next-z.Serial) <= 0 {
		t.Fatalf("serial did not move forward: %d then %d", z.Serial, next)
	}
}
