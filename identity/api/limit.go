package api

import (
	"net/url"
	"strings"
)

// limitList is Keystone's list_limit on one list call. Keystone 22 has no
// limit or marker query parameters: a deployment sets list_limit, and a
// list with more entities than that answers the first list_limit of them
// with "truncated": true (keystone/common/driver_hints.py truncated,
// keystone/common/sql/core.py _limit, keystone/server/flask/common.py
// wrap_collection and limit).
//
// As in Keystone, the database cuts the list when it applies every filter
// of the request itself (inSQL): list is then called with limit+1, one
// more than the page, to know whether any were left out. Otherwise the
// store returns every entity, filter keeps the matching ones and the list
// is cut here. limit <= 0 is no limit.
func limitList[T any](limit int, inSQL bool, list func(limit int) ([]T, error), filter func([]T) ([]T, error)) ([]T, bool, error) {
	n := 0
	if limit > 0 && inSQL {
		n = limit + 1
	}
	items, err := list(n)
	if err != nil {
		return nil, false, err
	}
	if items, err = filter(items); err != nil {
		return nil, false, err
	}
	if limit > 0 && len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// inStore reports whether the store applied every filter of q that f
// knows: each one given once, not empty, with the value sent to the
// store (sent maps a parameter to it).
func (f filters[T]) inStore(q url.Values, sent map[string]string) bool {
	for key, values := range q {
		if f.match(key, values[0]) == nil {
			continue // not a filter of this call
		}
		v, ok := sent[key]
		if !ok || len(values) != 1 || values[0] == "" || values[0] != v {
			return false
		}
	}
	return true
}

// hasFilter reports whether q filters on one of names, exactly or not.
func hasFilter(q url.Values, names ...string) bool {
	for key := range q {
		name, _, _ := strings.Cut(key, "__")
		for _, n := range names {
			if name == n {
				return true
			}
		}
	}
	return false
}

// userOnlyFilters reports whether q has the user filters only userQuery
// applies: password_expires_at and the federated ones.
func userOnlyFilters(q url.Values) bool {
	return federated(q) || hasFilter(q, "password_expires_at")
}

// limitedCollection is collection with Keystone's "truncated": true when
// entities were left out.
func limitedCollection(body map[string]any, truncated bool) map[string]any {
	if truncated {
		body["truncated"] = true
	}
	return body
}
