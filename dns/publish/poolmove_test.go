package publish_test

import (
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	mdns "github.com/miekg/dns"
)

// TestPoolMove: a zone moved to another pool (dns.Store.MoveZone, what
// POST /v2/zones/{id}/tasks/pool_move calls) is, without a restart,
// served with the new pool's nameservers (apex NS and SOA MNAME, under a
// new serial), NOTIFYed to the new pool's also-notifies and transferable
// by its target's key — and no longer by the old pool's.
func TestPoolMove(t *testing.T) {
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	oldNotify, newNotify := newNotifyLog(t), newNotifyLog(t)
	mkPool := func(name, ns string, notify *notifyLog, secret string) (dns.Pool, dns.TSIGKey) {
		t.Helper()
		pool, err := st.CreatePool(ctx, dns.Pool{Name: name, NSRecords: []dns.NSRecord{{Hostname: ns, Priority: 1}},
			AlsoNotifies: []string{notify.addr}})
		if err != nil {
			t.Fatal(err)
		}
		key, err := st.CreateTSIGKey(ctx, dns.TSIGKey{Name: name + "-xfr", Algorithm: "hmac-sha256", Secret: secret,
			Scope: dns.ScopePool, ResourceID: pool.ID})
		if err != nil {
			t.Fatal(err)
		}
		pool.Targets = []dns.PoolTarget{{Type: dns.TargetSecondary, Options: map[string]string{"host": "127.0.0.1", "port": portOf(notify.addr)}, TSIGKeyID: key.ID}}
		if pool, err = st.UpdatePool(ctx, pool); err != nil {
			t.Fatal(err)
		}
		return pool, key
	}
	oldPool, oldKey := mkPool("old", "ns1.old.example.", oldNotify, "b2xkIHBvb2wga2V5IHNlY3JldCBvbGQgcG9vbCBrZXk=")
	newPool, newKey := mkPool("new", "ns1.new.example.", newNotify, "bmV3IHBvb2wga2V5IHNlY3JldCBuZXcgcG9vbCBrZXk=")

	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "moving.test.", Email: "h@moving.test", TTL: 300, PoolID: oldPool.ID})
	if err != nil {
		t.Fatal(err)
	}
	zone := func() dns.Zone {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	waitFor(t, "the zone ACTIVE in the old pool", func() bool { return zone().Status == dns.Active })
	waitFor(t, "a NOTIFY to the old pool", func() bool { return oldNotify.count("moving.test.") > 0 })
	axfr := func(key dns.TSIGKey) int {
		t.Helper()
		m := new(mdns.Msg)
		m.SetAxfr("moving.test.")
		c := &mdns.Client{Net: "tcp", Timeout: 2 * time.Second, TsigSecret: map[string]string{key.Name + ".": key.Secret}}
		m.SetTsig(key.Name+".", mdns.HmacSHA256, 300, time.Now().Unix())
		r, _, err := c.Exchange(m, p.addr)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rcode
	}
	if rc := axfr(oldKey); rc != mdns.RcodeSuccess {
		t.Fatalf("old pool's key before the move: %s", mdns.RcodeToString[rc])
	}
	if rc := axfr(newKey); rc != mdns.RcodeRefused {
		t.Fatalf("new pool's key before the move: %s", mdns.RcodeToString[rc])
	}
	before := zone().Serial
	oldCount := oldNotify.count("moving.test.")

	if _, err := st.MoveZone(ctx, z.ID, newPool.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the moved zone ACTIVE under a new serial", func() bool { z := zone(); return z.Status == dns.Active && z.Serial != before })
	waitFor(t, "a NOTIFY to the new pool", func() bool { return newNotify.count("moving.test.") > 0 })
	waitFor(t, "the new pool's target allowed to transfer", func() bool { return axfr(newKey) == mdns.RcodeSuccess })
	if rc := axfr(oldKey); rc != mdns.RcodeRefused {
		t.Errorf("old pool's key after the move: %s", mdns.RcodeToString[rc])
	}
	if got := oldNotify.count("moving.test."); got != oldCount {
		t.Errorf("the old pool got %d NOTIFYs after the move", got-oldCount)
	}
	ns := query(t, p.addr, "moving.test.", mdns.TypeNS)
	if len(ns.Answer) != 1 || ns.Answer[0].(*mdns.NS).Ns != "ns1.new.example." {
		t.Errorf("served NS after the move: %v", ns.Answer)
	}
	soa := query(t, p.addr, "moving.test.", mdns.TypeSOA)
	if len(soa.Answer) != 1 || soa.Answer[0].(*mdns.SOA).Ns != "ns1.new.example." || soa.Answer[0].(*mdns.SOA).Serial != zone().Serial {
		t.Errorf("served SOA after the move: %v (zone serial %d)", soa.Answer, zone().Serial)
	}
}
