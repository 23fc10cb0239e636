package api

import (
	"context"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/network"
)

// groupList reads a port's security_groups: nil when absent (the
// default group), empty for null or [] (none), else a list of UUIDs.
func groupList(attrs map[string]any) ([]string, error) {
	v, ok := attrs["security_groups"]
	if !ok {
		return nil, nil
	}
	if v == nil {
		return []string{}, nil // Neutron's convert_none_to_empty_list
	}
	list, isList := v.([]any)
	if !isList {
		return nil, attrError("security_groups", "'%v' is not a list", v)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, isStr := item.(string)
		if _, err := uuid.Parse(s); !isStr || err != nil {
			return nil, attrError("security_groups", "'%v' is not a valid UUID", item)
		}
		out = append(out, s)
	}
	return out, nil
}

// addressPairs reads a port's allowed_address_pairs: nil when absent,
// empty for null or []; each pair a dictionary of ip_address and
// mac_address strings (the store checks the values).
func addressPairs(attrs map[string]any) ([]network.AddressPair, error) {
	v, ok := attrs["allowed_address_pairs"]
	if !ok {
		return nil, nil
	}
	if v == nil {
		return []network.AddressPair{}, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, badRequest("Allowed address pairs must be a list.")
	}
	out := make([]network.AddressPair, 0, len(list))
	for _, item := range list {
		m, isMap := item.(map[string]any)
		if !isMap {
			return nil, attrError("allowed_address_pairs", "'%v' is not a dictionary", item)
		}
		var bad []string
		for k := range m {
			if k != "ip_address" && k != "mac_address" {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			return nil, badRequest("Unrecognized attribute(s) '%s'", strings.Join(bad, ", "))
		}
		var pair network.AddressPair
		if ip, given := m["ip_address"]; given {
			s, isStr := ip.(string)
			if !isStr || s == "" {
				return nil, badRequest("'%v' is not a valid IP address", ip)
			}
			pair.IP = s
		}
		if mac, given := m["mac_address"]; given {
			s, isStr := mac.(string)
			if !isStr || s == "" {
				return nil, badRequest("'%v' is not a valid MAC address", mac)
			}
			pair.MAC = s
		}
		out = append(out, pair)
	}
	return out, nil
}

// checkPairs enforces Neutron's allowed_address_pairs sub-attribute rules
// ("create_port:allowed_address_pairs:mac_address", ...) for what the
// pairs set.
func (a *API) checkPairs(ctx context.Context, q *request, action string, pairs []network.AddressPair, target map[string]any) error {
	for _, pair := range pairs {
		for key, set := range map[string]bool{"ip_address": pair.IP != "", "mac_address": pair.MAC != ""} {
			if rule := action + ":allowed_address_pairs:" + key; set && a.hasRule(rule) && !a.allowed(ctx, q, rule, target) {
				return notAuthorized(rule)
			}
		}
	}
	return nil
}
