package placement

import (
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Group is one request group of GET /allocation_candidates: the
// unnumbered group (Suffix "": resources, required, member_of, in_tree)
// or a granular one (Suffix "1", "_NET"...: resources1, required1...).
//
// The resources of a granular group come from one provider. Those of the
// unnumbered group may come from several providers of one tree, one
// provider per class, as in Placement.
type Group struct {
	Suffix    string
	Resources map[string]int64
	// Required traits all must be present, Forbidden ones absent; each
	// AnyOf list needs one of its traits (required=in:A,B). For the
	// unnumbered group they are checked on the providers that give its
	// resources together.
	Required  []string
	Forbidden []string
	AnyOf     [][]string
	// MemberOf: each list needs membership of one of its aggregates
	// (member_of=in:A,B); NotMemberOf: none of these (member_of=!in:).
	// A provider is a member when it or its tree's root is.
	MemberOf    [][]string
	NotMemberOf []string
	// InTree limits the group to the tree holding this provider.
	InTree string
}

// Query is a whole GET /allocation_candidates request.
type Query struct {
	Groups []Group
	// Isolate is group_policy=isolate: granular groups use different
	// providers. Otherwise (none) they may share one.
	Isolate bool
	// RootRequired and RootForbidden are root_required: traits the
	// tree's root must (not) have.
	RootRequired  []string
	RootForbidden []string
	// Limit caps the candidates returned (0: no limit); Max caps those
	// generated (max_allocation_candidates; 0: no cap).
	Limit, Max int
}

// Candidate is one allocation request: amounts by provider and class,
// and which providers satisfied which group (Placement's mappings).
type Candidate struct {
	Allocations map[string]map[string]int64
	Mappings    map[string][]string
}

// Validate reports a query Placement would refuse.
func (q *Query) Validate() error {
	if len(q.Groups) == 0 {
		return fmt.Errorf("%w: at least one resources group is required", ErrInvalid)
	}
	numbered := 0
	for _, g := range q.Groups {
		if len(g.Resources) == 0 {
			return fmt.Errorf("%w: request group %q has traits or aggregates but no resources", ErrInvalid, "resources"+g.Suffix)
		}
		for c, n := range g.Resources {
			if n < 1 {
				return fmt.Errorf("%w: resources%s: %s must be at least 1", ErrInvalid, g.Suffix, c)
			}
		}
		if g.Suffix != "" {
			numbered++
		}
	}
	return nil
}

// SharesViaAggregate is the trait of a sharing provider: one whose
// resources (a shared disk pool, a subnet's addresses) serve the trees
// of the providers that are in one of its aggregates.
const SharesViaAggregate = "MISC_SHARES_VIA_AGGREGATE"

// Candidates lists the allocation requests that satisfy q over a
// snapshot of providers (every provider of every tree that may take
// part, sharing providers included), and the providers that appear in
// them: their trees, which are the provider summaries. Trees are
// visited in the order of their roots in providers; the result is
// deterministic.
func Candidates(providers []*Provider, q Query) ([]Candidate, []*Provider, error) {
	var shared []*Provider
	for _, p := range providers {
		if p.HasTrait(SharesViaAggregate) {
			shared = append(shared, p)
		}
	}
	return CandidatesShared(providers, shared, q)
}

// CandidatesShared is Candidates over the trees of providers, with the
// sharing providers in shared able to give any group's classes to the
// trees they share an aggregate with. shared need not be among
// providers; it holds the sharing providers' whole trees (the others in
// them only name their trees in the summaries). A candidate from a tree
// takes at least one class from the tree itself; what sharing providers
// alone satisfy is found in their own trees, when those are among
// providers.
func CandidatesShared(providers, shared []*Provider, q Query) ([]Candidate, []*Provider, error) {
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	sharedTrees := map[string][]*Provider{}
	var sharers []*Provider
	for _, p := range shared {
		sharedTrees[p.RootUUID] = append(sharedTrees[p.RootUUID], p)
		if p.HasTrait(SharesViaAggregate) {
			sharers = append(sharers, p)
		}
	}
	trees := map[string][]*Provider{}
	var roots []string
	for _, p := range providers {
		if _, ok := trees[p.RootUUID]; !ok {
			roots = append(roots, p.RootUUID)
		}
		trees[p.RootUUID] = append(trees[p.RootUUID], p)
	}
	byUUID := make(map[string]*Provider, len(providers)+len(shared))
	for _, p := range shared {
		byUUID[p.UUID] = p
	}
	for _, p := range providers {
		byUUID[p.UUID] = p
	}
	var out []Candidate
	var summaries []*Provider
	inSummary := map[string]bool{}
	for _, r := range roots {
		root := byUUID[r]
		if root == nil || !traitsOK(root, q.RootRequired, q.RootForbidden, nil) {
			continue
		}
		s := search{q: &q, tree: trees[r], root: root, used: map[[2]string]int64{}, byUUID: byUUID}
		s.pool = append(slices.Clone(trees[r]), sharersOf(trees[r], sharers)...)
		s.group(0)
		for _, c := range s.found {
			for u := range c.Allocations {
				if p := byUUID[u]; !inSummary[p.RootUUID] {
					inSummary[p.RootUUID] = true
					summaries = append(summaries, treeOf(p.RootUUID, trees, sharedTrees)...)
				}
			}
		}
		out = append(out, s.found...)
		if q.Max > 0 && len(out) >= q.Max {
			out = out[:q.Max]
			break
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
		summaries = summariesOf(out, byUUID)
	}
	return out, summaries, nil
}

// sharersOf are the sharing providers outside tree that share an
// aggregate with one of its providers.
func sharersOf(tree, shared []*Provider) []*Provider {
	var out []*Provider
	for _, sp := range shared {
		if slices.ContainsFunc(tree, func(p *Provider) bool { return p.RootUUID == sp.RootUUID }) {
			continue
		}
		for _, a := range sp.Aggregates {
			if slices.ContainsFunc(tree, func(p *Provider) bool { return p.InAggregate(a) }) {
				out = append(out, sp)
				break
			}
		}
	}
	return out
}

// treeOf is the providers of the tree rooted at r: a searched tree, or
// a sharing provider's.
func treeOf(r string, trees, sharedTrees map[string][]*Provider) []*Provider {
	if t, ok := trees[r]; ok {
		return t
	}
	return sharedTrees[r]
}

// summariesOf is the trees of the providers in cs.
func summariesOf(cs []Candidate, byUUID map[string]*Provider) []*Provider {
	roots := map[string]bool{}
	for _, c := range cs {
		for p := range c.Allocations {
			roots[byUUID[p].RootUUID] = true
		}
	}
	var out []*Provider
	for _, p := range byUUID {
		if roots[p.RootUUID] {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out
}

// search walks the groups of one tree depth-first, keeping what the
// groups chosen so far take from each provider and class.
type search struct {
	q      *Query
	tree   []*Provider
	pool   []*Provider // tree, then the sharing providers it may use
	byUUID map[string]*Provider
	root   *Provider
	used   map[[2]string]int64 // provider, class -> promised so far
	pick   []map[string]string // per group: class -> provider
	found  []Candidate
	seen   map[string]bool
}

func (s *search) full() bool { return s.q.Max > 0 && len(s.found) >= s.q.Max }

func (s *search) group(i int) {
	if s.full() {
		return
	}
	if i == len(s.q.Groups) {
		s.emit()
		return
	}
	g := &s.q.Groups[i]
	if g.InTree != "" && !s.inTree(g.InTree) {
		return
	}
	if g.Suffix != "" {
		for _, p := range s.pool {
			if s.q.Isolate && s.takenByNumbered(p.UUID) {
				continue
			}
			if !s.fitsAll(p, g) || !traitsOK(p, g.Required, g.Forbidden, g.AnyOf) || !s.member(p, g) {
				continue
			}
			s.take(g, classesTo(g, p.UUID), i)
		}
		return
	}
	classes := slices.Sorted(maps.Keys(g.Resources))
	s.unnumbered(g, classes, map[string]string{}, i)
}

// unnumbered picks a provider for each class of the unnumbered group.
func (s *search) unnumbered(g *Group, classes []string, pick map[string]string, i int) {
	if len(pick) == len(classes) {
		var ps []*Provider
		for _, p := range s.pool {
			if slices.Contains(slices.Collect(maps.Values(pick)), p.UUID) {
				ps = append(ps, p)
			}
		}
		if unionTraitsOK(ps, g) {
			s.take(g, maps.Clone(pick), i)
		}
		return
	}
	c := classes[len(pick)]
	for _, p := range s.pool {
		if p.Fit(c, g.Resources[c], s.used[[2]string{p.UUID, c}]) != nil || !s.member(p, g) {
			continue
		}
		pick[c] = p.UUID
		s.unnumbered(g, classes, pick, i)
		delete(pick, c)
		if s.full() {
			return
		}
	}
}

func classesTo(g *Group, p string) map[string]string {
	m := make(map[string]string, len(g.Resources))
	for c := range g.Resources {
		m[c] = p
	}
	return m
}

// take records group i's pick and goes on to the next group.
func (s *search) take(g *Group, pick map[string]string, i int) {
	for c, p := range pick {
		s.used[[2]string{p, c}] += g.Resources[c]
	}
	s.pick = append(s.pick, pick)
	s.group(i + 1)
	s.pick = s.pick[:len(s.pick)-1]
	for c, p := range pick {
		s.used[[2]string{p, c}] -= g.Resources[c]
	}
}

func (s *search) fitsAll(p *Provider, g *Group) bool {
	for c, n := range g.Resources {
		if p.Fit(c, n, s.used[[2]string{p.UUID, c}]) != nil {
			return false
		}
	}
	return true
}

func (s *search) takenByNumbered(p string) bool {
	for i, pick := range s.pick {
		if s.q.Groups[i].Suffix == "" {
			continue
		}
		for _, u := range pick {
			if u == p {
				return true
			}
		}
	}
	return false
}

func (s *search) inTree(u string) bool {
	return slices.ContainsFunc(s.tree, func(p *Provider) bool { return p.UUID == u })
}

// member applies a group's member_of to p: p or its root must be in one
// aggregate of each list, and neither in a forbidden one.
func (s *search) member(p *Provider, g *Group) bool {
	root := s.root
	if p.RootUUID != s.root.UUID {
		root = s.byUUID[p.RootUUID] // a sharing provider's own root
	}
	in := func(a string) bool { return p.InAggregate(a) || (root != nil && root.InAggregate(a)) }
	for _, any := range g.MemberOf {
		if !slices.ContainsFunc(any, in) {
			return false
		}
	}
	return !slices.ContainsFunc(g.NotMemberOf, in)
}

func (s *search) emit() {
	own := false
	for _, pick := range s.pick {
		for _, u := range pick {
			own = own || s.byUUID[u].RootUUID == s.root.UUID
		}
	}
	if !own {
		return // the sharing providers' own trees find it
	}
	c := Candidate{Allocations: map[string]map[string]int64{}, Mappings: map[string][]string{}}
	for i, pick := range s.pick {
		g := &s.q.Groups[i]
		for cl, p := range pick {
			if c.Allocations[p] == nil {
				c.Allocations[p] = map[string]int64{}
			}
			c.Allocations[p][cl] += g.Resources[cl]
			if !slices.Contains(c.Mappings[g.Suffix], p) {
				c.Mappings[g.Suffix] = append(c.Mappings[g.Suffix], p)
			}
		}
	}
	for k := range c.Mappings {
		slices.Sort(c.Mappings[k])
	}
	// Different picks can add up to one request: Placement lists each
	// (allocations, mappings) pair once, so two groups swapping
	// providers are two candidates.
	key := fmt.Sprint(c.Allocations, c.Mappings)
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.found = append(s.found, c)
}

func traitsOK(p *Provider, required, forbidden []string, anyOf [][]string) bool {
	for _, t := range required {
		if !p.HasTrait(t) {
			return false
		}
	}
	for _, t := range forbidden {
		if p.HasTrait(t) {
			return false
		}
	}
	for _, any := range anyOf {
		if !slices.ContainsFunc(any, p.HasTrait) {
			return false
		}
	}
	return true
}

// unionTraitsOK checks the unnumbered group's traits on the providers
// that give its resources, together.
func unionTraitsOK(ps []*Provider, g *Group) bool {
	has := func(t string) bool { return slices.ContainsFunc(ps, func(p *Provider) bool { return p.HasTrait(t) }) }
	for _, t := range g.Required {
		if !has(t) {
			return false
		}
	}
	for _, t := range g.Forbidden {
		if has(t) {
			return false
		}
	}
	for _, any := range g.AnyOf {
		if !slices.ContainsFunc(any, has) {
			return false
		}
	}
	return true
}
