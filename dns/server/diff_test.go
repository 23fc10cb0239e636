package server

import (
	"bufio"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDifferential sends the same generated queries over UDP to our
// server, Knot DNS (the reference) and NSD, all serving the same zones,
// and compares rcode, AA, TC, EDNS and every section as RR sets. A
// difference passes only when its key is listed, for that server, in
// testdata/differences.md with the RFC that allows it.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd and nsd")
	}
	zones := genZones(1, 1)
	allowed := readDifferences(t, "testdata/differences.md")
	knot := startKnot(t, zones, "")
	nsd := startNSD(t, zones)
	ours := startOurs(t, zones, Config{})
	built := mustZones(t, zones)

	queries := genQueries(t, zones, 3000)
	stats := map[string]int{}
	kinds := map[string]int{}
	failures := map[string][]string{} // key -> examples
	fail := func(key, detail, label string, ref, got *dns.Msg) {
		if len(failures[key]) < 2 {
			failures[key] = append(failures[key], fmt.Sprintf("%s\n%s\n--- %s:\n%s\n--- ours:\n%s", detail, label, strings.Fields(key)[0], ref, got))
		} else {
			failures[key] = append(failures[key], "")
		}
	}
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, q := range queries {
		want := exchange(t, c, knot, q)
		got := exchange(t, c, ours, q)
		kinds[kindOf(got)]++
		for _, d := range compare(want, got, true) {
			stats["knot "+d.key]++
			if !allowed["knot "+d.key] {
				fail("knot "+d.key, d.detail, q.label, want, got)
			}
		}
		other := exchange(t, c, nsd, q)
		keys, rest := explainNSD(built, q.msg, other, got)
		for _, k := range keys {
			stats["nsd "+k]++
			if !allowed["nsd "+k] {
				fail("nsd "+k, "known kind, but not listed", q.label, other, got)
			}
		}
		for _, d := range rest {
			stats["nsd "+d.key]++
			fail("nsd "+d.key, d.detail, q.label, other, got)
		}
	}
	t.Logf("%d queries to each of ours, knotd, nsd; listed differences seen: %v", len(queries), stats)
	t.Logf("our responses by kind: %v", kinds)
	for _, k := range []string{"NOERROR", "NODATA", "NXDOMAIN", "REFUSED", "BADVERS", "referral", "TC", "wildcard", "cname"} {
		if kinds[k] == 0 {
			t.Errorf("no query gave a %s response: the generator lost coverage", k)
		}
	}
	keys := slices.Sorted(maps.Keys(failures))
	for _, k := range keys {
		ex := failures[k]
		t.Errorf("difference %q not in testdata/differences.md: %d queries; first:\n%s", k, len(ex), strings.Join(ex[:min(2, len(ex))], "\n"))
	}
}

// kindOf sums a response up for the coverage tally.
func kindOf(m *dns.Msg) string {
	switch {
	case m.Truncated:
		return "TC"
	case m.Rcode == dns.RcodeBadVers:
		return "BADVERS"
	case m.Rcode != dns.RcodeSuccess:
		return dns.RcodeToString[m.Rcode]
	case !m.Authoritative && len(m.Ns) > 0:
		return "referral"
	case len(m.Answer) == 0:
		return "NODATA"
	case m.Answer[0].Header().Rrtype == dns.TypeCNAME && m.Question[0].Qtype != dns.TypeCNAME:
		return "cname"
	case strings.Contains(strings.ToLower(m.Question[0].Name), "wild"):
		return "wildcard"
	}
	return "NOERROR"
}

// query is one generated request.
type query struct {
	msg   *dns.Msg
	label string
}

func exchange(t *testing.T, c *dns.Client, d *daemon, q query) *dns.Msg {
	t.Helper()
	var err error
	for try := 0; try < 3; try++ {
		var r *dns.Msg
		m := q.msg.Copy()
		if r, _, err = c.Exchange(m, d.Addr); err == nil {
			return r
		}
	}
	t.Fatalf("%s: %s: %v", d.Name, q.label, err)
	return nil
}

// genQueries makes n queries over names from the zones (owners, empty
// non-terminals, names below them, below wildcards and cuts, outside
// every zone), every type, mixed case, EDNS on and off with small and
// large buffers, DO, unknown EDNS versions and other classes.
func genQueries(t *testing.T, zones map[string]string, n int) []query {
	r := rand.New(rand.NewPCG(42, 42))
	var owners, derived []string
	for origin, text := range zones {
		z, err := ParseZone(strings.NewReader(text), origin)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range z.Records {
			owner := rr.Header().Name
			owners = append(owners, owner)
			derived = append(derived, "nx."+owner, "a.b."+owner)
			if off, end := dns.NextLabel(owner, 0); !end {
				derived = append(derived, owner[off:])
			}
		}
	}
	derived = append(derived, "www.example.com.", "test.", "zone2.test.", "org.", ".",
		"a.very.deep.name.below.wild.zone1.test.", "x.wild.zone1.test.", "a.cw.zone1.test.",
		"q.deep.ent2.zone1.test.", "deep.ent2.zone1.test.", "z.w.sub.zone1.test.")
	for _, l := range [][]string{owners, derived} {
		slices.Sort(l)
	}
	owners, derived = slices.Compact(owners), slices.Compact(derived)
	big := []string{"big.zone1.test.", "huge.zone1.test.", "many.zone1.test."}
	types := append(slices.Clone(hostTypes), dns.TypeCNAME, dns.TypeNS, dns.TypeDS,
		dns.TypeSOA, dns.TypeANY, dns.TypeHINFO, 65280)
	out := make([]query, 0, n)
	for i := 0; i < n; i++ {
		var name string
		switch x := r.IntN(100); {
		case x < 5:
			name = big[r.IntN(len(big))]
		case x < 60:
			name = owners[r.IntN(len(owners))]
		default:
			name = derived[r.IntN(len(derived))]
		}
		if r.IntN(3) == 0 {
			name = mixCase(r, name)
		}
		m := new(dns.Msg)
		m.SetQuestion(name, types[r.IntN(len(types))])
		m.RecursionDesired = r.IntN(2) == 0
		switch x := r.IntN(100); {
		case x < 2:
			m.Question[0].Qclass = dns.ClassCHAOS
		case x < 4:
			m.Question[0].Qclass = dns.ClassANY
		}
		if r.IntN(10) < 7 {
			m.SetEdns0([]uint16{512, 1232, 4096, 600}[r.IntN(4)], r.IntN(5) == 0)
			if r.IntN(30) == 0 {
				m.IsEdns0().SetVersion(1)
			}
		}
		label := strings.ReplaceAll(m.Question[0].String()[1:], "\t", " ")
		if o := m.IsEdns0(); o != nil {
			label += fmt.Sprintf(" edns(v%d,bufsize=%d,do=%v)", o.Version(), o.UDPSize(), o.Do())
		}
		out = append(out, query{msg: m, label: label})
	}
	return out
}

// diff is one way two responses differ; key names the kind.
type diff struct {
	key    string
	detail string
}

// compare lists how got differs from want. checkCase also requires the
// question and first answer owner to be spelt alike.
func compare(want, got *dns.Msg, checkCase bool) []diff {
	var ds []diff
	add := func(key, format string, args ...any) { ds = append(ds, diff{key, fmt.Sprintf(format, args...)}) }
	if want.Rcode != got.Rcode {
		add("rcode", "rcode %s, want %s", dns.RcodeToString[got.Rcode], dns.RcodeToString[want.Rcode])
	}
	if want.Authoritative != got.Authoritative {
		add("aa", "AA %v, want %v", got.Authoritative, want.Authoritative)
	}
	if want.Truncated != got.Truncated {
		add("tc", "TC %v, want %v", got.Truncated, want.Truncated)
	}
	if want.RecursionDesired != got.RecursionDesired || want.RecursionAvailable != got.RecursionAvailable {
		add("rd-ra", "RD/RA %v/%v, want %v/%v", got.RecursionDesired, got.RecursionAvailable, want.RecursionDesired, want.RecursionAvailable)
	}
	if a, b := optString(want), optString(got); a != b {
		add("edns", "OPT %q, want %q", b, a)
	}
	if checkCase {
		if len(want.Question) == 1 && len(got.Question) == 1 && want.Question[0].Name != got.Question[0].Name {
			add("question-case", "question %q, want %q", got.Question[0].Name, want.Question[0].Name)
		}
		if len(want.Answer) > 0 && len(got.Answer) > 0 && want.Answer[0].Header().Name != got.Answer[0].Header().Name &&
			strings.EqualFold(want.Answer[0].Header().Name, got.Answer[0].Header().Name) {
			add("answer-case", "first answer owner %q, want %q", got.Answer[0].Header().Name, want.Answer[0].Header().Name)
		}
	}
	for _, s := range []struct {
		name      string
		want, got []dns.RR
	}{{"answer", want.Answer, got.Answer}, {"authority", want.Ns, got.Ns}, {"additional", want.Extra, got.Extra}} {
		missing, extra := setDiff(s.want, s.got)
		if len(missing)+len(extra) > 0 {
			add(s.name, "%s: missing %q, extra %q", s.name, missing, extra)
		}
	}
	return ds
}

// optString sums up the OPT record (nil: none) for comparison.
func optString(m *dns.Msg) string {
	o := m.IsEdns0()
	if o == nil {
		return ""
	}
	return fmt.Sprintf("v%d size=%d do=%v rcode=%s opts=%d", o.Version(), o.UDPSize(), o.Do(), dns.RcodeToString[m.Rcode], len(o.Option))
}

// setDiff compares sections as sets of records, names case-insensitive,
// TTLs included, OPT and TSIG left out.
func setDiff(want, got []dns.RR) (missing, extra []string) {
	norm := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			switch rr.Header().Rrtype {
			case dns.TypeOPT, dns.TypeTSIG:
				continue
			}
			out = append(out, strings.ToLower(rr.String()))
		}
		sort.Strings(out)
		return out
	}
	w, g := norm(want), norm(got)
	for _, s := range w {
		if !slices.Contains(g, s) {
			missing = append(missing, s)
		}
	}
	for _, s := range g {
		if !slices.Contains(w, s) {
			extra = append(extra, s)
		}
	}
	return missing, extra
}

// nsdRule recognises one way NSD answers differently from Knot DNS by
// design, and rewrites NSD's response (a copy) into what Knot and we
// send, so that only the differences no rule explains remain.
type nsdRule struct {
	key   string
	apply func(zs *Zones, q, nsd, ours *dns.Msg) bool
}

var nsdRules = []nsdRule{
	{"qclass-any", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD clears AA and leaves the SOA out for QCLASS ANY.
		if q.Question[0].Qclass != dns.ClassANY || n.Authoritative || !o.Authoritative {
			return false
		}
		n.Authoritative = true
		if len(n.Ns) == 0 && len(o.Ns) == 1 && o.Ns[0].Header().Rrtype == dns.TypeSOA {
			n.Ns = o.Ns
		}
		return true
	}},
	{"cname-chain-limit", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD follows longer CNAME chains than Knot's five.
		if countType(n.Answer, dns.TypeCNAME) <= maxChain || !isPrefix(o.Answer, n.Answer) {
			return false
		}
		n.Answer, n.Ns, n.Extra, n.Rcode = o.Answer, o.Ns, withOPT(o.Extra, n), o.Rcode
		return true
	}},
	{"cname-cross-zone", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD follows a CNAME into another zone it serves; Knot stops.
		if len(o.Answer) == 0 || !isPrefix(o.Answer, n.Answer) {
			return false
		}
		c, ok := o.Answer[len(o.Answer)-1].(*dns.CNAME)
		if !ok || zs.find(strings.ToLower(c.Target)) == zs.find(strings.ToLower(c.Hdr.Name)) {
			return false
		}
		n.Answer, n.Ns, n.Extra, n.Rcode = o.Answer, o.Ns, withOPT(o.Extra, n), o.Rcode
		return true
	}},
	{"any-rrset", func(zs *Zones, q, n, o *dns.Msg) bool {
		// RFC 8482 4.1: ANY gets one RRset, which one is the server's
		// choice; NSD's differs from Knot's lowest type.
		if q.Question[0].Qtype != dns.TypeANY || len(o.Answer) == 0 || len(n.Answer) == 0 ||
			o.Answer[0].Header().Rrtype == n.Answer[0].Header().Rrtype || setStart(n.Answer, len(n.Answer)) != 0 {
			return false
		}
		n.Answer, n.Extra = o.Answer, withOPT(o.Extra, n)
		return true
	}},
	{"svcb-additional", func(zs *Zones, q, n, o *dns.Msg) bool {
		// RFC 9460 4.1: SVCB and HTTPS targets' addresses go in the
		// additional section, as Knot does; NSD leaves them out.
		var targets []string
		for _, rr := range o.Answer {
			if t := target(rr); t != "" && (rr.Header().Rrtype == dns.TypeSVCB || rr.Header().Rrtype == dns.TypeHTTPS) {
				targets = append(targets, strings.ToLower(t))
			}
		}
		added := false
		for _, rr := range o.Extra {
			if slices.Contains(targets, strings.ToLower(rr.Header().Name)) && !containsRR(n.Extra, rr) {
				n.Extra = append(n.Extra, rr)
				added = true
			}
		}
		return added
	}},
	{"authority-ns", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD adds the apex NS RRset and its addresses to positive answers.
		if n.Rcode != dns.RcodeSuccess || len(n.Answer) == 0 {
			return false
		}
		var targets []string
		ns := n.Ns[:0:0]
		for _, rr := range n.Ns {
			if x, ok := rr.(*dns.NS); ok && !containsRR(o.Ns, rr) {
				targets = append(targets, strings.ToLower(x.Ns))
				continue
			}
			ns = append(ns, rr)
		}
		if len(targets) == 0 {
			return false
		}
		extra := n.Extra[:0:0]
		for _, rr := range n.Extra {
			if slices.Contains(targets, strings.ToLower(rr.Header().Name)) && !containsRR(o.Extra, rr) {
				continue
			}
			extra = append(extra, rr)
		}
		n.Ns, n.Extra = ns, extra
		return true
	}},
	{"ede", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD sends EDE 21 with REFUSED for other classes, not EDE 20
		// for names outside its zones (RFC 8914 codes are advisory).
		no, oo := n.IsEdns0(), o.IsEdns0()
		if no == nil || oo == nil || len(no.Option) == len(oo.Option) {
			return false
		}
		no.Option = oo.Option
		return true
	}},
	{"badvers-do", func(zs *Zones, q, n, o *dns.Msg) bool {
		// NSD drops the DO bit from BADVERS responses; Knot copies it.
		no, oo := n.IsEdns0(), o.IsEdns0()
		if n.Rcode != dns.RcodeBadVers || no == nil || oo == nil || no.Do() == oo.Do() {
			return false
		}
		no.SetDo(oo.Do())
		return true
	}},
}

// explainNSD applies the rules to a copy of NSD's response and returns
// the keys that applied and the differences left.
func explainNSD(zs *Zones, q, nsd, ours *dns.Msg) ([]string, []diff) {
	if len(compare(nsd, ours, false)) == 0 {
		return nil, nil
	}
	n := nsd.Copy()
	var keys []string
	for _, r := range nsdRules {
		if r.apply(zs, q, n, ours) {
			keys = append(keys, r.key)
		}
	}
	return keys, compare(n, ours, false)
}

func countType(rrs []dns.RR, t uint16) int {
	n := 0
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			n++
		}
	}
	return n
}

func containsRR(rrs []dns.RR, rr dns.RR) bool {
	for _, x := range rrs {
		if strings.EqualFold(x.String(), rr.String()) {
			return true
		}
	}
	return false
}

// isPrefix reports whether short is, record for record, how long starts.
func isPrefix(short, long []dns.RR) bool {
	if len(short) > len(long) {
		return false
	}
	for i := range short {
		if !strings.EqualFold(short[i].String(), long[i].String()) {
			return false
		}
	}
	return true
}

// withOPT is extra with n's OPT record in place of any other.
func withOPT(extra []dns.RR, n *dns.Msg) []dns.RR {
	var out []dns.RR
	for _, rr := range extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	if o := n.IsEdns0(); o != nil {
		out = append(out, o)
	}
	return out
}

var diffLine = regexp.MustCompile("^\\|\\s*(knot|nsd)\\s*\\|\\s*`([a-z0-9-]+)`\\s*\\|")

// readDifferences reads the table of intended differences: rows of
// "| server | `key` | ... |".
func readDifferences(t *testing.T, path string) map[string]bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := diffLine.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]+" "+m[2]] = true
		}
	}
	return out
}
