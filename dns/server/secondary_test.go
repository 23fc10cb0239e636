package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testKey is the TSIG key the secondary test shares with knotd.
var testKey = Key{Name: "xfr-key.", Algorithm: dns.HmacSHA256, Secret: "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ=="}

// TestKnotSecondary runs knotd as a secondary of zone1.test. served by our
// server with TSIG on both NOTIFY and transfer: it loads serial 1 at
// start, then Dynamic.Set with serial 2 makes our server NOTIFY it (knotd
// accepts only signed NOTIFYs from us; we allow transfers only signed
// with the key), knotd transfers (IXFR answered in full), and then
// answers the changed names exactly as we do.
func TestKnotSecondary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	const zone = "zone1.test."
	v1 := genZones(1, 1)
	v2 := genZones(1, 2)
	// Enough records that a transfer takes several TSIG-signed messages.
	var bulk strings.Builder
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&bulk, "bulk%d TXT \"bulk record number %d\"\n", i, i)
	}
	v1[zone] += bulk.String()
	v2[zone] += bulk.String()
	v2[zone] += "changed A 192.0.2.222\nchanged TXT \"version 2\"\n*.newwild AAAA 2001:db8::222\n"
	v2[zone] = strings.Replace(v2[zone], "mail A 192.0.2.25", "mail A 192.0.2.26", 1)

	var dyn Dynamic
	dyn.Set(mustZones(t, v1))
	var target atomic.Pointer[Target]
	srv := New(&dyn, Config{
		Keys:     []Key{testKey},
		Transfer: []ACL{{Key: testKey.Name}},
		NotifyTargets: func(z string) []Target {
			if t := target.Load(); t != nil && z == zone {
				return []Target{*t}
			}
			return nil
		},
		Logf: t.Logf,
	})
	ours := &daemon{Name: "ours", Addr: startServer(t, srv)}

	knot := startKnot(t, nil, knotSecondaryConf(zone, ours.Addr))
	waitSerial(t, knot, zone, 1)
	target.Store(&Target{Addr: knot.Addr, Key: testKey.Name})

	dyn.Set(mustZones(t, v2))
	waitSerial(t, knot, zone, 2)

	t.Logf("knotd log:\n%s", knot.tail())

	c := &dns.Client{Timeout: 2 * time.Second}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"changed.zone1.test.", dns.TypeA}, {"CHANGED.zone1.test.", dns.TypeTXT},
		{"changed.zone1.test.", dns.TypeANY}, {"x.newwild.zone1.test.", dns.TypeAAAA},
		{"mail.zone1.test.", dns.TypeA}, {"zone1.test.", dns.TypeMX}, {"zone1.test.", dns.TypeSOA},
		{"nothere.zone1.test.", dns.TypeA}, {"foo.deleg1.zone1.test.", dns.TypeA},
		{"c0.zone1.test.", dns.TypeA}, {"a.wild.zone1.test.", dns.TypeTXT},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, false)
		qq := query{msg: m, label: q.name + " " + dns.TypeToString[q.qtype]}
		want, got := exchange(t, c, knot, qq), exchange(t, c, ours, qq)
		for _, d := range compare(want, got, true) {
			t.Errorf("%s: %s\n--- knot secondary:\n%s\n--- ours:\n%s", qq.label, d.detail, want, got)
		}
	}
}

// waitSerial polls d until it serves zone with serial, for at most 20 s.
func waitSerial(t *testing.T, d *daemon, zone string, serial uint32) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		m := new(dns.Msg)
		m.SetQuestion(zone, dns.TypeSOA)
		r, _, err := c.Exchange(m, d.Addr)
		switch {
		case err != nil:
			last = err.Error()
		case len(r.Answer) == 1:
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == serial {
				return
			}
			last = r.Answer[0].String()
		default:
			last = dns.RcodeToString[r.Rcode]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not reach serial %d of %s within 20s (last: %s)\n%s", d.Name, serial, zone, last, d.tail())
}

// knotSecondaryConf makes knotd a secondary of zone from primary, taking
// NOTIFY only when signed with testKey, and transferring with it.
func knotSecondaryConf(zone, primary string) string {
	return fmt.Sprintf(`key:
  - id: %s
    algorithm: hmac-sha256
    secret: %s
remote:
  - id: primary
    address: %s
    key: %s
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    key: %s
    action: notify
zone:
  - domain: %s
    master: primary
    acl: notify-from-primary
    zonefile-sync: -1
    journal-content: none
`, testKey.Name, testKey.Secret, strings.Replace(primary, ":", "@", 1), testKey.Name, testKey.Name, zone)
}
