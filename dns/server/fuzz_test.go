package server

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveBytes feeds one packet through the path a UDP query takes in
// Serve (answerPacket: header check, accept function, unpacking with its
// FORMERR and NOTIMP replies, TSIG, then ServeDNS). It returns what was
// written, or nil when the packet is dropped.
func serveBytes(s *Server, b []byte) [][]byte {
	local := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}
	if out := s.answerPacket(b, local, remote, nil); out != nil {
		return [][]byte{out}
	}
	return nil
}

// FuzzServeDNS checks that no packet makes the server panic and that
// every reply is one well-formed DNS message.
func FuzzServeDNS(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	s := New(loadTestZones(f), Config{Keys: []Key{testKey}, Transfer: []ACL{{}}})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, out := range serveBytes(s, b) {
			m := new(dns.Msg)
			if err := m.Unpack(out); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if !m.Response {
				t.Fatal("reply without QR")
			}
			if len(out) > dns.MaxMsgSize {
				t.Fatalf("reply of %d bytes", len(out))
			}
		}
	})
}

// fuzzSeeds are valid queries of many kinds plus hostile packets: a
// compression pointer to itself, a pointer loop, an oversized message,
// counts that lie, a truncated header.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	pack := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.example.com.", dns.TypeA}, {"foo.wild.example.com.", dns.TypeMX}, {"big.example.com.", dns.TypeTXT},
		{"example.com.", dns.TypeAXFR}, {"example.com.", dns.TypeIXFR}, {"chain.example.com.", dns.TypeANY}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		pack(m)
		m.SetEdns0(512, true)
		pack(m)
	}
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeSOA)
	m.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
	b, _, err := dns.TsigGenerate(m, testKey.Secret, "", false)
	if err != nil {
		tb.Fatal(err)
	}
	seeds = append(seeds, b)
	m = new(dns.Msg)
	m.SetNotify("example.com.")
	pack(m)

	hdr := []byte{0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	// Question name that is a pointer to itself (offset 12).
	seeds = append(seeds, append(append([]byte{}, hdr...), 0xc0, 12, 0, 1, 0, 1))
	// Two pointers pointing at each other.
	seeds = append(seeds, append(append([]byte{}, hdr...), 0xc0, 14, 0xc0, 12, 0, 1, 0, 1))
	// A label then a pointer back to the start of the name.
	seeds = append(seeds, append(append([]byte{}, hdr...), 3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1))
	// Oversized: a valid query followed by 70,000 bytes of junk.
	big := append(append([]byte{}, seeds[0]...), make([]byte, 70000)...)
	seeds = append(seeds, big)
	// Counts that promise records that are not there.
	lie := append([]byte{}, seeds[0]...)
	lie[7], lie[11] = 5, 2
	seeds = append(seeds, lie)
	seeds = append(seeds, hdr[:7], []byte{})
	return seeds
}

// TestHostilePackets sends the fuzz seeds to a running server over UDP
// and checks it still answers afterwards.
func TestHostilePackets(t *testing.T) {
	s := New(loadTestZones(t), Config{})
	addr := startServer(t, s)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, seed := range fuzzSeeds(t) {
		if len(seed) > 65000 {
			seed = seed[:65000]
		}
		conn.Write(seed)
		for _, out := range serveBytes(s, seed) {
			if err := new(dns.Msg).Unpack(out); err != nil {
				t.Errorf("reply to %x... does not parse: %v", seed[:min(len(seed), 16)], err)
			}
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("server stopped answering after hostile packets: %v %v", r, err)
	}
}
