package server

import (
	"strings"

	"github.com/miekg/dns"
)

// maxChain is how many CNAMEs one answer follows at most, as in Knot
// DNS: the data at the end of the fifth is still given, a sixth CNAME is
// not. Loops end sooner.
const maxChain = 5

// found is what looking a name up in one zone gives.
type found int

const (
	foundNode   found = iota // the name exists: n is its node
	foundWild                // a wildcard covers the name: n is the wildcard's node
	foundCut                 // the name is at or below a delegation: n is the cut
	foundNXName              // the name does not exist
)

// findName looks name (lowercase, inside z) up, walking down from the
// apex so that the highest delegation point wins (RFC 1034 4.3.2). A DS
// query at a delegation point is the parent's to answer (RFC 4035 3.1.4.1).
func (z *zone) findName(name string, qtype uint16) (*node, found) {
	var offs [128]int
	k := 0
	for off, end := 0, false; !end && len(name)-off > len(z.name) && k < len(offs); off, end = dns.NextLabel(name, off) {
		offs[k] = off
		k++
	}
	ce := z.lookup(z.name)
	for i := k - 1; i >= 0; i-- {
		idx, ok := z.index[name[offs[i]:]]
		if !ok {
			if ce.wild >= 0 {
				return &z.nodes[ce.wild], foundWild
			}
			return nil, foundNXName
		}
		n := &z.nodes[idx]
		if n.cut && (i > 0 || qtype != dns.TypeDS) {
			return n, foundCut
		}
		ce = n
	}
	return ce, foundNode
}

// zoneFor picks the zone that answers name: the longest suffix match,
// except that a DS query is answered from the parent side of a zone cut
// when we hold the parent too, as Knot DNS does.
func (zs *Zones) zoneFor(name string, qtype uint16) *zone {
	if qtype == dns.TypeDS {
		if off, end := dns.NextLabel(name, 0); !end {
			if z := zs.find(name[off:]); z != nil {
				return z
			}
		}
	}
	return zs.find(name)
}

// resolve fills m's rcode, AA flag and sections for one question. qname
// keeps the case the client used: the first answer RRset carries it.
func resolve(zs *Zones, qname string, qtype uint16, m *dns.Msg) {
	name := strings.ToLower(qname)
	z := zs.zoneFor(name, qtype)
	if z == nil {
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	owner := qname
	var visited [maxChain]string // names whose CNAME is in the answer
	for hop := 0; ; hop++ {
		n, kind := z.findName(name, qtype)
		switch kind {
		case foundNXName:
			m.Rcode = dns.RcodeNameError
			m.Ns = append(m.Ns, z.negSOA)
			return
		case foundCut:
			refer(n, m)
			return
		}
		wild := kind == foundWild
		if c := n.get(dns.TypeCNAME); c != nil && qtype != dns.TypeCNAME && qtype != dns.TypeANY {
			if hop == maxChain {
				return // Knot DNS stops here, without an authority section
			}
			m.Answer = appendOwned(m.Answer, c.rrs, owner, wild)
			visited[hop] = name
			next := strings.ToLower(c.rrs[0].(*dns.CNAME).Target)
			if !dns.IsSubDomain(z.name, next) || seen(visited[:hop+1], next) {
				return
			}
			name, owner = next, next
			continue
		}
		var set *rrset
		if qtype == dns.TypeANY {
			if len(n.sets) > 0 {
				set = &n.sets[0] // RFC 8482 4.1: one RRset, the lowest type, as Knot DNS does
			}
		} else {
			set = n.get(qtype)
		}
		if set == nil {
			m.Ns = append(m.Ns, z.negSOA)
			return
		}
		m.Answer = appendOwned(m.Answer, set.rrs, owner, wild)
		m.Extra = append(m.Extra, set.extra...)
		return
	}
}

// refer writes a referral to the delegation at n: its NS RRset in the
// authority section, glue in the additional section, AA off unless an
// answer (a CNAME chain) came before it.
func refer(n *node, m *dns.Msg) {
	ns := n.get(dns.TypeNS)
	if len(m.Answer) == 0 {
		m.Authoritative = false
	}
	m.Ns = append(m.Ns, ns.rrs...)
	m.Extra = append(m.Extra, ns.extra...)
}

func seen(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// appendOwned appends rrs, renamed to owner when they come from a
// wildcard or when owner is the query name spelt in other case. Stored
// records are shared, never changed: renaming copies them.
func appendOwned(dst, rrs []dns.RR, owner string, wild bool) []dns.RR {
	if !wild && rrs[0].Header().Name == owner {
		return append(dst, rrs...)
	}
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		dst = append(dst, c)
	}
	return dst
}
