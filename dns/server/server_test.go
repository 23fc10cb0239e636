package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestServeUDPAndTCP checks answers on both transports and that a
// truncated UDP answer is complete when the client retries over TCP.
func TestServeUDPAndTCP(t *testing.T) {
	addr := startServer(t, New(loadTestZones(t), Config{}))
	m := new(dns.Msg)
	m.SetQuestion("big.example.com.", dns.TypeTXT)
	udp := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := udp.Exchange(m, addr)
	if err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("UDP: %v %v, want TC and no answer", r, err)
	}
	tcp := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err = tcp.Exchange(m, addr)
	if err != nil || r.Truncated || len(r.Answer) != 4 {
		t.Fatalf("TCP: %v %v, want 4 TXT records", r, err)
	}
}

// TestServeStops checks that Serve returns nil when ctx ends and closes
// the listeners it was given.
func TestServeStops(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(nil, Config{}).Serve(ctx, udp, tcp) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20s of cancel")
	}
	if _, err := net.Dial("tcp", tcp.Addr().String()); err == nil {
		t.Error("TCP listener still open")
	}
	if err := New(nil, Config{}).Serve(context.Background(), nil, nil); err == nil {
		t.Error("Serve without listeners: no error")
	}
}

// TestNoZones checks that a server without zones refuses queries.
func TestNoZones(t *testing.T) {
	var d Dynamic
	w := udpWriter()
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	New(&d, Config{}).ServeDNS(w, m)
	if r := w.last(t); r.Rcode != dns.RcodeRefused {
		t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}
