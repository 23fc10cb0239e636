package dns_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

func testSerials(t *testing.T, e *env) {
	z := e.zone(t, "a", "example.org.")
	s0 := z.Serial
	if bumped, err := e.s.BumpSerials(e.ctx); err != nil || len(bumped) != 0 {
		t.Fatalf("nothing to bump: %+v %v", bumped, err)
	}
	// The first serial goes out: zone and its SOA and NS become ACTIVE.
	got, err := e.s.MarkActive(e.ctx, z.ID, s0)
	if err != nil || got.Status != dns.Active || got.Action != dns.ActionNone {
		t.Fatalf("mark active: %+v %v", got, err)
	}
	if again, err := e.s.MarkActive(e.ctx, z.ID, s0); err != nil || again.Version != got.Version {
		t.Errorf("mark active again: %+v %v", again, err)
	}
	// A change flags the zone; the serial waits for the batch.
	rs := e.recordSet(t, projA, z, "www.example.org.", "A", "192.0.2.1")
	z, _ = e.s.GetZone(e.ctx, projA, z.ID)
	if z.Serial != s0 || !z.SerialPending || z.Status != dns.Pending || z.Action != dns.ActionUpdate {
		t.Fatalf("after a change: %+v", z)
	}
	// Same second: old+1.
	bumped, err := e.s.BumpSerials(e.ctx)
	if err != nil || len(bumped) != 1 || bumped[0].Serial != s0+1 || bumped[0].SerialPending {
		t.Fatalf("bump: %+v %v", bumped, err)
	}
	if b, _ := e.s.BumpSerials(e.ctx); len(b) != 0 {
		t.Errorf("bumped twice: %+v", b)
	}
	soa := soaOf(t, e, z)
	if !strings.Contains(soa, fmt.Sprintf(" %d ", s0+1)) {
		t.Errorf("SOA after bump: %q", soa)
	}
	// A second change while the first serial propagates.
	e.tick(100 * time.Second)
	rs2 := e.recordSet(t, projA, z, "ftp.example.org.", "A", "192.0.2.2")
	_, err = e.s.MarkActive(e.ctx, z.ID, s0)
	wantFault(t, "an old serial", err, fault.Conflict, "")
	// The first serial is out, but a change still waits: the zone stays
	// PENDING, the recordset carried by that serial is ACTIVE.
	_, err = e.s.MarkActive(e.ctx, z.ID, s0+1)
	wantFault(t, "serial out, change pending", err, fault.Conflict, "")
	if got, _ := e.s.GetRecordSet(e.ctx, projA, z.ID, rs.ID); got.Status != dns.Active || got.Action != dns.ActionNone {
		t.Errorf("recordset carried by the serial: %+v", got)
	}
	if got, _ := e.s.GetRecordSet(e.ctx, projA, z.ID, rs2.ID); got.Status != dns.Pending {
		t.Errorf("recordset not yet carried: %+v", got)
	}
	// 100 s later: the serial jumps to now.
	bumped, err = e.s.BumpSerials(e.ctx)
	want := uint32(e.now.Unix())
	if err != nil || len(bumped) != 1 || bumped[0].Serial != want {
		t.Fatalf("bump to now: %+v %v, want %d", bumped, err, want)
	}
	_, err = e.s.MarkError(e.ctx, z.ID, want-1)
	wantFault(t, "error for an old serial", err, fault.Conflict, "")
	if got, err := e.s.MarkError(e.ctx, z.ID, want); err != nil || got.Status != dns.Errored {
		t.Fatalf("mark error: %+v %v", got, err)
	}
	if got, err := e.s.MarkActive(e.ctx, z.ID, want); err != nil || got.Status != dns.Active {
		t.Fatalf("active after error: %+v %v", got, err)
	}
	sets, _ := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{}, dns.Page{})
	for _, rs := range sets {
		if rs.Status != dns.Active || rs.Action != dns.ActionNone {
			t.Errorf("not active after the last serial: %+v", rs)
		}
	}
	_, err = e.s.MarkActive(e.ctx, "nope", want)
	wantFault(t, "unknown zone", err, fault.NotFound, "")
}

// Zones bump oldest change first, at most BumpBatch a call.
func testSerialBatch(t *testing.T, e *env) {
	if _, err := e.s.SetQuota(e.ctx, "b", map[string]int{"zones": -1}); err != nil {
		t.Fatal(err)
	}
	for i := range dns.BumpBatch + 3 {
		e.zone(t, "b", fmt.Sprintf("z%03d.test.", i))
	}
	for _, zone := range mustList(t, e, dns.Viewer{Project: "b"}) {
		e.recordSet(t, dns.Viewer{Project: "b"}, zone, "www."+zone.Name, "A", "192.0.2.1")
	}
	if b, _ := e.s.BumpSerials(e.ctx); len(b) != dns.BumpBatch {
		t.Errorf("first batch: %d zones", len(b))
	}
	if b, _ := e.s.BumpSerials(e.ctx); len(b) != 3 {
		t.Errorf("second batch: %d zones", len(b))
	}
}

func mustList(t *testing.T, e *env, v dns.Viewer) []dns.Zone {
	t.Helper()
	zs, err := e.s.ListZones(e.ctx, v, dns.ZoneFilter{}, dns.Page{})
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

func soaOf(t *testing.T, e *env, z dns.Zone) string {
	t.Helper()
	sets, err := e.s.ListRecordSets(e.ctx, projA, z.ID, dns.RecordSetFilter{Type: "SOA"}, dns.Page{})
	if err != nil || len(sets) != 1 {
		t.Fatalf("SOA: %+v %v", sets, err)
	}
	return sets[0].Records[0]
}

// testSerialRace runs writers and several BumpSerials loops at once, as
// controllers would. With the clock stopped every bump is old+1, so the
// serials handed out for a zone must be exactly s0+1..s0+k, each once, in
// increasing order per controller, and the last one must carry every
// change (all recordsets ACTIVE after MarkActive).
func testSerialRace(t *testing.T, e *env) {
	const zones, writers, perWriter, bumpers = 3, 3, 8, 3
	var zs []dns.Zone
	for i := range zones {
		zs = append(zs, e.zone(t, "a", fmt.Sprintf("z%d.test.", i)))
	}
	s0 := zs[0].Serial
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				z := zs[(w+i)%zones]
				name := fmt.Sprintf("w%d-%d.%s", w, i, z.Name)
				if _, err := e.s.CreateRecordSet(e.ctx, projA, z.ID, dns.RecordSet{Name: name, Type: "A", Records: []string{"192.0.2.1"}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	var mu sync.Mutex
	seen := map[string][]uint32{}
	var bg sync.WaitGroup
	for range bumpers {
		bg.Add(1)
		go func() {
			defer bg.Done()
			bumpUntil(t, e, done, func(z dns.Zone) {
				mu.Lock()
				defer mu.Unlock()
				seen[z.ID] = append(seen[z.ID], z.Serial)
			})
		}()
	}
	wg.Wait()
	close(done)
	bg.Wait()
	final, err := e.s.BumpSerials(e.ctx) // the changes after the bumpers' last look
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range final {
		seen[z.ID] = append(seen[z.ID], z.Serial)
	}
	for _, z := range zs {
		got, _ := e.s.GetZone(e.ctx, projA, z.ID)
		serials := slices.Sorted(slices.Values(seen[z.ID]))
		var want []uint32
		for s := s0 + 1; s <= got.Serial; s++ {
			want = append(want, s)
		}
		if got.SerialPending || len(want) == 0 || !slices.Equal(serials, want) {
			t.Errorf("zone %s at %d (pending %v): serials handed out %v, want each of %d..%d once", z.Name, got.Serial, got.SerialPending, serials, s0+1, got.Serial)
		}
		if _, err := e.s.MarkActive(e.ctx, z.ID, got.Serial); err != nil {
			t.Errorf("mark %s active: %v", z.Name, err)
		}
	}
	sets, _ := e.s.ListRecordSets(e.ctx, projA, "", dns.RecordSetFilter{}, dns.Page{})
	if len(sets) != zones*2+writers*perWriter {
		t.Errorf("%d recordsets, want %d", len(sets), zones*2+writers*perWriter)
	}
	for _, rs := range sets {
		if rs.Status != dns.Active {
			t.Errorf("recordset %s not carried by any serial: %+v", rs.Name, rs)
		}
	}
}

// bumpUntil runs BumpSerials in a loop, as a controller does, until done
// is closed, checking that the serials it sees for a zone increase.
func bumpUntil(t *testing.T, e *env, done <-chan struct{}, saw func(dns.Zone)) {
	last := map[string]uint32{}
	for {
		select {
		case <-done:
			return
		default:
		}
		bumped, err := e.s.BumpSerials(e.ctx)
		if err != nil {
			t.Error(err)
			return
		}
		for _, z := range bumped {
			if z.Serial <= last[z.ID] {
				t.Errorf("zone %s: this controller saw serial %d after %d", z.Name, z.Serial, last[z.ID])
			}
			last[z.ID] = z.Serial
			saw(z)
		}
	}
}
