package server

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// The differential and secondary tests share these generated zones: the
// same text goes to knotd, nsd and our server.

// rdataFor returns zone-file rdata of type t for host number i of zone.
func rdataFor(t uint16, i int, zone string) string {
	switch t {
	case dns.TypeA:
		return fmt.Sprintf("192.0.2.%d", i%250+1)
	case dns.TypeAAAA:
		return fmt.Sprintf("2001:db8::%x", i+1)
	case dns.TypeMX:
		return fmt.Sprintf("%d h%d", 10+i%3*10, (i+1)%20)
	case dns.TypeTXT:
		return fmt.Sprintf("\"txt-%d\" \"second string\"", i)
	case dns.TypeSPF:
		return "\"v=spf1 -all\""
	case dns.TypeCAA:
		return "0 issue \"letsencrypt.org\""
	case dns.TypeSSHFP:
		return fmt.Sprintf("1 1 %040x", i+1)
	case dns.TypeNAPTR:
		return fmt.Sprintf("100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.%s", zone)
	case dns.TypeTLSA:
		return fmt.Sprintf("3 1 1 %064X", i+7)
	case dns.TypeSVCB:
		return fmt.Sprintf("1 h%d alpn=h2,h3 port=8443", (i+2)%20)
	case dns.TypeHTTPS:
		return "1 . alpn=h2"
	case dns.TypePTR:
		return fmt.Sprintf("h%d.%s", (i+3)%20, zone)
	case dns.TypeSRV:
		return fmt.Sprintf("0 5 443 h%d", (i+4)%20)
	}
	panic("no rdata for " + dns.TypeToString[t])
}

// hostTypes are the types generated hosts draw from.
var hostTypes = []uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeSPF, dns.TypeCAA,
	dns.TypeSSHFP, dns.TypeNAPTR, dns.TypeTLSA, dns.TypeSVCB, dns.TypeHTTPS,
	dns.TypePTR, dns.TypeSRV,
}

// mixCase upper-cases letters of s at random.
func mixCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' && r.IntN(2) == 0 {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

const ds = "12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0AF7BF8AB0D9D1D8F8B02A50"

// genZones writes the test zones: zone1.test. (hosts with every type,
// wildcards, empty non-terminals, CNAME chains, delegations with glue,
// big RRsets, mixed-case owners), its child sub.zone1.test., example.org.
// and a reverse zone. serial sets zone1's SOA serial.
func genZones(seed uint64, serial uint32) map[string]string {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("$ORIGIN zone1.test.\n$TTL 3600")
	w("@ 3600 IN SOA ns1.zone1.test. hostmaster.zone1.test. %d 7200 3600 1209600 300", serial)
	w("@ NS ns1\n@ NS ns2\n@ NS ns.outside.example.")
	w("@ MX 10 mail\n@ A 192.0.2.1\n@ AAAA 2001:db8::1\n@ TXT \"apex\"\n@ CAA 0 issue \"ca.example\"")
	w("ns1 A 192.0.2.53\nns1 AAAA 2001:db8::53\nns2 A 192.0.2.54")
	w("mail A 192.0.2.25\nmail AAAA 2001:db8::25")
	for i := 0; i < 20; i++ {
		owner := fmt.Sprintf("h%d", i)
		if i%5 == 4 {
			owner = fmt.Sprintf("h%d.lab%d", i, i%3) // lab0..2 are empty non-terminals
		}
		if i%4 == 1 {
			owner = mixCase(r, owner)
		}
		types := slices.Clone(hostTypes)
		r.Shuffle(len(types), func(a, c int) { types[a], types[c] = types[c], types[a] })
		ttl := []int{60, 300, 3600}[r.IntN(3)]
		for _, t := range types[:2+r.IntN(5)] {
			w("%s %d %s %s", owner, ttl, dns.TypeToString[t], rdataFor(t, i, "zone1.test."))
		}
		if i%3 == 0 {
			w("%s %d A 192.0.2.%d", owner, ttl, 100+i)
		}
	}
	// Wildcards (RFC 4592): a plain one, one with a CNAME, one whose
	// parent is an empty non-terminal, names that exist beside them.
	w("*.wild A 192.0.2.99\n*.wild TXT \"wild\"\n*.wild MX 10 mail")
	w("exists.wild A 192.0.2.98\nx.ent.wild A 192.0.2.97")
	w("*.cw CNAME h0\n*.deep.ent2 AAAA 2001:db8::99\nWild.Mixed A 192.0.2.96\n*.Mixed TXT \"mixed wild\"")
	// CNAME chains: in zone, to nothing, out of zone, to our other zone,
	// to a wildcard, loops, into a delegation, to an empty non-terminal.
	w("c0 CNAME c1\nC1 CNAME c2\nc2 CNAME h0\nc3 CNAME c0")
	w("cn-missing CNAME nothere\ncn-out CNAME www.outside.example.\ncn-org CNAME www.example.org.")
	w("cn-wild CNAME foo.wild\ncn-cw CNAME a.cw\nloop1 CNAME loop2\nloop2 CNAME loop1\nself CNAME self")
	w("cn-deleg CNAME x.deleg1\ncn-ent CNAME lab0\ncn-mail CNAME mail\ncn-sub CNAME www.sub")
	w("cn-apex CNAME @\nlong0 CNAME long1")
	for i := 1; i < 12; i++ {
		w("long%d CNAME long%d", i, i+1)
	}
	w("long12 A 192.0.2.12")
	// Delegations: glue below the cut, an in-zone name, out of zone,
	// DS at the cut, data occluded below it, the child zone sub.
	w("deleg1 NS ns.deleg1\ndeleg1 NS ns.outside.example.\ndeleg1 DS %s", ds)
	w("ns.deleg1 A 192.0.2.201\nns.deleg1 AAAA 2001:db8::201\nhidden.deleg1 A 192.0.2.202")
	w("deleg2 NS ns1\ndeleg2 NS ns2\nDeleg3 NS ns.Deleg3\nns.deleg3 A 192.0.2.203")
	w("sub NS ns.sub\nsub DS %s\nns.sub A 192.0.2.210", ds)
	// Big RRsets for truncation: over 512 bytes, and over 1232.
	for i := 0; i < 6; i++ {
		w("big TXT \"%s\"", strings.Repeat(string(rune('a'+i)), 180))
	}
	for i := 0; i < 12; i++ {
		w("huge TXT \"%s\"", strings.Repeat(string(rune('a'+i)), 200))
	}
	for i := 0; i < 40; i++ {
		w("many A 192.0.2.%d", i+1)
	}
	w("_sip._udp SRV 0 5 5060 mail\n_sip._tcp SRV 0 5 5060 h3\n_sip._tcp SRV 0 5 5061 out.outside.example.")
	w("ptr PTR h1.zone1.test.\nsshfp SSHFP 4 2 %064x", 42)
	zones := map[string]string{"zone1.test.": b.String()}
	for name, text := range staticZones {
		zones[name] = text
	}
	return zones
}

// staticZones are the generated set's fixed members: zone1's child, a
// zone with mixed-case owners, a reverse zone.
var staticZones = map[string]string{
	"sub.zone1.test.": `$ORIGIN sub.zone1.test.
$TTL 600
@ SOA ns.sub.zone1.test. h.sub.zone1.test. 7 3600 600 86400 120
@ NS ns
ns A 192.0.2.210
www A 192.0.2.211
*.w CNAME www
`,
	"example.org.": `$ORIGIN example.org.
$TTL 300
@ SOA ns.example.org. hostmaster.example.org. 2024010101 3600 600 86400 3600
@ NS ns
ns A 198.51.100.53
WWW A 198.51.100.80
www AAAA 2001:db8:1::80
Mixed.Case.Name TXT "case"
alias CNAME www.zone1.test.
`,
	"2.0.192.in-addr.arpa.": `$ORIGIN 2.0.192.in-addr.arpa.
$TTL 900
@ SOA ns1.zone1.test. hostmaster.zone1.test. 1 3600 600 86400 900
@ NS ns1.zone1.test.
1 PTR zone1.test.
25 PTR mail.zone1.test.
53 PTR ns1.zone1.test.
`,
}
