package api

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
)

// invalidInput is Neutron's InvalidInput (400).
func invalidInput(format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "InvalidInput", Message: "Invalid input for operation: " + fmt.Sprintf(format, args...) + "."}
}

// attrError is Neutron's message for a bad attribute value.
func attrError(attr, format string, args ...any) error {
	return badRequest("Invalid input for %s. Reason: %s.", attr, fmt.Sprintf(format, args...))
}

// known refuses attributes a resource does not have, as Neutron's
// "Unrecognized attribute(s)".
func known(attrs map[string]any, allowed ...string) error {
	var bad []string
	for k := range attrs {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return badRequest("Unrecognized attribute(s) '%s'", strings.Join(bad, ", "))
	}
	return nil
}

func str(attrs map[string]any, key string, max int) (*string, error) {
	v, ok := attrs[key]
	if !ok {
		return nil, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return nil, attrError(key, "'%v' is not a valid string", v)
	}
	if max > 0 && len(s) > max {
		return nil, attrError(key, "'%s' exceeds maximum length of %d", s, max)
	}
	return &s, nil
}

// boolean is Neutron's convert_to_boolean: JSON booleans, and the strings
// and numbers oslo's bool_from_string takes strictly.
func boolean(attrs map[string]any, key string) (*bool, error) {
	v, ok := attrs[key]
	if !ok {
		return nil, nil
	}
	switch b := v.(type) {
	case bool:
		return &b, nil
	case string:
		switch strings.ToLower(b) {
		case "true", "1", "t", "on", "y", "yes":
			t := true
			return &t, nil
		case "false", "0", "f", "off", "n", "no":
			f := false
			return &f, nil
		}
	case float64:
		if b == 0 || b == 1 {
			t := b == 1
			return &t, nil
		}
	}
	return nil, invalidInput("'%v' cannot be converted to boolean", v)
}

func integer(attrs map[string]any, key string) (*int, error) {
	v, ok := attrs[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch n := v.(type) {
	case float64:
		if n == float64(int(n)) {
			i := int(n)
			return &i, nil
		}
	case string:
		var i int
		if _, err := fmt.Sscan(n, &i); err == nil && fmt.Sprint(i) == n {
			return &i, nil
		}
	}
	return nil, invalidInput("'%v' is not an integer", v)
}

// owner is the project a new resource belongs to: tenant_id or
// project_id of the body (they must agree), else the caller's.
func owner(attrs map[string]any, q *request) (string, error) {
	t, err := str(attrs, "tenant_id", 255)
	if err != nil {
		return "", err
	}
	p, err := str(attrs, "project_id", 255)
	if err != nil {
		return "", err
	}
	project := q.caller.ProjectID
	switch {
	case t != nil && p != nil && *t != *p:
		return "", badRequest("'project_id' and 'tenant_id' do not match")
	case t != nil:
		project = *t
	case p != nil:
		project = *p
	}
	// neutron_lib's attributes._validate_privileges.
	if project != q.caller.ProjectID && !q.admin {
		return "", badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges")
	}
	return project, nil
}

// isoTime is Neutron's timestamp form.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// hasRule reports whether the enforcer has a rule called name (read
// once), to check attribute rules only where Neutron has one.
func (a *API) hasRule(name string) bool {
	a.rulesOnce.Do(func() {
		a.rules = map[string]bool{}
		for _, r := range a.Policy.Rules() {
			a.rules[r.Name] = true
		}
	})
	return a.rules[name]
}

// checkAttrs enforces "<action>:<attr>" for each attribute the request
// sets that has such a rule (Neutron's attribute policies: provider
// attributes, shared, binding:host_id, ...).
func (a *API) checkAttrs(ctx context.Context, q *request, action string, attrs map[string]any, target map[string]any) error {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rule := action + ":" + k
		if a.hasRule(rule) && !a.allowed(ctx, q, rule, target) {
			return notAuthorized(rule)
		}
	}
	return nil
}

// hide removes the attributes of item whose "get_<res>:<attr>" rule does
// not allow the caller (provider attributes and port bindings for
// non-admins).
func (a *API) hide(ctx context.Context, q *request, action string, item map[string]any, target map[string]any) map[string]any {
	for k := range item {
		rule := action + ":" + k
		if a.hasRule(rule) && !a.allowed(ctx, q, rule, target) {
			delete(item, k)
		}
	}
	return item
}
