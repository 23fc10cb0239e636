package publish_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/dns/server"
)

// startMaster serves text (sec.test.) from a dns/server on loopback that
// lets anyone transfer it and sends no NOTIFY; set replaces the zone.
func startMaster(t *testing.T, text string) (addr string, set func(text string)) {
	t.Helper()
	var src server.Dynamic
	set = func(text string) {
		t.Helper()
		z, err := server.ParseZone(strings.NewReader(text), secZone)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := server.Build([]server.Zone{z})
		if err != nil {
			t.Fatal(err)
		}
		src.Set(idx)
	}
	set(text)
	pc, l := listenBoth(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.New(&src, server.Config{Transfer: []server.ACL{{}}}).Serve(ctx, pc, l)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String(), set
}

// TestSecondaryXFR: a SECONDARY zone whose master sends no NOTIFY and
// whose SOA refresh is an hour stays at the serial it has until a
// transfer is asked for (dns.Store.AskTransfer, the API's xfr task),
// which brings the master's new serial at once.
func TestSecondaryXFR(t *testing.T) {
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	master, set := startMaster(t, zoneText(1, 3600, "www A 192.0.2.1"))
	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: secZone, Type: dns.Secondary, Masters: []string{master}})
	if err != nil {
		t.Fatal(err)
	}
	serial := func() uint32 {
		s, err := publish.SOASerial(p.addr, secZone)
		if err != nil {
			return 0
		}
		return s
	}
	waitFor(t, "serial 1 served by us", func() bool { return serial() == 1 })

	set(zoneText(2, 3600, "www A 192.0.2.2"))
	time.Sleep(1500 * time.Millisecond) // past Secondaries' shortest interval between checks
	if got := serial(); got != 1 {
		t.Fatalf("serial %d served before any transfer was asked for (refresh is an hour)", got)
	}
	start := time.Now()
	if _, err := st.AskTransfer(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "serial 2 served by us after the xfr", func() bool { return serial() == 2 })
	t.Logf("serial 2 served %v after the transfer was asked for", time.Since(start).Round(time.Millisecond))
	if got := answers(t, p.addr, "www.sec.test.", mdns.TypeA); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("www A after the xfr: %v", got)
	}
	// Asked again with nothing new on the master: nothing changes.
	before, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AskTransfer(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if after, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID); err != nil || after.Serial != 2 || after.Version != before.Version {
		t.Errorf("an xfr with nothing new changed the zone: %+v, before %+v (%v)", after, before, err)
	}
}
