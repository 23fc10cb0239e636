package secgroup

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
)

// Rules with a remote group are conjunctive matches, as in Neutron's
// firewall: a packet is accepted when it matches one flow of each of two
// dimensions,
//
//  1. the remote address, one flow per member address and network
//     (reg6), shared by every port of that network, and
//  2. the rule's other fields, one flow per rule (and port block), with
//     reg5 naming the port,
//
// and then the flow with that conj_id decides (accepts, for that port).
// N addresses and M rules cost N+M flows rather than N×M.
//
// Conjunction ids come in blocks of 8 per (group, remote group,
// direction, ethertype), as Neutron's ConjIdMap: 2 per priority (70 to
// 73), the first for established packets (+est-rel-rpl), the second for
// new connections (+new-est); stateless ports use the first. A block's
// number is a hash of its key, so adding a group does not renumber the
// others (Sync then changes only the flows that did change).

// conjKey names a block of conjunction ids.
type conjKey struct {
	group, remote string
	ingress, v6   bool
}

type conjIDs struct {
	ids  map[conjKey]uint32
	used map[uint32]bool
}

func newConjIDs() *conjIDs {
	return &conjIDs{ids: map[conjKey]uint32{}, used: map[uint32]bool{}}
}

// slots is how many blocks of 8 fit in the 32-bit id space, 0 excluded.
const slots = 1<<29 - 1

// base is the first id of k's block: from a hash of k, or the next free
// block after it (Flows meets keys in a deterministic order).
func (c *conjIDs) base(k conjKey) uint32 {
	if id, ok := c.ids[k]; ok {
		return id
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%t\x00%t", k.group, k.remote, k.ingress, k.v6)
	slot := h.Sum32()%slots + 1
	for c.used[slot] {
		slot = slot%slots + 1
	}
	c.used[slot] = true
	c.ids[k] = slot * 8
	return slot * 8
}

// conjActions is conjunction(id,dim/2) for each id, by id.
func conjActions(ids map[uint32]int) string {
	sorted := make([]uint32, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	parts := make([]string, len(sorted))
	for i, id := range sorted {
		parts[i] = fmt.Sprintf("conjunction(%d,%d/2)", id, ids[id])
	}
	return strings.Join(parts, ",")
}

// interval is a port range whose flows carry a conjunction id.
type interval struct {
	lo, hi int
	id     uint32
}

// sweepKey gathers a port's rule-side flows that differ only in their
// port range.
type sweepKey struct {
	table, priority int
	match           string
}

// remoteRules adds the conjunctive flows of a port's remote-group rules.
// The rule-side flows of one match but for the port range are cut into
// ranges that do not overlap, each carrying the ids of every rule that
// covers it (Neutron's merge_port_ranges): OVS forbids overlapping
// conjunctive flows at one priority.
func (b *builder) remoteRules(p *filtered, rules []groupRule) {
	type addrKey struct {
		table, priority int
		match           string // up to the address field
		remote          string
		v6              bool
	}
	addrIDs := map[addrKey]map[uint32]bool{}
	sweeps := map[sweepKey][]interval{}
	for _, r := range rules {
		if len(b.addresses(r.remoteGroup, r.v6)) == 0 {
			continue
		}
		table := EgressRulesTable
		if r.ingress {
			table = IngressRulesTable
		}
		prio := r.priority()
		base := b.conj.base(conjKey{r.group, r.remoteGroup, r.ingress, r.v6}) + uint32(2*(prio-70))
		eth := "ip"
		if r.v6 {
			eth = "ipv6"
		}
		for _, s := range p.states() {
			id := base
			if s == newConn {
				id++
			}
			ak := addrKey{table, prio, fmt.Sprintf("%s%s,%s=%s,%s=", s.match(), eth, regNet, hex(p.VLAN), remoteField(r.ingress, r.v6)), r.remoteGroup, r.v6}
			if addrIDs[ak] == nil {
				addrIDs[ak] = map[uint32]bool{}
			}
			addrIDs[ak][id] = true
			k := sweepKey{table, prio, r.baseMatch(p.OFPort, s)}
			sweeps[k] = append(sweeps[k], interval{r.portMin, r.portMax, id})
			b.add(table, prio, fmt.Sprintf("conj_id=%d,%s%s,%s=%s", id, s.match(), eth, regPort, hex(p.OFPort)), accept(r.ingress, s, p.OFPort))
		}
	}
	for ak, ids := range addrIDs {
		for _, a := range b.addresses(ak.remote, ak.v6) {
			for id := range ids {
				b.addConj(ak.table, ak.priority, ak.match+a, id, 1)
			}
		}
	}
	for k, ivs := range sweeps {
		for _, seg := range split(ivs) {
			m := k.match
			if seg.lo != 0 || seg.hi != 65535 {
				for _, block := range portMasks(seg.lo, seg.hi) {
					for _, id := range seg.ids {
						b.addConj(k.table, k.priority, m+",tp_dst="+block, id, 2)
					}
				}
				continue
			}
			for _, id := range seg.ids {
				b.addConj(k.table, k.priority, m, id, 2)
			}
		}
	}
}

// addresses are a group's members of one family, sorted, as OVS prints
// them.
func (b *builder) addresses(group string, v6 bool) []string {
	k := addrSet{group, v6}
	if out, ok := b.addrs[k]; ok {
		return out
	}
	seen := map[netip.Addr]bool{}
	var addrs []netip.Addr
	for _, a := range b.members[group] {
		a = a.Unmap().WithZone("")
		if !a.IsValid() || a.Is6() != v6 || seen[a] {
			continue
		}
		seen[a] = true
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	b.addrs[k] = out
	return out
}

type addrSet struct {
	group string
	v6    bool
}

// segment is a port range and the ids of the intervals covering it.
type segment struct {
	lo, hi int
	ids    []uint32
}

// split cuts overlapping intervals into the fewest segments that do not
// overlap, each with the ids covering it; adjacent segments with the
// same ids are joined, ranges nothing covers left out.
func split(ivs []interval) []segment {
	type event struct {
		at    int
		id    uint32
		delta int
	}
	events := make([]event, 0, 2*len(ivs))
	for _, iv := range ivs {
		events = append(events, event{iv.lo, iv.id, 1}, event{iv.hi + 1, iv.id, -1})
	}
	slices.SortFunc(events, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	active := map[uint32]int{}
	var out []segment
	for i := 0; i < len(events); {
		at := events[i].at
		for ; i < len(events) && events[i].at == at; i++ {
			active[events[i].id] += events[i].delta
			if active[events[i].id] == 0 {
				delete(active, events[i].id)
			}
		}
		if len(active) == 0 || at > 65535 {
			continue
		}
		end := 65535
		if i < len(events) {
			end = events[i].at - 1
		}
		ids := make([]uint32, 0, len(active))
		for id := range active {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if n := len(out); n > 0 && out[n-1].hi == at-1 && slices.Equal(out[n-1].ids, ids) {
			out[n-1].hi = end
			continue
		}
		out = append(out, segment{at, end, ids})
	}
	return out
}
