package server

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// discardWriter is a ResponseWriter that drops what it is given.
type discardWriter struct{ addr net.Addr }

func (w discardWriter) LocalAddr() net.Addr         { return w.addr }
func (w discardWriter) RemoteAddr() net.Addr        { return w.addr }
func (w discardWriter) WriteMsg(m *dns.Msg) error   { _, err := m.Pack(); return err }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) Close() error                { return nil }
func (w discardWriter) TsigStatus() error           { return nil }
func (w discardWriter) TsigTimersOnly(bool)         {}
func (w discardWriter) Hijack()                     {}

// BenchmarkQuery measures the query path in memory: from an unpacked
// request to the packed response bytes handed to the writer.
func BenchmarkQuery(b *testing.B) {
	s := New(loadTestZones(b), Config{})
	w := discardWriter{addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"www.example.com.", dns.TypeA},
		{"WwW.ExAmple.com.", dns.TypeA},
		{"example.com.", dns.TypeMX},
		{"foo.wild.example.com.", dns.TypeA},
		{"nope.example.com.", dns.TypeA},
		{"host.deleg.example.com.", dns.TypeA},
		{"chain.example.com.", dns.TypeA},
	} {
		b.Run(fmt.Sprintf("%s/%s", strings.TrimSuffix(q.name, "."), dns.TypeToString[q.qtype]), func(b *testing.B) {
			req := new(dns.Msg)
			req.SetQuestion(q.name, q.qtype)
			req.SetEdns0(1232, false)
			b.ReportAllocs()
			for b.Loop() {
				s.ServeDNS(w, req)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkQueryParallel is BenchmarkQuery's first case on every core.
func BenchmarkQueryParallel(b *testing.B) {
	s := New(loadTestZones(b), Config{})
	w := discardWriter{addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := new(dns.Msg)
		req.SetQuestion("www.example.com.", dns.TypeA)
		for pb.Next() {
			s.ServeDNS(w, req)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkServeUDP measures whole UDP round trips on loopback through
// Serve (the miekg/dns server included), 8 clients at a time.
func BenchmarkServeUDP(b *testing.B) {
	addr := startServer(b, New(loadTestZones(b), Config{}))
	var fails atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := dns.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		req := new(dns.Msg)
		req.SetQuestion("www.example.com.", dns.TypeA)
		for pb.Next() {
			conn.SetDeadline(time.Now().Add(time.Second))
			if err := conn.WriteMsg(req); err != nil {
				fails.Add(1)
				continue
			}
			if _, err := conn.ReadMsg(); err != nil {
				fails.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	if n := fails.Load(); n > int64(b.N)/100 {
		b.Errorf("%d of %d queries failed", n, b.N)
	}
}

// bigZone returns a zone file of n records: n/2 names with an A record
// and n/2 with an AAAA, under one apex.
func bigZone(n int) string {
	var sb strings.Builder
	sb.Grow(n * 40)
	sb.WriteString("$ORIGIN big.test.\n$TTL 300\n@ SOA ns h 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&sb, "h%d A 10.%d.%d.%d\nh%d.v6 AAAA 2001:db8::%x:%x\n", i, i>>16&255, i>>8&255, i&255, i, i>>16, i&0xffff)
	}
	return sb.String()
}

// loadBig parses and indexes the zone text and returns the index, the
// time that took and the heap the index holds once the text is gone.
func loadBig(tb testing.TB, text string) (*Zones, time.Duration, uint64) {
	start := time.Now()
	z, err := ParseZone(strings.NewReader(text), "big.test.")
	if err != nil {
		tb.Fatal(err)
	}
	zs, err := Build([]Zone{z})
	if err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	z = Zone{}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return zs, took, ms.HeapAlloc
}

// BenchmarkLoad1M parses and indexes a one-million-record zone and
// reports the time, the heap the index holds afterwards and the peak
// resident size of the process (zone text included).
func BenchmarkLoad1M(b *testing.B) {
	text := bigZone(1_000_000)
	for b.Loop() {
		zs, took, heap := loadBig(b, text)
		b.ReportMetric(took.Seconds(), "s/load")
		b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
		if n, _ := zs.Serial("big.test."); n != 1 {
			b.Fatal("zone not loaded")
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "MiB-peak-rss")
	}
}

// TestLoadLarge is BenchmarkLoad1M's correctness half, kept small.
func TestLoadLarge(t *testing.T) {
	zs, _, _ := loadBig(t, bigZone(50_000))
	req := new(dns.Msg)
	req.SetQuestion("h24999.v6.big.test.", dns.TypeAAAA)
	w := udpWriter()
	New(zs, Config{}).ServeDNS(w, req)
	if r := w.last(t); len(r.Answer) != 1 {
		t.Fatalf("answer %v", r.Answer)
	}
}
