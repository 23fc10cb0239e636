package server

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// transferRRs runs an AXFR or IXFR over TCP and returns the records, or
// the rcode error.
func transferRRs(t *testing.T, addr string, m *dns.Msg, key *Key) ([]dns.RR, error) {
	t.Helper()
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second}
	if key != nil {
		tr.TsigSecret = map[string]string{key.Name: key.Secret}
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
	}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for env := range ch {
		if env.Error != nil {
			return out, env.Error
		}
		out = append(out, env.RR...)
	}
	return out, nil
}

// transferServer serves zone1.test. grown to several transfer messages,
// allowing transfers signed with testKey or from 192.0.2.0/24.
func transferServer(t *testing.T) (string, *Zones) {
	t.Helper()
	big := genZones(1, 1)
	for i := 0; i < 2000; i++ {
		big["zone1.test."] += "bulk" + strings.Repeat("x", i%7) + "-" + string(rune('a'+i%26)) + " TXT \"" + strings.Repeat("y", 60) + "\"\n"
	}
	zs := mustZones(t, big)
	srv := New(zs, Config{
		Keys:     []Key{testKey, otherKey},
		Transfer: []ACL{{Key: testKey.Name}, {Prefix: netip.MustParsePrefix("192.0.2.0/24")}},
	})
	return startServer(t, srv), zs
}

var otherKey = Key{Name: "other.", Algorithm: dns.HmacSHA256, Secret: testKey.Secret}

// rcodeOf sends m over TCP, signed with key when given, and returns the
// first response's rcode.
func rcodeOf(t *testing.T, addr string, m *dns.Msg, key *Key) int {
	t.Helper()
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	if key != nil {
		c.TsigSecret = map[string]string{key.Name: key.Secret}
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
	}
	r, _, err := c.Exchange(m, addr)
	if r == nil {
		t.Fatalf("exchange: %v", err)
	}
	return r.Rcode
}

func axfr() *dns.Msg {
	m := new(dns.Msg)
	m.SetAxfr("zone1.test.")
	return m
}

// TestTransferAXFR checks a multi-message AXFR, each message signed and
// verified by the miekg/dns client, and who is refused.
func TestTransferAXFR(t *testing.T) {
	addr, zs := transferServer(t)
	wrong := testKey
	wrong.Secret = "d3JvbmcgdHNpZyBzZWNyZXQgZm9yIHRlc3Rpbmc="
	t.Run("signed AXFR", func(t *testing.T) {
		rrs, err := transferRRs(t, addr, axfr(), &testKey)
		if err != nil {
			t.Fatal(err)
		}
		z := zs.byName["zone1.test."]
		if len(rrs) != len(z.records)+1 {
			t.Errorf("%d records, want %d (zone plus closing SOA)", len(rrs), len(z.records)+1)
		}
		if rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
			t.Error("transfer does not start and end with the SOA")
		}
		if missing, extra := setDiff(z.records, rrs); len(missing)+len(extra) > 0 {
			t.Errorf("missing %d, extra %d records", len(missing), len(extra))
		}
	})
	t.Run("unsigned refused", func(t *testing.T) {
		if rc := rcodeOf(t, addr, axfr(), nil); rc != dns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[rc])
		}
	})
	t.Run("other key refused", func(t *testing.T) {
		if rc := rcodeOf(t, addr, axfr(), &otherKey); rc != dns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[rc])
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		m := axfr()
		m.SetTsig(wrong.Name, wrong.Algorithm, 300, time.Now().Unix())
		c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{wrong.Name: wrong.Secret}, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, addr)
		if r == nil || r.Rcode != dns.RcodeNotAuth {
			t.Fatalf("response %v (%v), want NOTAUTH", r, err)
		}
		if ts := r.IsTsig(); ts == nil || ts.Error != dns.RcodeBadSig {
			t.Errorf("TSIG %v, want error BADSIG", ts)
		}
	})
	t.Run("unknown zone", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetAxfr("nope.test.")
		if rc := rcodeOf(t, addr, m, &testKey); rc != dns.RcodeNotAuth {
			t.Errorf("rcode %s, want NOTAUTH", dns.RcodeToString[rc])
		}
	})
}

// TestTransferIXFR checks IXFR answered with the SOA alone or the whole
// zone, the UDP cases, and signed ordinary queries.
func TestTransferIXFR(t *testing.T) {
	addr, zs := transferServer(t)
	t.Run("IXFR up to date", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("zone1.test.", 1, "ns1.zone1.test.", "hostmaster.zone1.test.")
		rrs, err := transferRRs(t, addr, m, &testKey)
		if err != nil || len(rrs) != 1 || rrs[0].(*dns.SOA).Serial != 1 {
			t.Errorf("got %v %v, want the SOA alone", rrs, err)
		}
	})
	t.Run("IXFR answered in full", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("zone1.test.", 0, "ns1.zone1.test.", "hostmaster.zone1.test.")
		rrs, err := transferRRs(t, addr, m, &testKey)
		if err != nil || len(rrs) != len(zs.byName["zone1.test."].records)+1 {
			t.Errorf("got %d records, %v", len(rrs), err)
		}
	})
	t.Run("AXFR over UDP", func(t *testing.T) {
		m := axfr()
		m.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
		c := &dns.Client{TsigSecret: map[string]string{testKey.Name: testKey.Secret}, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, addr)
		if err != nil || r.Rcode != dns.RcodeFormatError {
			t.Errorf("response %v %v, want FORMERR", r, err)
		}
	})
	t.Run("IXFR over UDP gives SOA", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("zone1.test.", 0, "ns1.zone1.test.", "hostmaster.zone1.test.")
		m.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
		c := &dns.Client{TsigSecret: map[string]string{testKey.Name: testKey.Secret}, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("response %v %v, want the SOA alone", r, err)
		}
	})
	t.Run("signed query gets signed answer", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion("h0.zone1.test.", dns.TypeA)
		m.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
		c := &dns.Client{TsigSecret: map[string]string{testKey.Name: testKey.Secret}, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, addr) // the client verifies the TSIG
		if err != nil || r.IsTsig() == nil || len(r.Answer) == 0 {
			t.Errorf("response %v %v, want a signed answer", r, err)
		}
	})
}

// TestTransferACLByPrefix checks the prefix rule through the handler,
// whose writer can claim any client address.
func TestTransferACLByPrefix(t *testing.T) {
	zs := loadTestZones(t)
	srv := New(zs, Config{Transfer: []ACL{{Prefix: netip.MustParsePrefix("127.0.0.0/8")}}})
	req := new(dns.Msg)
	req.SetAxfr("example.com.")
	w := tcpWriter()
	srv.ServeDNS(w, req)
	if len(w.out) != 1 {
		t.Fatalf("%d messages, want 1", len(w.out))
	}
	m := w.last(t)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != len(zs.byName["example.com."].records)+1 {
		t.Errorf("rcode %s, %d records", dns.RcodeToString[m.Rcode], len(m.Answer))
	}
	srv = New(zs, Config{Transfer: []ACL{{Prefix: netip.MustParsePrefix("10.0.0.0/8")}}})
	w = tcpWriter()
	srv.ServeDNS(w, req)
	if m := w.last(t); m.Rcode != dns.RcodeRefused {
		t.Errorf("outside the prefix: rcode %s, want REFUSED", dns.RcodeToString[m.Rcode])
	}
}

// TestTransferHMACMD5: a key stored as Designate names the algorithm
// ("hmac-md5") verifies and signs as HMAC-MD5.SIG-ALG.REG.INT., the name
// RFC 8945 gives it on the wire.
func TestTransferHMACMD5(t *testing.T) {
	key := Key{Name: "md5-key", Algorithm: "hmac-md5", Secret: testKey.Secret}
	srv := New(mustZones(t, genZones(1, 1)), Config{Keys: []Key{key}, Transfer: []ACL{{Key: key.Name}}})
	addr := startServer(t, srv)
	// miekg/dns's own provider dropped MD5: the client signs with a
	// provider of the same key (HMAC from crypto/hmac either way).
	client := New(mustZones(t, nil), Config{Keys: []Key{key}})
	m := axfr()
	m.SetTsig("md5-key.", dns.HmacMD5, 300, time.Now().Unix())
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, TsigProvider: tsigProvider{client}}
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR signed with hmac-md5: %v", env.Error)
		}
		n += len(env.RR)
	}
	if n < 2 {
		t.Fatalf("AXFR signed with hmac-md5: %d records", n)
	}
	if rc := rcodeOf(t, addr, axfr(), nil); rc != dns.RcodeRefused {
		t.Errorf("unsigned: rcode %s, want REFUSED", dns.RcodeToString[rc])
	}

	// A NOTIFY signed with the key reaches a secondary that verifies it.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	signed := make(chan bool, 1)
	sec := &dns.Server{PacketConn: pc, TsigProvider: tsigProvider{client}, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		ok := r.IsTsig() != nil && w.TsigStatus() == nil
		select {
		case signed <- ok:
		default:
		}
		m := new(dns.Msg)
		m.SetReply(r)
		if ok {
			m.SetTsig("md5-key.", dns.HmacMD5, 300, time.Now().Unix())
		}
		w.WriteMsg(m)
	})}
	go sec.ActivateAndServe()
	defer sec.Shutdown()
	if err := srv.Notify(context.Background(), "zone1.test.", []Target{{Addr: pc.LocalAddr().String(), Key: "md5-key"}}); err != nil {
		t.Fatalf("NOTIFY signed with hmac-md5: %v", err)
	}
	if !<-signed {
		t.Error("the NOTIFY did not verify with hmac-md5")
	}
}

// TestTransferZoneACL: Config.ZoneTransfer lets a key, or an address
// with a key, transfer one zone and no other.
func TestTransferZoneACL(t *testing.T) {
	srv := New(mustZones(t, genZones(2, 1)), Config{
		Keys: []Key{testKey, otherKey},
		ZoneTransfer: func(zone string) []ACL {
			switch zone {
			case "zone1.test.":
				return []ACL{{Key: otherKey.Name}}
			case "example.org.":
				return []ACL{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Key: testKey.Name}}
			}
			return nil
		},
	})
	addr := startServer(t, srv)
	zone := func(name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetAxfr(name)
		return m
	}
	if rrs, err := transferRRs(t, addr, zone("ZONE1.test."), &otherKey); err != nil || len(rrs) < 2 {
		t.Errorf("zone1 with its key: %d records, %v", len(rrs), err)
	}
	if rrs, err := transferRRs(t, addr, zone("example.org."), &testKey); err != nil || len(rrs) < 2 {
		t.Errorf("example.org from loopback with its key: %d records, %v", len(rrs), err)
	}
	for _, tc := range []struct {
		what string
		zone string
		key  *Key
	}{
		{"zone1 unsigned", "zone1.test.", nil},
		{"zone1 with another key", "zone1.test.", &testKey},
		{"example.org with zone1's key", "example.org.", &otherKey},
		{"example.org unsigned", "example.org.", nil},
	} {
		if rc := rcodeOf(t, addr, zone(tc.zone), tc.key); rc != dns.RcodeRefused {
			t.Errorf("%s: rcode %s, want REFUSED", tc.what, dns.RcodeToString[rc])
		}
	}
}
