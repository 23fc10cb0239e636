package placement

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute"
)

// queryError is Placement's answer to a query its schema refuses.
func queryError(format string, args ...any) error {
	return badRequest("Invalid query string parameters: "+format, args...)
}

// checkParams refuses query parameters that are neither in allowed nor
// match one of patterns, as Placement's query schemas do
// (additionalProperties: false).
func checkParams(qv url.Values, allowed []string, patterns ...*regexp.Regexp) error {
	var extra []string
	for k := range qv {
		if !slices.Contains(allowed, k) && !slices.ContainsFunc(patterns, func(p *regexp.Regexp) bool { return p.MatchString(k) }) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	if len(patterns) == 0 {
		return queryError("%s", unexpected(extra))
	}
	slices.Sort(extra)
	names := make([]string, len(extra))
	for i, e := range extra {
		names[i] = "'" + e + "'"
	}
	res := make([]string, len(patterns))
	for i, p := range patterns {
		res[i] = "'" + p.String() + "'"
	}
	verb := "does"
	if len(extra) > 1 {
		verb = "do"
	}
	return queryError("%s %s not match any of the regexes: %s", strings.Join(names, ", "), verb, strings.Join(res, ", "))
}

// last is the last value of a parameter, the one Placement reads.
func last(qv url.Values, k string) string {
	vs := qv[k]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// checkUUIDParam is a query schema's "format": "uuid".
func checkUUIDParam(qv url.Values, k string) error {
	if _, ok := qv[k]; !ok {
		return nil
	}
	if v := last(qv, k); !isUUID(v) {
		return queryError("'%s' is not a 'uuid'", v)
	}
	return nil
}

const resourcesForm = "Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: "

// parseResources reads "VCPU:2,MEMORY_MB:1024" with Placement's messages.
func parseResources(s string) (map[string]int64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, badRequest(resourcesForm + "empty string.")
	}
	out := map[string]int64{}
	for _, rt := range strings.Split(s, ",") {
		name, amount, ok := strings.Cut(rt, ":")
		if !ok || strings.Contains(amount, ":") {
			return nil, badRequest("%s%s.", resourcesForm, rt)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(amount), 10, 64)
		if err != nil {
			return nil, badRequest("Requested resource %s expected positive integer amount. Got: %s.", name, amount)
		}
		if n < 1 {
			return nil, badRequest("Requested resource %s requires amount >= 1. Got: %d.", name, n)
		}
		out[name] = n
	}
	return out, nil
}

// traitQuery is a parsed required parameter: each set needs one of its
// traits (a set of one is a plain required trait); forbidden ones must
// be absent.
type traitQuery struct {
	anyOf     [][]string
	forbidden []string
}

// split gives the store's form: single traits, sets, forbidden.
func (t traitQuery) split() (required []string, anyOf [][]string, forbidden []string) {
	for _, s := range t.anyOf {
		if len(s) == 1 {
			required = append(required, s[0])
		} else {
			anyOf = append(anyOf, s)
		}
	}
	return sortedSet(required), anyOf, t.forbidden
}

func (t traitQuery) names() []string {
	var all []string
	for _, s := range t.anyOf {
		all = append(all, s...)
	}
	return sortedSet(append(all, t.forbidden...))
}

// parseRequired reads the values of required{suffix}: forbidden traits
// (!T) since 1.22, several values and in:A,B since 1.39 (before, only
// the last value counts).
func parseRequired(q *request, vals []string) (traitQuery, error) {
	if !q.at(39) && len(vals) > 1 {
		vals = vals[len(vals)-1:]
	}
	var t traitQuery
	for _, v := range vals {
		if err := t.add(v, q.at(22), q.at(39)); err != nil {
			return t, err
		}
	}
	t.forbidden = sortedSet(t.forbidden)
	return t, nil
}

func (t *traitQuery) add(val string, allowForbidden, allowAny bool) error {
	if rest, ok := strings.CutPrefix(val, "in:"); ok {
		if !allowAny {
			return badRequest("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: %s", val)
		}
		var set []string
		for _, s := range strings.Split(rest, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				return badRequest("Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: %s", val)
			}
			if strings.HasPrefix(s, "!") {
				return badRequest("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: %s", val)
			}
			set = append(set, s)
		}
		t.anyOf = append(t.anyOf, sortedSet(set))
		return nil
	}
	form := "HW_CPU_X86_VMX,CUSTOM_MAGIC"
	if allowForbidden {
		form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
	}
	var required, forbidden []string
	for _, s := range strings.Split(val, ",") {
		s = strings.TrimSpace(s)
		// Placement strips every leading '!': !!T is T forbidden.
		if name, ok := strings.CutPrefix(s, "!"); ok {
			name = strings.TrimLeft(name, "!")
			if name == "" {
				return badRequest("Invalid query string parameters: Expected 'required' parameter value of the form: %s. Got an empty trait in: %s", form, val)
			}
			forbidden = append(forbidden, name)
			continue
		}
		if s == "" {
			return badRequest("Invalid query string parameters: Expected 'required' parameter value of the form: %s. Got an empty trait in: %s", form, val)
		}
		required = append(required, s)
	}
	if len(forbidden) > 0 && !allowForbidden {
		return badRequest("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: %s", val)
	}
	for _, s := range sortedSet(required) {
		t.anyOf = append(t.anyOf, []string{s})
	}
	t.forbidden = append(t.forbidden, forbidden...)
	return nil
}

// aggQuery is a parsed member_of: each set needs membership of one of
// its aggregates; forbidden ones must not hold the provider.
type aggQuery struct {
	anyOf     [][]string
	forbidden []string
}

// parseMemberOf reads the values of member_of{suffix}: repeated since
// 1.24, forbidden (! and !in:) since 1.32.
func parseMemberOf(q *request, suffix string, vals []string) (aggQuery, error) {
	var a aggQuery
	if !q.at(24) && len(vals) > 1 {
		return a, badRequest("Multiple member_of%s parameters are not supported", suffix)
	}
	for _, v := range vals {
		if strings.Contains(v, ",") && !strings.HasPrefix(v, "in:") && !strings.HasPrefix(v, "!in:") {
			return a, badRequest("Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: %s", v)
		}
		var required, forbidden []string
		switch {
		case strings.HasPrefix(v, "!in:"):
			forbidden = strings.Split(v[4:], ",")
		case strings.HasPrefix(v, "!"):
			forbidden = []string{v[1:]}
		case strings.HasPrefix(v, "in:"):
			required = strings.Split(v[3:], ",")
		default:
			required = []string{v}
		}
		for _, u := range append(slices.Clone(required), forbidden...) {
			if !isUUID(u) {
				return a, badRequest("Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: %s", u)
			}
		}
		if len(required) > 0 {
			a.anyOf = append(a.anyOf, sortedSet(required))
		}
		if len(forbidden) > 0 {
			if !q.at(32) {
				return a, badRequest("Forbidden member_of%s parameters are not supported in the specified microversion", suffix)
			}
			a.forbidden = append(a.forbidden, forbidden...)
		}
	}
	a.forbidden = sortedSet(a.forbidden)
	return a, nil
}

// parseInTree reads in_tree{suffix}: a provider uuid.
func parseInTree(v string) (string, error) {
	s := strings.TrimSpace(v)
	if !isUUID(s) {
		return "", badRequest("Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: %s", v)
	}
	return s, nil
}

// missingTraits are the names among names that are no trait.
func missingTraits(ctx context.Context, s *compute.Store, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		ok, err := s.TraitExists(ctx, n)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// missingClass is the first class of res (in order) that does not exist,
// "" when all do.
func missingClass(ctx context.Context, s *compute.Store, res map[string]int64) (string, error) {
	for _, c := range slices.Sorted(maps.Keys(res)) {
		ok, err := s.ResourceClassExists(ctx, c)
		if err != nil || !ok {
			return c, err
		}
	}
	return "", nil
}

func noSuchTraits(missing []string) string {
	return fmt.Sprintf("No such trait(s): %s.", strings.Join(missing, ", "))
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
