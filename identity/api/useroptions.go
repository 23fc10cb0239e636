package api

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/kit/fault"
)

// applyOptions sets a body's "options" on o as Keystone's update does:
// each member named sets that option, null removes it, and the options
// not named are kept. The members are held to Keystone's schema
// (USER_OPTIONS_REGISTRY.json_schema): only the registered names, the
// boolean options JSON booleans, the rules an array of arrays of
// strings; the store's Validate checks the rest.
func applyOptions(o *identity.UserOptions, members map[string]json.RawMessage) error {
	for _, k := range slices.Sorted(maps.Keys(members)) {
		v, field := bytes.TrimSpace(members[k]), "user.options."+k
		if !slices.Contains(identity.UserOptionNames, k) {
			return fault.Invalid("user.options", "Additional properties are not allowed ('%s' was unexpected)", k)
		}
		null := string(v) == "null"
		if b := o.Bool(k); b != nil {
			if null {
				*b = nil
				continue
			}
			var x bool
			if json.Unmarshal(v, &x) != nil {
				return fault.Invalid(field, "%s is not of type 'boolean'", v)
			}
			*b = &x
			continue
		}
		if null {
			o.MultiFactorAuthRules = nil
			continue
		}
		rules, err := mfaRules(v)
		if err != nil {
			return fault.Invalid(field, "%s", err.Error())
		}
		o.MultiFactorAuthRules = &rules
	}
	return nil
}

// mfaRules reads multi_factor_auth_rules strictly: an array of arrays of
// strings (encoding/json would read a null in it as an empty value).
func mfaRules(v json.RawMessage) ([][]string, error) {
	errShape := fault.New(fault.BadRequest, "%s is not a list of lists of strings", v)
	var outer []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &outer) != nil {
		return nil, errShape
	}
	rules := make([][]string, 0, len(outer))
	for _, sub := range outer {
		var inner []json.RawMessage
		if sub = bytes.TrimSpace(sub); len(sub) == 0 || sub[0] != '[' || json.Unmarshal(sub, &inner) != nil {
			return nil, errShape
		}
		rule := make([]string, 0, len(inner))
		for _, e := range inner {
			var method string
			if e = bytes.TrimSpace(e); len(e) == 0 || e[0] != '"' || json.Unmarshal(e, &method) != nil {
				return nil, errShape
			}
			rule = append(rule, method)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// immutableOption reads the options of a domain, project or role body:
// Keystone 22 registers one, immutable (a boolean; null removes it).
// gostack does not keep it, so immutable true is refused rather than
// taken and not enforced; false and null, which ask for the resource to
// be changeable as every resource here is, are accepted.
func immutableOption(field string, o opt[map[string]json.RawMessage]) error {
	if !o.Set {
		return nil
	}
	if o.Null {
		return fault.Invalid(field, "None is not of type 'object'")
	}
	for _, k := range slices.Sorted(maps.Keys(o.V)) {
		if k != "immutable" {
			return fault.Invalid(field, "Additional properties are not allowed ('%s' was unexpected)", k)
		}
		v := bytes.TrimSpace(o.V[k])
		if string(v) == "null" {
			continue
		}
		var immutable bool
		if json.Unmarshal(v, &immutable) != nil {
			return fault.Invalid(field+".immutable", "%s is not of type 'boolean'", v)
		}
		if immutable {
			return fault.Invalid(field+".immutable", "gostack does not keep the immutable resource option, so it does not take a resource as immutable it would not protect")
		}
	}
	return nil
}
