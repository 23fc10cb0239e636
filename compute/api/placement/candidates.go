package placement

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Request group keys: numbered suffixes from 1.25, names from 1.33.
var (
	groupKey     = regexp.MustCompile(`^(resources|required|member_of|in_tree)([1-9][0-9]*)?$`)
	groupKey133  = regexp.MustCompile(`^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$`)
	limitPattern = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// candidateParams checks GET /allocation_candidates' parameters against
// the schema of q's version.
func candidateParams(q *request, qv url.Values) error {
	var allowed []string
	var patterns []*regexp.Regexp
	switch suffix := `([1-9][0-9]*)?$`; {
	case !q.at(25):
		allowed = []string{"resources"}
		for minor, p := range map[int]string{16: "limit", 17: "required", 21: "member_of"} {
			if q.at(minor) {
				allowed = append(allowed, p)
			}
		}
	default:
		if q.at(33) {
			suffix = `([a-zA-Z0-9_-]{1,64})?$`
		}
		allowed = []string{"limit", "group_policy"}
		kinds := []string{"resources", "required", "member_of"}
		if q.at(31) {
			kinds = append(kinds, "in_tree")
		}
		for _, k := range kinds {
			patterns = append(patterns, regexp.MustCompile("^"+k+suffix))
		}
		if q.at(35) {
			allowed = append(allowed, "root_required")
		}
		if q.at(36) {
			allowed = append(allowed, "same_subtree")
		}
	}
	if err := checkParams(qv, allowed, patterns...); err != nil {
		return err
	}
	if _, ok := qv["resources"]; !ok && !q.at(25) {
		return queryError("'resources' is a required property")
	}
	if v, ok := qv["limit"]; ok && !limitPattern.MatchString(v[len(v)-1]) {
		return queryError("'%s' does not match '%s'", v[len(v)-1], limitPattern)
	}
	if v, ok := qv["group_policy"]; ok && v[len(v)-1] != "none" && v[len(v)-1] != "isolate" {
		return queryError("'%s' is not one of ['none', 'isolate']", v[len(v)-1])
	}
	return nil
}

// requestGroup is one parsed request group and the parameters it had.
type requestGroup struct {
	placement.Group
	hasRequired, hasMemberOf bool
}

// parseGroups reads the request groups by suffix ("" is the unnumbered
// group).
func parseGroups(q *request, qv url.Values) (map[string]*requestGroup, error) {
	pattern := groupKey
	if q.at(33) {
		pattern = groupKey133
	}
	groups := map[string]*requestGroup{}
	for _, k := range slices.Sorted(maps.Keys(qv)) {
		m := pattern.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		kind, suffix := m[1], m[2]
		g := groups[suffix]
		if g == nil {
			g = &requestGroup{Group: placement.Group{Suffix: suffix}}
			groups[suffix] = g
		}
		if err := g.set(q, kind, qv[k]); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

func (g *requestGroup) set(q *request, kind string, vals []string) error {
	switch kind {
	case "resources":
		for _, v := range vals {
			res, err := parseResources(v)
			if err != nil {
				return err
			}
			g.Resources = res
		}
	case "required":
		t, err := parseRequired(q, vals)
		if err != nil {
			return err
		}
		g.Required, g.AnyOf, g.Forbidden = t.split()
		g.hasRequired = len(t.anyOf) > 0
	case "member_of":
		agg, err := parseMemberOf(q, g.Suffix, vals)
		if err != nil {
			return err
		}
		g.MemberOf, g.NotMemberOf = agg.anyOf, agg.forbidden
		g.hasMemberOf = len(agg.anyOf)+len(agg.forbidden) > 0
	case "in_tree":
		for _, v := range vals {
			u, err := parseInTree(v)
			if err != nil {
				return err
			}
			g.InTree = u
		}
	}
	return nil
}

// checkGroups is Placement's check of the groups as a whole: since 1.36
// (same_subtree) a group without resources must be named in
// same_subtree; before, every group needs resources.
func checkGroups(q *request, groups map[string]*requestGroup) error {
	suffixes := slices.Sorted(maps.Keys(groups))
	var resourceless, orphanTraits, orphanAggs []string
	for _, s := range suffixes {
		if g := groups[s]; len(g.Resources) == 0 {
			resourceless = append(resourceless, s)
			if g.hasRequired {
				orphanTraits = append(orphanTraits, "required"+s)
			}
			if g.hasMemberOf {
				orphanAggs = append(orphanAggs, "member_of"+s)
			}
		}
	}
	switch {
	case q.at(36) && len(resourceless) == len(groups):
		return placementError(fault.BadRequest, compute.CodeQueryMissingValue, "There must be at least one resources or resources[$S] parameter.")
	case q.at(36) && len(resourceless) > 0:
		return placementError(fault.BadRequest, compute.CodeQueryBadValue, "Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - %s.", pyList(resourceless))
	case q.at(36):
	case len(orphanTraits) > 0:
		return badRequest("All traits parameters must be associated with resources.  Found the following orphaned traits keys: %s", strings.Join(orphanTraits, ", "))
	case len(orphanAggs) > 0:
		return badRequest("All member_of parameters must be associated with resources. Found the following orphaned member_of keys: %s", strings.Join(orphanAggs, ", "))
	case len(resourceless) > 0:
		return badRequest("All request groups must specify resources.")
	case len(groups) == 0:
		return badRequest("At least one request group (`resources` or `resources{$S}`) is required.")
	}
	if q.at(22) {
		var conflicts []string
		for _, s := range suffixes {
			g := groups[s]
			for _, set := range append(slices.Clone(g.AnyOf), wrap(g.Required)...) {
				if !slices.ContainsFunc(set, func(t string) bool { return !slices.Contains(g.Forbidden, t) }) {
					conflicts = append(conflicts, fmt.Sprintf("required%s: (%s)", s, strings.Join(set, ", ")))
				}
			}
		}
		if len(conflicts) > 0 {
			slices.Sort(conflicts)
			return badRequest("Conflicting required and forbidden traits found in the following traits keys: %s", strings.Join(conflicts, ", "))
		}
	}
	return nil
}

// wrap makes each trait a set of one.
func wrap(ts []string) [][]string {
	out := make([][]string, len(ts))
	for i, t := range ts {
		out[i] = []string{t}
	}
	return out
}

// pyList is a list of strings as Python prints it: ['1', '2'].
func pyList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// wide are the request-wide parameters.
type wide struct {
	limit                       int
	policy                      string
	rootRequired, rootForbidden []string
}

func parseWide(q *request, qv url.Values) (wide, error) {
	var p wide
	// A repeated parameter counts by its last value, as webob's
	// req.GET[key] (and the schema that checked it) has it.
	if v, ok := qv["limit"]; ok {
		p.limit, _ = strconv.Atoi(v[len(v)-1])
	}
	if v, ok := qv["group_policy"]; ok {
		p.policy = v[len(v)-1]
	}
	if vals, ok := qv["root_required"]; ok {
		if len(vals) > 1 {
			return p, placementError(fault.BadRequest, compute.CodeQueryDuplicateParam, "Query parameter 'root_required' may be specified only once.")
		}
		var t traitQuery
		if err := t.add(vals[0], true, false); err != nil {
			return p, err
		}
		p.rootRequired, _, p.rootForbidden = t.split()
		p.rootForbidden = sortedSet(p.rootForbidden)
		var both []string
		for _, r := range p.rootRequired {
			if slices.Contains(p.rootForbidden, r) {
				both = append(both, r)
			}
		}
		if len(both) > 0 {
			return p, placementError(fault.BadRequest, compute.CodeQueryBadValue, "Conflicting required and forbidden traits found in root_required: %s", strings.Join(both, ", "))
		}
	}
	if _, ok := qv["same_subtree"]; ok {
		return p, placementError(fault.BadRequest, compute.CodeQueryBadValue, "same_subtree is not supported by this Placement service")
	}
	return p, nil
}

// listCandidates is GET /allocation_candidates (1.10).
func (a *API) listCandidates(w http.ResponseWriter, r *http.Request, q *request) error {
	qv := r.URL.Query()
	if err := candidateParams(q, qv); err != nil {
		return err
	}
	p, err := parseWide(q, qv)
	if err != nil {
		return err
	}
	groups, err := parseGroups(q, qv)
	if err != nil {
		return err
	}
	if err := checkGroups(q, groups); err != nil {
		return err
	}
	query := placement.Query{Isolate: p.policy == "isolate", RootRequired: p.rootRequired, RootForbidden: p.rootForbidden}
	numbered := 0
	for _, s := range slices.Sorted(maps.Keys(groups)) {
		query.Groups = append(query.Groups, groups[s].Group)
		if s != "" {
			numbered++
		}
	}
	if p.policy == "" && numbered > 1 {
		return badRequest(`The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.`)
	}
	if err := a.checkNames(r, query); err != nil {
		return err
	}
	if a.MaxCandidates > 0 {
		query.Max = a.MaxCandidates
	}
	// The Store stops at the limit; before 1.29 the candidates that take
	// from a tree twice go first, so the limit applies after.
	if q.at(29) {
		query.Limit = p.limit
	}
	cands, sums, err := a.Store.AllocationCandidates(r.Context(), query)
	if err != nil {
		return err
	}
	if !q.at(29) {
		cands, sums = flatOnly(cands, sums)
		cands, sums = limited(cands, sums, p.limit)
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"allocation_requests": allocationRequests(q, cands),
		"provider_summaries":  summaries(q, query, sums),
	})
	return nil
}

// checkNames refuses classes and traits that do not exist, as Placement
// does before it searches.
func (a *API) checkNames(r *http.Request, query placement.Query) error {
	res := map[string]int64{}
	traits := slices.Concat(query.RootRequired, query.RootForbidden)
	for _, g := range query.Groups {
		maps.Copy(res, g.Resources)
		traits = append(traits, g.Required...)
		traits = append(traits, g.Forbidden...)
		for _, set := range g.AnyOf {
			traits = append(traits, set...)
		}
	}
	if c, err := missingClass(r.Context(), a.Store, res); err != nil {
		return err
	} else if c != "" {
		return badRequest("Invalid resource class in resources parameter: No such resource class %s.", c)
	}
	missing, err := missingTraits(r.Context(), a.Store, sortedSet(traits))
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return badRequest("%s", noSuchTraits(missing))
	}
	return nil
}

// flatOnly is what a client older than 1.29 sees: candidates that take
// from at most one provider of each tree, and only those providers.
func flatOnly(cands []placement.Candidate, sums []*placement.Provider) ([]placement.Candidate, []*placement.Provider) {
	root := map[string]string{}
	for _, p := range sums {
		root[p.UUID] = p.RootUUID
	}
	used := map[string]bool{}
	var kept []placement.Candidate
	for _, c := range cands {
		roots := map[string]bool{}
		for p := range c.Allocations {
			roots[root[p]] = true
		}
		if len(roots) != len(c.Allocations) {
			continue
		}
		kept = append(kept, c)
		for p := range c.Allocations {
			used[p] = true
		}
	}
	return kept, slices.DeleteFunc(slices.Clone(sums), func(p *placement.Provider) bool { return !used[p.UUID] })
}

// limited keeps the first limit candidates (all when 0) and the
// summaries of their trees.
func limited(cands []placement.Candidate, sums []*placement.Provider, limit int) ([]placement.Candidate, []*placement.Provider) {
	if limit <= 0 || limit >= len(cands) {
		return cands, sums
	}
	cands = cands[:limit]
	root := map[string]string{}
	for _, p := range sums {
		root[p.UUID] = p.RootUUID
	}
	roots := map[string]bool{}
	for _, c := range cands {
		for p := range c.Allocations {
			roots[root[p]] = true
		}
	}
	return cands, slices.DeleteFunc(slices.Clone(sums), func(p *placement.Provider) bool { return !roots[p.RootUUID] })
}

// allocationRequests renders the candidates: lists of
// {"resource_provider", "resources"} before 1.12, by provider since,
// with mappings since 1.34.
func allocationRequests(q *request, cands []placement.Candidate) []any {
	out := make([]any, 0, len(cands))
	for _, c := range cands {
		providers := slices.Sorted(maps.Keys(c.Allocations))
		if !q.at(12) {
			list := make([]any, len(providers))
			for i, p := range providers {
				list[i] = map[string]any{"resource_provider": map[string]string{"uuid": p}, "resources": c.Allocations[p]}
			}
			out = append(out, map[string]any{"allocations": list})
			continue
		}
		byProvider := map[string]any{}
		for _, p := range providers {
			byProvider[p] = map[string]any{"resources": c.Allocations[p]}
		}
		req := map[string]any{"allocations": byProvider}
		if q.at(34) {
			req["mappings"] = c.Mappings
		}
		out = append(out, req)
	}
	return out
}

// summaries renders the provider summaries: capacity and usage of the
// requested classes (of every class since 1.27), traits since 1.17, the
// parent and root since 1.29.
func summaries(q *request, query placement.Query, sums []*placement.Provider) map[string]any {
	requested := map[string]bool{}
	for _, g := range query.Groups {
		for c := range g.Resources {
			requested[c] = true
		}
	}
	out := map[string]any{}
	for _, p := range sums {
		res := map[string]any{}
		for c, inv := range p.Inventories {
			if q.at(27) || requested[c] {
				res[c] = map[string]int64{"capacity": inv.Capacity(), "used": p.Usages[c]}
			}
		}
		s := map[string]any{"resources": res}
		if q.at(17) {
			s["traits"] = nonNil(p.Traits)
		}
		if q.at(29) {
			s["parent_provider_uuid"] = nullString(p.ParentUUID)
			s["root_provider_uuid"] = p.RootUUID
		}
		out[p.UUID] = s
	}
	return out
}
