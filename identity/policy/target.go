package policy

import (
	"sort"
)

// Flatten turns nested maps into one level of dotted keys, as Keystone's
// flatten_dict (keystone/common/utils.py) does to the policy dict before
// enforcement: Flatten("target", {"project": {"id": "p1"}}) is
// {"target.project.id": "p1"}, which a rule reads as %(target.project.id)s.
// With an empty prefix the top-level keys are kept as they are.
//
// Only maps are flattened (map[string]any and map[string]string); lists
// and other values are kept whole, and an empty nested map contributes no
// key. If two paths produce the same key, the one whose keys sort later
// wins (Python's result depends on dict insertion order, which Go maps do
// not have).
func Flatten(prefix string, v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	flattenInto(out, prefix, v)
	return out
}

func flattenInto(out map[string]any, prefix string, v map[string]any) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch x := v[k].(type) {
		case map[string]any:
			flattenInto(out, key, x)
		case map[string]string:
			m := make(map[string]any, len(x))
			for k, s := range x {
				m[k] = s
			}
			flattenInto(out, key, m)
		default:
			out[key] = x
		}
	}
}
