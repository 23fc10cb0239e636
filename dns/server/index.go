package server

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Zones is an immutable index of zones, built once by Build and then
// shared by every query without locks. A nil *Zones holds no zones.
type Zones struct {
	byName map[string]*zone
	names  []string
}

// Zones returns z itself, so a fixed set of zones is a Source.
func (z *Zones) Zones() *Zones { return z }

// Names returns the apex names of the zones held, sorted.
func (z *Zones) Names() []string {
	if z == nil {
		return nil
	}
	return slices.Clone(z.names)
}

// Serial returns the SOA serial of the zone named name.
func (z *Zones) Serial(name string) (uint32, bool) {
	if z == nil {
		return 0, false
	}
	zn, ok := z.byName[dns.CanonicalName(name)]
	if !ok {
		return 0, false
	}
	return zn.soa.Serial, true
}

// find returns the zone with the longest apex that name (lowercase) is
// at or below, or nil.
func (z *Zones) find(name string) *zone {
	if z == nil {
		return nil
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if zn, ok := z.byName[name[off:]]; ok {
			return zn
		}
	}
	return z.byName["."]
}

// zone is one zone's index: every owner name and every empty
// non-terminal maps to a node holding that name's RRsets by type.
type zone struct {
	name    string
	soa     *dns.SOA
	negSOA  *dns.SOA // the SOA as sent with negative answers (RFC 2308 TTL)
	index   map[string]int32
	nodes   []node
	records []dns.RR // every record, sorted by owner name then type
}

// node is one owner name. sets is sorted by type; an empty node is an
// empty non-terminal.
type node struct {
	sets []rrset
	wild int32 // index of the node "*.<this name>", or -1
	cut  bool  // NS below the apex: a delegation point
}

// rrset is the records of one type at one name, with the A and AAAA
// records that additional-section processing adds for its targets.
type rrset struct {
	rtype uint16
	rrs   []dns.RR
	extra []dns.RR
}

func (n *node) get(t uint16) *rrset {
	for i := range n.sets {
		if n.sets[i].rtype == t {
			return &n.sets[i]
		}
	}
	return nil
}

func (z *zone) lookup(name string) *node {
	i, ok := z.index[name]
	if !ok {
		return nil
	}
	return &z.nodes[i]
}

// Build checks zones and indexes them for serving. Each zone needs one
// SOA and an NS RRset at its apex, every record inside the zone, class
// IN, and no CNAME beside other data. Owner names are stored lowercase;
// RRs whose TTLs differ within one RRset take the first one's TTL;
// duplicate records are dropped. Build does not modify the records it
// is given but keeps them: the caller must not change them afterwards.
func Build(zones []Zone) (*Zones, error) {
	zs := &Zones{byName: make(map[string]*zone, len(zones))}
	for _, z := range zones {
		bz, err := buildZone(z)
		if err != nil {
			return nil, err
		}
		if _, dup := zs.byName[bz.name]; dup {
			return nil, fmt.Errorf("dns/server: zone %q given twice: %w", bz.name, ErrInvalidZone)
		}
		zs.byName[bz.name] = bz
		zs.names = append(zs.names, bz.name)
	}
	slices.Sort(zs.names)
	return zs, nil
}

func invalid(zone, name, format string, args ...any) error {
	return fmt.Errorf("dns/server: zone %q: %q: %s: %w", zone, name, fmt.Sprintf(format, args...), ErrInvalidZone)
}

func buildZone(z Zone) (*zone, error) {
	name := dns.CanonicalName(z.Name)
	if _, ok := dns.IsDomainName(name); !ok || z.Name == "" {
		return nil, fmt.Errorf("dns/server: zone %q: bad name: %w", z.Name, ErrInvalidZone)
	}
	recs, err := canonicalRecords(name, z.Records)
	if err != nil {
		return nil, err
	}
	zn := &zone{name: name, records: recs, index: make(map[string]int32, len(recs)/2+1)}
	if err := zn.group(); err != nil {
		return nil, err
	}
	if err := zn.check(); err != nil {
		return nil, err
	}
	zn.addEmptyNonTerminals()
	zn.link()
	return zn, nil
}

// canonicalRecords copies the record list with lowercase owner names,
// sorted by owner and type, rejecting records the server cannot hold.
func canonicalRecords(zone string, in []dns.RR) ([]dns.RR, error) {
	out := make([]dns.RR, 0, len(in))
	for _, rr := range in {
		if rr == nil {
			continue
		}
		h := rr.Header()
		owner := strings.ToLower(dns.Fqdn(h.Name))
		if !dns.IsSubDomain(zone, owner) {
			return nil, invalid(zone, h.Name, "outside the zone")
		}
		if h.Class != dns.ClassINET {
			return nil, invalid(zone, h.Name, "class %s, want IN", dns.Class(h.Class))
		}
		switch h.Rrtype {
		case 0:
			return nil, invalid(zone, h.Name, "no type in the record header")
		case dns.TypeDNAME, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR:
			return nil, invalid(zone, h.Name, "type %s not supported", dns.Type(h.Rrtype))
		case dns.TypeSOA:
			if owner != zone {
				return nil, invalid(zone, h.Name, "SOA below the apex")
			}
		}
		if owner != h.Name {
			rr = dns.Copy(rr)
			rr.Header().Name = owner
		}
		out = append(out, rr)
	}
	slices.SortStableFunc(out, func(a, b dns.RR) int {
		ha, hb := a.Header(), b.Header()
		if c := strings.Compare(ha.Name, hb.Name); c != 0 {
			return c
		}
		return int(ha.Rrtype) - int(hb.Rrtype)
	})
	return out, nil
}

// group walks the sorted records once, making one node per owner and one
// rrset per type, dropping duplicates and unifying TTLs.
func (z *zone) group() error {
	recs := z.records
	sets := make([]rrset, 0, len(recs))
	kept := recs[:0]
	for i := 0; i < len(recs); {
		h := recs[i].Header()
		j := i + 1
		start := len(kept)
		kept = append(kept, recs[i])
		for ; j < len(recs); j++ {
			hj := recs[j].Header()
			if hj.Name != h.Name || hj.Rrtype != h.Rrtype {
				break
			}
			if isDup(kept[start:], recs[j]) {
				continue
			}
			if hj.Ttl != h.Ttl {
				r := dns.Copy(recs[j])
				r.Header().Ttl = h.Ttl
				kept = append(kept, r)
				continue
			}
			kept = append(kept, recs[j])
		}
		sets = append(sets, rrset{rtype: h.Rrtype, rrs: kept[start:len(kept):len(kept)]})
		i = j
		if len(sets)%4096 == 0 {
			// A safe point: during a GC mark phase this loop is mostly
			// write barriers, where the runtime cannot preempt it, and
			// the GC spun for seconds waiting to scan its stack.
			runtime.Gosched()
		}
	}
	z.records = kept
	for i := 0; i < len(sets); {
		owner := sets[i].rrs[0].Header().Name
		j := i + 1
		for j < len(sets) && sets[j].rrs[0].Header().Name == owner {
			j++
		}
		z.index[owner] = int32(len(z.nodes))
		z.nodes = append(z.nodes, node{sets: sets[i:j:j], wild: -1})
		i = j
	}
	return nil
}

func isDup(set []dns.RR, rr dns.RR) bool {
	for _, o := range set {
		if dns.IsDuplicate(o, rr) {
			return true
		}
	}
	return false
}

// check enforces the apex SOA and NS and the CNAME rule (RFC 1034 3.6.2).
func (z *zone) check() error {
	apex := z.lookup(z.name)
	if apex == nil || apex.get(dns.TypeSOA) == nil {
		return invalid(z.name, z.name, "no SOA at the apex")
	}
	soa := apex.get(dns.TypeSOA)
	if len(soa.rrs) != 1 {
		return invalid(z.name, z.name, "%d SOA records, want 1", len(soa.rrs))
	}
	if apex.get(dns.TypeNS) == nil {
		return invalid(z.name, z.name, "no NS at the apex")
	}
	z.soa = soa.rrs[0].(*dns.SOA)
	neg := *z.soa
	neg.Hdr.Ttl = min(z.soa.Hdr.Ttl, z.soa.Minttl)
	z.negSOA = &neg
	for owner, i := range z.index {
		n := &z.nodes[i]
		c := n.get(dns.TypeCNAME)
		if c == nil {
			continue
		}
		if len(c.rrs) > 1 {
			return invalid(z.name, owner, "%d CNAME records, want 1", len(c.rrs))
		}
		if len(n.sets) > 1 {
			return invalid(z.name, owner, "CNAME beside other data")
		}
	}
	return nil
}

// addEmptyNonTerminals adds a node for every name between the apex and an
// owner that has no records of its own (RFC 4592 2.2.2).
func (z *zone) addEmptyNonTerminals() {
	n := len(z.nodes)
	for i := 0; i < n; i++ {
		owner := z.nodes[i].sets[0].rrs[0].Header().Name
		if owner == z.name {
			continue
		}
		for off, end := dns.NextLabel(owner, 0); !end; off, end = dns.NextLabel(owner, off) {
			parent := owner[off:]
			if parent == z.name {
				break
			}
			if _, ok := z.index[parent]; ok {
				break
			}
			z.index[parent] = int32(len(z.nodes))
			z.nodes = append(z.nodes, node{wild: -1})
		}
	}
}

// link marks delegation points, wildcard parents and the additional
// records of each RRset whose data names a host.
func (z *zone) link() {
	for owner, i := range z.index {
		n := &z.nodes[i]
		n.cut = owner != z.name && n.get(dns.TypeNS) != nil
		if strings.HasPrefix(owner, "*.") {
			if p, ok := z.index[owner[2:]]; ok {
				z.nodes[p].wild = i
			}
		}
	}
	for i := range z.nodes {
		for j := range z.nodes[i].sets {
			s := &z.nodes[i].sets[j]
			s.extra = z.additional(s)
		}
	}
}

// additional returns the in-zone A and AAAA records for the hosts named
// by an NS, MX, SRV, SVCB or HTTPS RRset, as Knot DNS adds them.
func (z *zone) additional(s *rrset) []dns.RR {
	var out []dns.RR
	var seen []string
	for _, rr := range s.rrs {
		t := strings.ToLower(target(rr))
		if t == "" || t == "." || slices.Contains(seen, t) || !dns.IsSubDomain(z.name, t) {
			continue
		}
		seen = append(seen, t)
		n := z.lookup(t)
		if n == nil {
			continue
		}
		for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if a := n.get(typ); a != nil {
				out = append(out, a.rrs...)
			}
		}
	}
	return out
}

func target(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.NS:
		return r.Ns
	case *dns.MX:
		return r.Mx
	case *dns.SRV:
		return r.Target
	case *dns.SVCB:
		return r.Target
	case *dns.HTTPS:
		return r.Target
	}
	return ""
}
