package server

import (
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// tcase is one query and the response it must get, CoreDNS style.
type tcase struct {
	Qname  string
	Qtype  uint16
	Rcode  int
	NoAA   bool // AA must be clear (referrals, refusals)
	TC     bool
	Answer []string
	Ns     []string
	Extra  []string // OPT and TSIG are left out of the comparison
	Req    func(*dns.Msg)
	TCP    bool
}

func loadTestZones(t testing.TB) *Zones {
	t.Helper()
	texts := map[string]string{}
	for origin, file := range map[string]string{
		"example.com.":       "testdata/example.com.zone",
		"child.example.com.": "testdata/child.example.com.zone",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts[origin] = string(b)
	}
	return mustZones(t, texts)
}

const (
	soaNeg   = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"
	mailA    = "mail.example.com. 3600 IN A 192.0.2.25"
	mailAAAA = "mail.example.com. 3600 IN AAAA 2001:db8::25"
)

var answerCases = map[string]tcase{
	"exact A":           {Qname: "www.example.com.", Qtype: dns.TypeA, Answer: []string{"www.example.com. 3600 IN A 192.0.2.80"}},
	"NXDOMAIN":          {Qname: "nope.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaNeg}},
	"NODATA":            {Qname: "www.example.com.", Qtype: dns.TypeMX, Ns: []string{soaNeg}},
	"apex SOA":          {Qname: "example.com.", Qtype: dns.TypeSOA, Answer: []string{"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	"apex NS with glue": {Qname: "example.com.", Qtype: dns.TypeNS, Answer: []string{"example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.net."}, Extra: []string{"ns1.example.com. 3600 IN A 192.0.2.53"}},
	"MX additional":     {Qname: "example.com.", Qtype: dns.TypeMX, Answer: []string{"example.com. 3600 IN MX 10 mail.example.com."}, Extra: []string{mailA, mailAAAA}},
	"SRV additional":    {Qname: "_sip._tcp.example.com.", Qtype: dns.TypeSRV, Answer: []string{"_sip._tcp.example.com. 3600 IN SRV 0 5 5060 mail.example.com."}, Extra: []string{mailA, mailAAAA}},
	"SVCB additional":   {Qname: "svcb.example.com.", Qtype: dns.TypeSVCB, Answer: []string{"svcb.example.com. 3600 IN SVCB 1 www.example.com. alpn=\"h2\" port=\"8443\""}, Extra: []string{"www.example.com. 3600 IN A 192.0.2.80"}},
	"HTTPS":             {Qname: "https.example.com.", Qtype: dns.TypeHTTPS, Answer: []string{"https.example.com. 3600 IN HTTPS 1 . alpn=\"h2\""}},
	"TXT":               {Qname: "txt.example.com.", Qtype: dns.TypeTXT, Answer: []string{"txt.example.com. 3600 IN TXT \"hello\" \"world\""}},
	"SPF":               {Qname: "spf.example.com.", Qtype: dns.TypeSPF, Answer: []string{"spf.example.com. 3600 IN SPF \"v=spf1 -all\""}},
	"CAA":               {Qname: "caa.example.com.", Qtype: dns.TypeCAA, Answer: []string{"caa.example.com. 3600 IN CAA 0 issue \"letsencrypt.org\""}},
	"SSHFP":             {Qname: "sshfp.example.com.", Qtype: dns.TypeSSHFP, Answer: []string{"sshfp.example.com. 3600 IN SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"}},
	"NAPTR":             {Qname: "naptr.example.com.", Qtype: dns.TypeNAPTR, Answer: []string{"naptr.example.com. 3600 IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com."}},
	"TLSA":              {Qname: "tlsa.example.com.", Qtype: dns.TypeTLSA, Answer: []string{"tlsa.example.com. 3600 IN TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
	"PTR":               {Qname: "ptr.example.com.", Qtype: dns.TypePTR, Answer: []string{"ptr.example.com. 3600 IN PTR www.example.com."}},
	"AAAA":              {Qname: "mail.example.com.", Qtype: dns.TypeAAAA, Answer: []string{mailAAAA}},

	"wildcard":                  {Qname: "foo.wild.example.com.", Qtype: dns.TypeA, Answer: []string{"foo.wild.example.com. 3600 IN A 192.0.2.99"}},
	"wildcard many labels":      {Qname: "a.b.wild.example.com.", Qtype: dns.TypeA, Answer: []string{"a.b.wild.example.com. 3600 IN A 192.0.2.99"}},
	"wildcard MX additional":    {Qname: "m.wild.example.com.", Qtype: dns.TypeMX, Answer: []string{"m.wild.example.com. 3600 IN MX 10 mail.example.com."}, Extra: []string{mailA, mailAAAA}},
	"wildcard NODATA":           {Qname: "foo.wild.example.com.", Qtype: dns.TypeTXT, Ns: []string{soaNeg}},
	"wildcard not for existing": {Qname: "exists.wild.example.com.", Qtype: dns.TypeA, Ns: []string{soaNeg}},
	"empty non-terminal":        {Qname: "ent.wild.example.com.", Qtype: dns.TypeA, Ns: []string{soaNeg}},
	"ENT blocks wildcard":       {Qname: "y.ent.wild.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaNeg}},
	"wildcard owner itself":     {Qname: "*.wild.example.com.", Qtype: dns.TypeA, Answer: []string{"*.wild.example.com. 3600 IN A 192.0.2.99"}},

	"CNAME chain": {Qname: "chain.example.com.", Qtype: dns.TypeA, Answer: []string{
		"chain.example.com. 3600 IN CNAME cname.example.com.", "cname.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 3600 IN A 192.0.2.80"}},
	"CNAME query":         {Qname: "cname.example.com.", Qtype: dns.TypeCNAME, Answer: []string{"cname.example.com. 3600 IN CNAME www.example.com."}},
	"CNAME out of zone":   {Qname: "ext.example.com.", Qtype: dns.TypeA, Answer: []string{"ext.example.com. 3600 IN CNAME www.example.org."}},
	"CNAME loop":          {Qname: "loop.example.com.", Qtype: dns.TypeA, Answer: []string{"loop.example.com. 3600 IN CNAME loop.example.com."}},
	"CNAME to wildcard":   {Qname: "wcname.example.com.", Qtype: dns.TypeA, Answer: []string{"wcname.example.com. 3600 IN CNAME foo.wild.example.com.", "foo.wild.example.com. 3600 IN A 192.0.2.99"}},
	"CNAME then NODATA":   {Qname: "cname.example.com.", Qtype: dns.TypeMX, Answer: []string{"cname.example.com. 3600 IN CNAME www.example.com."}, Ns: []string{soaNeg}},
	"ANY one RRset":       {Qname: "example.com.", Qtype: dns.TypeANY, Answer: []string{"example.com. 3600 IN A 192.0.2.1"}},
	"ANY at CNAME":        {Qname: "cname.example.com.", Qtype: dns.TypeANY, Answer: []string{"cname.example.com. 3600 IN CNAME www.example.com."}},
	"ANY nxdomain":        {Qname: "nope.example.com.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Ns: []string{soaNeg}},
	"referral":            {Qname: "host.deleg.example.com.", Qtype: dns.TypeA, NoAA: true, Ns: []string{"deleg.example.com. 3600 IN NS ns.deleg.example.com.", "deleg.example.com. 3600 IN NS ns.other.net."}, Extra: []string{"ns.deleg.example.com. 3600 IN A 192.0.2.200"}},
	"referral at cut":     {Qname: "deleg.example.com.", Qtype: dns.TypeNS, NoAA: true, Ns: []string{"deleg.example.com. 3600 IN NS ns.deleg.example.com.", "deleg.example.com. 3600 IN NS ns.other.net."}, Extra: []string{"ns.deleg.example.com. 3600 IN A 192.0.2.200"}},
	"glue is a referral":  {Qname: "ns.deleg.example.com.", Qtype: dns.TypeA, NoAA: true, Ns: []string{"deleg.example.com. 3600 IN NS ns.deleg.example.com.", "deleg.example.com. 3600 IN NS ns.other.net."}, Extra: []string{"ns.deleg.example.com. 3600 IN A 192.0.2.200"}},
	"DS at cut by parent": {Qname: "deleg.example.com.", Qtype: dns.TypeDS, Answer: []string{"deleg.example.com. 3600 IN DS 12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0AF7BF8AB0D9D1D8F8B02A50"}},
	"DS of child zone":    {Qname: "child.example.com.", Qtype: dns.TypeDS, Answer: []string{"child.example.com. 3600 IN DS 54321 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0AF7BF8AB0D9D1D8F8B02A50"}},
	"child zone wins":     {Qname: "www.child.example.com.", Qtype: dns.TypeA, Answer: []string{"www.child.example.com. 600 IN A 192.0.2.211"}},
	"child NXDOMAIN SOA":  {Qname: "no.child.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{"child.example.com. 600 IN SOA ns.child.example.com. hostmaster.child.example.com. 7 3600 600 86400 900"}},
	"outside our zones":   {Qname: "www.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NoAA: true},
	"class CH refused":    {Qname: "www.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NoAA: true, Req: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }},
	"class ANY answered":  {Qname: "www.example.com.", Qtype: dns.TypeA, Answer: []string{"www.example.com. 3600 IN A 192.0.2.80"}, Req: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }},

	"truncated without EDNS": {Qname: "big.example.com.", Qtype: dns.TypeTXT, TC: true},
	"fits with EDNS 1232":    {Qname: "big.example.com.", Qtype: dns.TypeTXT, Answer: bigTXT, Req: edns(4096, 0)},
	"fits over TCP":          {Qname: "big.example.com.", Qtype: dns.TypeTXT, Answer: bigTXT, TCP: true},
	"EDNS 512 truncates":     {Qname: "big.example.com.", Qtype: dns.TypeTXT, TC: true, Req: edns(100, 0)},
	"BADVERS":                {Qname: "www.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeBadVers, NoAA: true, Req: edns(1232, 1)},
	"two OPT is FORMERR": {Qname: "www.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeFormatError, NoAA: true, Req: func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		m.SetEdns0(1232, false)
		m.Extra = append(m.Extra, m.Extra[0])
	}},
	"UPDATE not implemented": {Qname: "example.com.", Qtype: dns.TypeSOA, Rcode: dns.RcodeNotImplemented, NoAA: true, Req: func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }},
	"NOTIFY acknowledged":    {Qname: "example.com.", Qtype: dns.TypeSOA, Req: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }},
	"NOTIFY other zone":      {Qname: "example.org.", Qtype: dns.TypeSOA, Rcode: dns.RcodeNotAuth, NoAA: true, Req: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }},
	"AXFR refused":           {Qname: "example.com.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeRefused, NoAA: true, TCP: true},
	"qtype OPT":              {Qname: "example.com.", Qtype: dns.TypeOPT, Rcode: dns.RcodeFormatError, NoAA: true},
}

var bigTXT = func() []string {
	var out []string
	for _, c := range "abcd" {
		out = append(out, "big.example.com. 3600 IN TXT \""+strings.Repeat(string(c), 180)+"\"")
	}
	return out
}()

func edns(size uint16, version uint8) func(*dns.Msg) {
	return func(m *dns.Msg) {
		m.SetEdns0(size, false)
		m.IsEdns0().SetVersion(version)
	}
}

func TestAnswer(t *testing.T) {
	s := New(loadTestZones(t), Config{})
	for name, tc := range answerCases {
		t.Run(name, func(t *testing.T) {
			req := new(dns.Msg)
			req.SetQuestion(tc.Qname, tc.Qtype)
			if tc.Req != nil {
				tc.Req(req)
			}
			w := udpWriter()
			if tc.TCP {
				w = tcpWriter()
			}
			s.ServeDNS(w, req)
			resp := w.last(t)
			checkResponse(t, tc, req, resp)
		})
	}
}

func checkResponse(t *testing.T, tc tcase, req, resp *dns.Msg) {
	t.Helper()
	if resp.Id != req.Id || !resp.Response || resp.Opcode != req.Opcode {
		t.Errorf("header id/qr/opcode %d/%v/%d, want %d/true/%d", resp.Id, resp.Response, resp.Opcode, req.Id, req.Opcode)
	}
	if resp.Rcode != tc.Rcode {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if resp.Authoritative == tc.NoAA {
		t.Errorf("AA %v, want %v", resp.Authoritative, !tc.NoAA)
	}
	if resp.Truncated != tc.TC {
		t.Errorf("TC %v, want %v", resp.Truncated, tc.TC)
	}
	if (req.IsEdns0() != nil) != (resp.IsEdns0() != nil) && resp.Rcode != dns.RcodeFormatError {
		t.Errorf("OPT in response %v, in request %v", resp.IsEdns0() != nil, req.IsEdns0() != nil)
	}
	for _, sec := range []struct {
		name string
		want []string
		got  []dns.RR
	}{{"answer", tc.Answer, resp.Answer}, {"authority", tc.Ns, resp.Ns}, {"additional", tc.Extra, resp.Extra}} {
		var want []dns.RR
		for _, s := range sec.want {
			want = append(want, mustRR(t, s))
		}
		if missing, extra := setDiff(want, sec.got); len(missing)+len(extra) > 0 {
			t.Errorf("%s: missing %q, extra %q", sec.name, missing, extra)
		}
	}
}

// TestAnswerCase checks that the question and the records owned by the
// query name keep the client's spelling, as Knot DNS answers, while the
// rest of the data keeps the zone's.
func TestAnswerCase(t *testing.T) {
	s := New(loadTestZones(t), Config{})
	for _, tc := range []struct {
		qname  string
		qtype  uint16
		owners []string
	}{
		{"WwW.ExAmple.COM.", dns.TypeA, []string{"WwW.ExAmple.COM."}},
		{"FOO.Wild.example.com.", dns.TypeA, []string{"FOO.Wild.example.com."}},
		{"Chain.Example.com.", dns.TypeA, []string{"Chain.Example.com.", "cname.example.com.", "www.example.com."}},
		{"www.example.com.", dns.TypeA, []string{"www.example.com."}},
	} {
		req := new(dns.Msg)
		req.SetQuestion(tc.qname, tc.qtype)
		w := udpWriter()
		s.ServeDNS(w, req)
		resp := w.last(t)
		if resp.Question[0].Name != tc.qname {
			t.Errorf("%s: question %q", tc.qname, resp.Question[0].Name)
		}
		var owners []string
		for _, rr := range resp.Answer {
			owners = append(owners, rr.Header().Name)
		}
		if strings.Join(owners, " ") != strings.Join(tc.owners, " ") {
			t.Errorf("%s: owners %q, want %q", tc.qname, owners, tc.owners)
		}
	}
	// The stored records are shared, never renamed in place.
	req := new(dns.Msg)
	req.SetQuestion("www.example.com.", dns.TypeA)
	w := udpWriter()
	s.ServeDNS(w, req)
	if got := w.last(t).Answer[0].Header().Name; got != "www.example.com." {
		t.Errorf("stored owner changed to %q", got)
	}
}

// TestNegativeTTL checks RFC 2308 5: the SOA in negative answers has the
// smaller of its own TTL and its MINIMUM field.
func TestNegativeTTL(t *testing.T) {
	zs := mustZones(t, map[string]string{"a.test.": "$ORIGIN a.test.\n@ 60 SOA ns h 1 2 3 4 3600\n@ 60 NS ns\nns 60 A 192.0.2.1\n"})
	req := new(dns.Msg)
	req.SetQuestion("x.a.test.", dns.TypeA)
	w := udpWriter()
	New(zs, Config{}).ServeDNS(w, req)
	resp := w.last(t)
	if len(resp.Ns) != 1 || resp.Ns[0].Header().Ttl != 60 {
		t.Fatalf("authority %v, want the SOA with TTL 60", resp.Ns)
	}
}
