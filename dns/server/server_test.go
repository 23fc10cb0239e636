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

// plainPacketConn hides the *net.UDPConn, so Serve takes miekg/dns's
// one-packet-at-a-time path instead of the batched one.
type plainPacketConn struct{ net.PacketConn }

// TestUDPPaths sends the same packets to the batched UDP path and to
// miekg/dns's path and wants the same answers: a query, a TSIG-signed
// query (signed answer), a bad signature, garbage (FORMERR), an opcode we
// do not serve (NOTIMP), a response (dropped) and a query longer than the
// read buffer.
func TestUDPPaths(t *testing.T) {
	s := New(loadTestZones(t), Config{Keys: []Key{testKey}})
	serve := func(pc net.PacketConn) string {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, pc, nil) }()
		t.Cleanup(func() { cancel(); <-done })
		return pc.LocalAddr().String()
	}
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	batched, plain := listen(), listen()
	if batchable(batched) == nil || batchable(plainPacketConn{plain}) != nil {
		t.Fatal("batchable: wrong path chosen")
	}
	addrs := map[string]string{"batched": serve(batched), "miekg": serve(plainPacketConn{plain})}

	query := func(name string, typ uint16) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, typ)
		m.Id = 4242
		b, _ := m.Pack()
		return b
	}
	signed := func(secret string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("example.com.", dns.TypeSOA)
		m.Id = 4243
		m.SetTsig(testKey.Name, dns.HmacSHA256, 300, time.Now().Unix())
		b, _, err := dns.TsigGenerate(m, secret, "", false)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	notimp := query("example.com.", dns.TypeSOA)
	notimp[2] |= byte(dns.OpcodeUpdate+1) << 3 // opcode 6: not served
	resp := query("example.com.", dns.TypeSOA)
	resp[2] |= 0x80 // QR
	long := append(query("www.example.com.", dns.TypeA), make([]byte, udpReadBuf)...)
	packets := map[string][]byte{
		"query":    query("www.example.com.", dns.TypeA),
		"signed":   signed(testKey.Secret),
		"bad sig":  signed("b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA=="),
		"garbage":  append([]byte{0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0xc0, 0x0c),
		"notimp":   notimp,
		"response": resp,
		"too long": long,
	}
	for name, pkt := range packets {
		got := map[string]*dns.Msg{}
		for path, addr := range addrs {
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write(pkt)
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 65535)
			n, err := c.Read(buf)
			c.Close()
			if err != nil {
				got[path] = nil // dropped
				continue
			}
			m := new(dns.Msg)
			if err := m.Unpack(buf[:n]); err != nil {
				t.Fatalf("%s via %s: unpack: %v", name, path, err)
			}
			if name == "signed" {
				if err := dns.TsigVerify(buf[:n], testKey.Secret, pkt2MAC(t, pkt), false); err != nil {
					t.Errorf("%s via %s: answer signature: %v", name, path, err)
				}
			}
			if t := m.IsTsig(); t != nil {
				t.TimeSigned, t.MAC, t.MACSize = 0, "", 0 // differ by time
			}
			got[path] = m
		}
		b, p := got["batched"], got["miekg"]
		if (b == nil) != (p == nil) || b != nil && b.String() != p.String() {
			t.Errorf("%s: batched path answered\n%v\nmiekg/dns's path\n%v", name, b, p)
		}
	}
}

// pkt2MAC is the MAC of a signed request, which the answer's MAC covers.
func pkt2MAC(t *testing.T, pkt []byte) string {
	m := new(dns.Msg)
	if err := m.Unpack(pkt); err != nil || m.IsTsig() == nil {
		t.Fatalf("request: %v", err)
	}
	return m.IsTsig().MAC
}

// TestSetKeys replaces the TSIG keys of a running server: a key unknown
// at first is BADKEY, then accepted over UDP and TCP, and refused again
// once removed.
func TestSetKeys(t *testing.T) {
	s := New(loadTestZones(t), Config{Keys: []Key{testKey}})
	addr := startServer(t, s)
	other := Key{Name: "other-key.", Algorithm: dns.HmacSHA512, Secret: "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA=="}
	ask := func(network string) (*dns.Msg, error) {
		m := new(dns.Msg)
		m.SetQuestion("example.com.", dns.TypeSOA)
		m.SetTsig(other.Name, other.Algorithm, 300, time.Now().Unix())
		c := &dns.Client{Net: network, Timeout: 2 * time.Second, TsigSecret: map[string]string{other.Name: other.Secret}}
		r, _, err := c.Exchange(m, addr)
		return r, err
	}
	refused := func(when, network string) {
		t.Helper()
		r, err := ask(network)
		// The answer carries an unsigned TSIG with the error, which the
		// client reports as well.
		if r == nil || r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadKey {
			t.Fatalf("%s %s: %v %v, want NOTAUTH with BADKEY", network, when, r, err)
		}
	}
	refused("before SetKeys", "udp")
	refused("before SetKeys", "tcp")
	s.SetKeys([]Key{testKey, other})
	for _, network := range []string{"udp", "tcp"} {
		r, err := ask(network) // the client verifies the answer's signature
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s after SetKeys: %v %v", network, r, err)
		}
	}
	s.SetKeys([]Key{testKey})
	refused("after the key is removed", "udp")
}
