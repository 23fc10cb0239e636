package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// secondary is a fake secondary that records the NOTIFYs it gets,
// ignoring the first drop of them, and checks their TSIG.
type secondary struct {
	addr string
	drop atomic.Int32
	mu   sync.Mutex
	got  []uint32 // serials, in arrival order
	bad  []string
	seen chan uint32
}

func startSecondary(t *testing.T, drop int32) *secondary {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &secondary{addr: pc.LocalAddr().String(), seen: make(chan uint32, 16)}
	s.drop.Store(drop)
	srv := &dns.Server{PacketConn: pc, TsigSecret: map[string]string{testKey.Name: testKey.Secret}}
	srv.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Opcode != dns.OpcodeNotify || len(r.Answer) != 1 || r.IsTsig() == nil || w.TsigStatus() != nil || !r.Authoritative {
			s.bad = append(s.bad, r.String())
			return
		}
		if s.drop.Add(-1) >= 0 {
			return // lost: the sender must retry
		}
		serial := r.Answer[0].(*dns.SOA).Serial
		s.got = append(s.got, serial)
		s.seen <- serial
		m := new(dns.Msg)
		m.SetReply(r)
		m.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

// snapshot returns the serials received and the rejected requests.
func (s *secondary) snapshot() ([]uint32, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.got...), append([]string(nil), s.bad...)
}

func (s *secondary) wait(t *testing.T) uint32 {
	t.Helper()
	select {
	case serial := <-s.seen:
		return serial
	case <-time.After(20 * time.Second):
		t.Fatal("no NOTIFY within 20s")
		return 0
	}
}

// TestNotifyRetries checks that a lost NOTIFY is sent again, signed, and
// that Notify returns once the target answers.
func TestNotifyRetries(t *testing.T) {
	sec := startSecondary(t, 2)
	srv := New(loadTestZones(t), Config{Keys: []Key{testKey}, NotifyTimeout: 200 * time.Millisecond})
	err := srv.Notify(context.Background(), "example.com.", []Target{{Addr: sec.addr, Key: testKey.Name}})
	if err != nil {
		t.Fatal(err)
	}
	if got, bad := sec.snapshot(); len(got) != 1 || got[0] != 2024010101 || len(bad) != 0 {
		t.Errorf("secondary got %v, bad %q", got, bad)
	}
}

// TestNotifyGivesUp checks the bound on tries and the error.
func TestNotifyGivesUp(t *testing.T) {
	sec := startSecondary(t, 100)
	srv := New(loadTestZones(t), Config{Keys: []Key{testKey}, NotifyAttempts: 2, NotifyTimeout: 100 * time.Millisecond})
	err := srv.Notify(context.Background(), "example.com.", []Target{{Addr: sec.addr, Key: testKey.Name}})
	if !errors.Is(err, ErrNotify) {
		t.Fatalf("err %v, want ErrNotify", err)
	}
	if left := sec.drop.Load(); left != 98 {
		t.Errorf("%d tries, want 2", 100-left)
	}
	if err := srv.Notify(context.Background(), "nope.test.", nil); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("unknown zone: %v", err)
	}
	if err := srv.Notify(context.Background(), "example.com.", []Target{{Addr: sec.addr, Key: "missing."}}); err == nil {
		t.Error("unknown key: no error")
	}
}

// TestNotifyOnSerialChange checks that Serve sends NOTIFY when a Dynamic
// source's zone changes serial, and only then.
func TestNotifyOnSerialChange(t *testing.T) {
	sec := startSecondary(t, 0)
	var dyn Dynamic
	dyn.Set(mustZones(t, genZones(1, 1)))
	var asked atomic.Int32
	srv := New(&dyn, Config{
		Keys: []Key{testKey},
		NotifyTargets: func(zone string) []Target {
			if zone != "zone1.test." {
				return nil
			}
			asked.Add(1)
			return []Target{{Addr: sec.addr, Key: testKey.Name}}
		},
	})
	startServer(t, srv)
	dyn.Set(mustZones(t, genZones(1, 1))) // same serials: no NOTIFY
	dyn.Set(mustZones(t, genZones(1, 3)))
	if serial := sec.wait(t); serial != 3 {
		t.Errorf("NOTIFY with serial %d, want 3", serial)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("targets asked %d times, want once (only zone1.test. changed, once)", n)
	}
}

// TestNotifyReceived: a NOTIFY Config.Notified takes is acknowledged with
// AA, also for a zone not served (a secondary zone not transferred yet),
// and Notified sees the zone in lowercase and the sender's address; one
// it does not take is NOTAUTH unless the zone is served.
func TestNotifyReceived(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := New(mustZones(t, genZones(1, 1)), Config{Notified: func(zone string, from netip.Addr) bool {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, zone+" "+from.String())
		return zone == "sec.example."
	}})
	addr := startServer(t, srv)
	notify := func(zone string) *dns.Msg {
		m := new(dns.Msg)
		m.SetNotify(zone)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := notify("SEC.example."); r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Errorf("taken: %v", r)
	}
	if r := notify("other.example."); r.Rcode != dns.RcodeNotAuth {
		t.Errorf("not taken, not served: %v", r)
	}
	if r := notify("zone1.test."); r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Errorf("not taken, served: %v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] != "sec.example. 127.0.0.1" {
		t.Errorf("Notified saw %v", got)
	}
}
