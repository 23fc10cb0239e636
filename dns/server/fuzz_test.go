package server

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// serveBytes feeds one packet through the path a UDP query takes: the
// miekg/dns server's header check, accept function and unpacking (with
// its FORMERR and NOTIMP replies), then ServeDNS. It returns what was
// written, or nil when the packet is dropped.
func serveBytes(s *Server, b []byte) [][]byte {
	w := udpWriter()
	w.secrets = s.secrets
	if len(b) < 12 {
		return nil // too short for a header: dropped
	}
	dh := dns.Header{
		Id: binary.BigEndian.Uint16(b), Bits: binary.BigEndian.Uint16(b[2:]),
		Qdcount: binary.BigEndian.Uint16(b[4:]), Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]), Arcount: binary.BigEndian.Uint16(b[10:]),
	}
	req := new(dns.Msg)
	action := dns.DefaultMsgAcceptFunc(dh)
	if action == dns.MsgIgnore {
		return nil
	}
	if action == dns.MsgAccept {
		if err := req.Unpack(b); err == nil {
			if req.IsTsig() != nil {
				w.tsig = dns.TsigVerifyWithProvider(b, dns.TsigProvider(tsigSecrets(s.secrets)), "", false)
			}
			s.ServeDNS(w, req)
			return w.out
		}
	}
	// As the miekg/dns server does: FORMERR (or NOTIMP) echoing the header.
	r := new(dns.Msg)
	r.Id = dh.Id
	r.Opcode = int(dh.Bits>>11) & 0xF
	r.Response = true
	r.Rcode = dns.RcodeFormatError
	if action == dns.MsgRejectNotImplemented {
		r.Rcode = dns.RcodeNotImplemented
	}
	w.WriteMsg(r)
	return w.out
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

// tsigSecrets is the miekg/dns secret-map provider, as its server uses.
type tsigSecrets map[string]string

func (ts tsigSecrets) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	return nil, dns.ErrSecret // only verification is needed here
}

func (ts tsigSecrets) Verify(msg []byte, t *dns.TSIG) error {
	secret, ok := ts[t.Hdr.Name]
	if !ok {
		return dns.ErrSecret
	}
	return dns.TsigVerify(msg, secret, "", false)
}
