package publish

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
)

func rrs(t *testing.T, lines ...string) []mdns.RR {
	t.Helper()
	var out []mdns.RR
	for _, l := range lines {
		rr, err := mdns.NewRR(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

func texts(rs []mdns.RR) []string {
	var out []string
	for _, rr := range rs {
		out = append(out, rr.String())
	}
	return out
}

// applyIXFR applies RFC 1995's diff sequences in order — a record removed
// and added back, several versions in one answer — and refuses a diff
// that does not start from the serial held or does not end at the new one.
func TestApplyIXFR(t *testing.T) {
	have := rrs(t,
		"z. 60 IN SOA ns. h. 1 60 60 60 60",
		"a.z. 60 IN A 192.0.2.1",
		"b.z. 60 IN A 192.0.2.2",
		"c.z. 60 IN TXT \"c\"")
	ixfr := rrs(t,
		"z. 60 IN SOA ns. h. 3 60 60 60 60",
		"z. 60 IN SOA ns. h. 1 60 60 60 60", // 1 -> 2
		"b.z. 60 IN A 192.0.2.2",
		"c.z. 60 IN TXT \"c\"",
		"z. 60 IN SOA ns. h. 2 60 60 60 60",
		"d.z. 60 IN A 192.0.2.4",
		"z. 60 IN SOA ns. h. 2 60 60 60 60", // 2 -> 3
		"d.z. 60 IN A 192.0.2.4",
		"z. 60 IN SOA ns. h. 3 60 60 60 60",
		"b.z. 300 IN A 192.0.2.2",
		"e.z. 60 IN AAAA 2001:db8::5",
		"z. 60 IN SOA ns. h. 3 60 60 60 60")
	got, err := applyIXFR(have, ixfr, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"z.\t60\tIN\tSOA\tns. h. 3 60 60 60 60", "a.z.\t60\tIN\tA\t192.0.2.1", "b.z.\t300\tIN\tA\t192.0.2.2",
		"e.z.\t60\tIN\tAAAA\t2001:db8::5"}
	if g := texts(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("applied:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if _, err := applyIXFR(have, ixfr, 2); err == nil {
		t.Error("a diff from serial 1 applied to serial 2")
	}
	short := append(append([]mdns.RR{}, ixfr[:6]...), ixfr[0])
	if _, err := applyIXFR(have, short, 1); err == nil {
		t.Error("diffs ending at serial 2 taken for serial 3")
	}
}

// A master that answers IXFR with its SOA alone (no IXFR: NSD before
// 4.7) gets an AXFR; the whole zone comes back at once, not after the
// read timeout.
func TestTransferLoneSOA(t *testing.T) {
	const zone = "lone.test."
	soa := "lone.test. 60 IN SOA ns. h. 5 60 60 60 60"
	full := rrs(t, soa, "lone.test. 60 IN NS ns.", "www.lone.test. 60 IN A 192.0.2.5", soa)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []uint16
	srv := &mdns.Server{Listener: l, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		mu.Lock()
		asked = append(asked, r.Question[0].Qtype)
		mu.Unlock()
		m := new(mdns.Msg)
		m.SetReply(r)
		if r.Question[0].Qtype == mdns.TypeIXFR {
			m.Answer = full[:1]
		} else {
			m.Answer = full
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	s := &Secondaries{Timeout: 10 * time.Second}
	start := time.Now()
	got, kind, err := s.transfer(context.Background(), l.Addr().String(),
		dns.SecondaryZone{Zone: dns.Zone{Name: zone, Serial: 4}, Loaded: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kind != "axfr" || len(got) != 3 || time.Since(start) > 5*time.Second {
		t.Errorf("kind %s, %d records, after %v", kind, len(got), time.Since(start))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != mdns.TypeIXFR || asked[1] != mdns.TypeAXFR {
		t.Errorf("asked %v, want IXFR then AXFR", asked)
	}
}
