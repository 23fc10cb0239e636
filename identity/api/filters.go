package api

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
)

// filters are a list call's Keystone filters, as
// keystone/server/flask/common.py applies them (build_driver_hints,
// filter_by_attributes): for each attribute the call names, name=v keeps
// the items whose attribute is v (every value, when the parameter
// repeats), and name__contains, __startswith, __endswith and their
// case-insensitive forms __icontains, __istartswith, __iendswith compare
// inexactly. Booleans match with oslo's bool_from_string. Parameters the
// call does not name are ignored, as Keystone ignores them, and so are
// inexact comparators Keystone does not know.
type filters[T any] struct {
	text    map[string]func(T) string
	boolean map[string]func(T) bool
	// null names the text attributes whose "" is JSON null in Keystone:
	// no filter matches it.
	null []string
}

// apply returns the items q's filters keep.
func (f filters[T]) apply(q url.Values, items []T) []T {
	for key, values := range q {
		for _, v := range values {
			if keep := f.match(key, v); keep != nil {
				items = slices.DeleteFunc(items, func(x T) bool { return !keep(x) })
			}
		}
	}
	return items
}

// match returns the test of one query parameter, nil when it is no
// filter of this call.
func (f filters[T]) match(key, v string) func(T) bool {
	if get, ok := f.boolean[key]; ok {
		want := boolFromString(v)
		return func(x T) bool { return get(x) == want }
	}
	name, comparator, inexact := strings.Cut(key, "__")
	get, ok := f.text[name]
	if !ok {
		return nil
	}
	null := slices.Contains(f.null, name)
	if !inexact {
		return func(x T) bool { s := get(x); return s == v && !(null && s == "") }
	}
	fold := func(s string) string { return s }
	if c, ok := strings.CutPrefix(comparator, "i"); ok {
		comparator, fold = c, strings.ToLower
	}
	var cmp func(s, sub string) bool
	switch comparator {
	case "contains":
		cmp = strings.Contains
	case "startswith":
		cmp = strings.HasPrefix
	case "endswith":
		cmp = strings.HasSuffix
	default:
		return nil
	}
	return func(x T) bool {
		s := get(x)
		return !(null && s == "") && cmp(fold(s), fold(v))
	}
}

// boolFromString is oslo.utils' strutils.bool_from_string(v,
// default=True), which Keystone's boolean filters use: "0", "f",
// "false", "n", "no" and "off" (in any case) are false, anything else
// true.
func boolFromString(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "f", "false", "n", "no", "off":
		return false
	}
	return true
}

// flag is Keystone's query_filter_is_true: present and not "0".
func flag(q url.Values, name string) bool {
	return q.Has(name) && q.Get(name) != "0"
}

var domainFilters = filters[identity.Domain]{
	text:    map[string]func(identity.Domain) string{"name": func(d identity.Domain) string { return d.Name }},
	boolean: map[string]func(identity.Domain) bool{"enabled": func(d identity.Domain) bool { return d.Enabled }},
}

// projectFilters are GET /v3/projects' (keystone/api/projects.py); the
// parent of a top-level project is its domain, as Keystone stores it, and
// a project acting as a domain has neither (null).
var projectFilters = filters[identity.Project]{
	text: map[string]func(identity.Project) string{
		"domain_id": func(p identity.Project) string { return p.DomainID },
		"name":      func(p identity.Project) string { return p.Name },
		"parent_id": func(p identity.Project) string { return cmpOr(p.ParentID, p.DomainID) },
	},
	boolean: map[string]func(identity.Project) bool{
		"enabled":   func(p identity.Project) bool { return p.Enabled },
		"is_domain": func(p identity.Project) bool { return p.IsDomain },
	},
	null: []string{"domain_id", "parent_id"},
}

// userProjectFilters are GET /v3/users/{id}/projects' (keystone/api/users.py).
var userProjectFilters = filters[identity.Project]{
	text: map[string]func(identity.Project) string{
		"domain_id": func(p identity.Project) string { return p.DomainID },
		"name":      func(p identity.Project) string { return p.Name },
	},
	boolean: map[string]func(identity.Project) bool{"enabled": func(p identity.Project) bool { return p.Enabled }},
}

// userFilters are GET /v3/users' and GET /v3/groups/{id}/users'; their
// password_expires_at and the federation filters are userQuery's.
var userFilters = filters[identity.User]{
	text: map[string]func(identity.User) string{
		"domain_id": func(u identity.User) string { return u.DomainID },
		"name":      func(u identity.User) string { return u.Name },
	},
	boolean: map[string]func(identity.User) bool{"enabled": func(u identity.User) bool { return u.Enabled }},
}

var groupFilters = filters[identity.Group]{
	text: map[string]func(identity.Group) string{
		"domain_id": func(g identity.Group) string { return g.DomainID },
		"name":      func(g identity.Group) string { return g.Name },
	},
}

// userGroupFilters are GET /v3/users/{id}/groups': the name only.
var userGroupFilters = filters[identity.Group]{
	text: map[string]func(identity.Group) string{"name": func(g identity.Group) string { return g.Name }},
}

var roleFilters = filters[identity.Role]{
	text: map[string]func(identity.Role) string{
		"domain_id": func(r identity.Role) string { return r.DomainID },
		"name":      func(r identity.Role) string { return r.Name },
	},
	null: []string{"domain_id"},
}

var regionFilters = filters[identity.Region]{
	text: map[string]func(identity.Region) string{
		"parent_region_id": func(r identity.Region) string { return r.ParentRegionID },
	},
	null: []string{"parent_region_id"},
}

var serviceFilters = filters[identity.Service]{
	text: map[string]func(identity.Service) string{
		"type": func(v identity.Service) string { return v.Type },
		"name": func(v identity.Service) string { return v.Name },
	},
}

var endpointFilters = filters[identity.Endpoint]{
	text: map[string]func(identity.Endpoint) string{
		"interface":  func(e identity.Endpoint) string { return e.Interface },
		"service_id": func(e identity.Endpoint) string { return e.ServiceID },
		"region_id":  func(e identity.Endpoint) string { return e.RegionID },
	},
	null: []string{"region_id"},
}

var appCredFilters = filters[identity.AppCred]{
	text: map[string]func(identity.AppCred) string{"name": func(x identity.AppCred) string { return x.Name }},
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// federated reports whether q filters on a federated identity (idp_id,
// protocol_id, unique_id, exact or not). gostack has no federation, so
// no user has one: Keystone answers such a filter from its federated
// users only (identity/core.py _handle_shadow_and_local_users), which is
// an empty list in a Keystone without federation, and so is gostack's.
func federated(q url.Values) bool {
	for key := range q {
		name, _, _ := strings.Cut(key, "__")
		switch name {
		case "idp_id", "protocol_id", "unique_id":
			return true
		}
	}
	return false
}

// userQuery applies the filters of GET /v3/users and GET
// /v3/groups/{id}/users to users.
func userQuery(q url.Values, users []identity.User) ([]identity.User, error) {
	if federated(q) {
		return []identity.User{}, nil
	}
	for key, values := range q {
		if name, _, _ := strings.Cut(key, "__"); name != "password_expires_at" {
			continue
		}
		for _, v := range values {
			keep, err := passwordExpiry(v)
			if err != nil {
				return nil, err
			}
			users = slices.DeleteFunc(users, func(u identity.User) bool { return !keep(u) })
		}
	}
	return userFilters.apply(q, users), nil
}

// passwordExpiry is Keystone's password_expires_at filter
// (identity/core.py _translate_expired_password_hints): "[op:]time" with
// op one of lt, lte, gt, gte, eq (the default) and neq. A user whose
// password does not expire matches no comparison, as NULL does not in
// Keystone's SQL.
func passwordExpiry(v string) (func(identity.User) bool, error) {
	op, ts := "eq", v
	if len(v) >= 4 && strings.Contains(v[2:4], ":") {
		op, ts, _ = strings.Cut(v, ":")
	}
	t, err := parseISOTime(ts)
	if err != nil {
		return nil, fault.New(fault.BadRequest, "Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	cmp := map[string]func(int) bool{
		"lt": func(c int) bool { return c < 0 }, "lte": func(c int) bool { return c <= 0 },
		"gt": func(c int) bool { return c > 0 }, "gte": func(c int) bool { return c >= 0 },
		"eq": func(c int) bool { return c == 0 }, "neq": func(c int) bool { return c != 0 },
	}[op]
	if cmp == nil {
		return nil, fault.New(fault.BadRequest, "The given operator %s is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.", op)
	}
	return func(u identity.User) bool {
		return u.PasswordExpiresAt != nil && cmp(u.PasswordExpiresAt.Compare(t))
	}, nil
}

// parseISOTime reads the ISO 8601 forms oslo's parse_isotime reads: a
// date, or a date and time with "T" or a space, seconds optional,
// fractions and a zone optional (UTC when absent).
func parseISOTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00",
		"2006-01-02T15:04", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
