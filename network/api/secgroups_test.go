package api_test

import (
	"fmt"
	"strings"
	"testing"
)

type obj = map[string]any

func names(items []any) string {
	var out []string
	for _, it := range items {
		m := it.(obj)
		out = append(out, fmt.Sprint(m["tenant_id"], "/", m["name"]))
	}
	return strings.Join(out, " ")
}

// Security groups and rules: defaults, Neutron's checks and errors, and
// tenancy.
func TestSecurityGroupsAPI(t *testing.T) {
	c := newAPI(t)
	list := c.Must(t, 200, "GET", "/v2.0/security-groups", memberA, nil)["security_groups"].([]any)
	if len(list) != 1 {
		t.Fatalf("A's groups at first: %v", list)
	}
	def := list[0].(obj)
	defID := def["id"].(string)
	rules := def["security_group_rules"].([]any)
	if def["name"] != "default" || def["stateful"] != true || len(rules) != 4 {
		t.Fatalf("the default group: %v", def)
	}
	for _, r := range rules {
		r := r.(obj)
		if r["protocol"] != nil || r["remote_ip_prefix"] != nil || r["port_range_min"] != nil ||
			(r["direction"] == "ingress") != (r["remote_group_id"] == defID) {
			t.Fatalf("a rule of the default group: %v", r)
		}
	}
	web := c.Must(t, 201, "POST", "/v2.0/security-groups", memberA, obj{"security_group": obj{"name": "web", "description": "http"}})["security_group"].(obj)
	webID := web["id"].(string)
	if len(web["security_group_rules"].([]any)) != 2 || web["tenant_id"] != "proj-a" || web["revision_number"] != float64(1) {
		t.Fatalf("web: %v", web)
	}
	neutronError(t, c.Do(t, "POST", "/v2.0/security-groups", memberA, obj{"security_group": obj{"name": "Default"}}), 409, "SecurityGroupDefaultAlreadyExists")
	neutronError(t, c.Do(t, "POST", "/v2.0/security-groups", memberA, obj{"security_group": obj{"name": "x", "colour": "red"}}), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "POST", "/v2.0/security-groups", memberA, obj{"security_group": obj{"stateful": "maybe"}}), 400, "InvalidInput")

	rule := func(attrs obj) obj {
		attrs["security_group_id"] = webID
		if _, ok := attrs["direction"]; !ok {
			attrs["direction"] = "ingress"
		}
		return obj{"security_group_rule": attrs}
	}
	ssh := c.Must(t, 201, "POST", "/v2.0/security-group-rules", memberA,
		rule(obj{"protocol": "tcp", "port_range_min": 22, "port_range_max": "22", "remote_ip_prefix": "10.1.2.3/8"}))["security_group_rule"].(obj)
	if ssh["protocol"] != "tcp" || ssh["port_range_min"] != float64(22) || ssh["port_range_max"] != float64(22) ||
		ssh["remote_ip_prefix"] != "10.1.2.3/8" || ssh["normalized_cidr"] != "10.0.0.0/8" || ssh["ethertype"] != "IPv4" ||
		ssh["tenant_id"] != "proj-a" || ssh["remote_group_id"] != nil {
		t.Fatalf("ssh rule: %v", ssh)
	}
	for _, tc := range []struct {
		name  string
		attrs obj
		code  int
		typ   string
	}{
		{"the same rule", obj{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.1.2.3/8"}, 409, "SecurityGroupRuleExists"},
		{"by number", obj{"protocol": 6, "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.1.2.3/8"}, 409, "SecurityGroupRuleExists"},
		{"min above max", obj{"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, 400, "SecurityGroupInvalidPortRange"},
		{"ports without protocol", obj{"port_range_min": 90, "port_range_max": 91}, 400, "SecurityGroupProtocolRequiredWithPorts"},
		{"ports on gre", obj{"protocol": "gre", "port_range_min": 90, "port_range_max": 91}, 400, "SecurityGroupInvalidProtocolForPort"},
		{"icmp type 300", obj{"protocol": "icmp", "port_range_min": 300}, 400, "SecurityGroupInvalidIcmpValue"},
		{"icmp code alone", obj{"protocol": "icmp", "port_range_max": 3}, 400, "SecurityGroupMissingIcmpType"},
		{"unknown protocol", obj{"protocol": "foo"}, 400, "SecurityGroupRuleInvalidProtocol"},
		{"protocol 300", obj{"protocol": 300}, 400, "SecurityGroupRuleInvalidProtocol"},
		{"prefix family", obj{"remote_ip_prefix": "2001:db8::/32"}, 400, "SecurityGroupRuleParameterConflict"},
		{"prefix and group", obj{"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": defID}, 400, "SecurityGroupMultipleRemoteEntites"},
		{"bad prefix", obj{"remote_ip_prefix": "nonsense"}, 400, "InvalidCIDR"},
		{"direction", obj{"direction": "up"}, 400, "HTTPBadRequest"},
		{"no direction", obj{"direction": nil}, 400, "HTTPBadRequest"},
		{"ethertype", obj{"ethertype": "IPv5"}, 400, "SecurityGroupRuleInvalidEtherType"},
		{"port text", obj{"protocol": "tcp", "port_range_min": "abc", "port_range_max": 5}, 400, "SecurityGroupInvalidPortValue"},
		{"port too big", obj{"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}, 400, "SecurityGroupInvalidPortValue"},
		{"IPv6 protocol on IPv4", obj{"protocol": "ipv6-icmp"}, 400, "SecurityGroupEthertypeConflictWithProtocol"},
		{"unknown attribute", obj{"remote_address_group_id": "x"}, 400, "HTTPBadRequest"},
		{"another project", obj{"tenant_id": "proj-b"}, 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "POST", "/v2.0/security-group-rules", memberA, rule(tc.attrs)), tc.code, tc.typ)
		})
	}
	icmp6 := c.Must(t, 201, "POST", "/v2.0/security-group-rules", memberA, rule(obj{"protocol": "icmp", "ethertype": "ipv6"}))["security_group_rule"].(obj)
	if icmp6["protocol"] != "ipv6-icmp" || icmp6["ethertype"] != "IPv6" {
		t.Fatalf("IPv6 icmp: %v", icmp6)
	}
	if g := c.Must(t, 200, "GET", "/v2.0/security-groups/"+webID, memberA, nil)["security_group"].(obj); len(g["security_group_rules"].([]any)) != 4 ||
		g["revision_number"] != float64(3) {
		t.Fatalf("web with two rules more: %v", g)
	}

	// Another project: nothing of A's, not even by id.
	if got := c.Must(t, 200, "GET", "/v2.0/security-groups", memberB, nil)["security_groups"].([]any); names(got) != "proj-b/default" {
		t.Fatalf("B's groups: %s", names(got))
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/security-groups/"+webID, memberB, nil), 404, "SecurityGroupNotFound")
	neutronError(t, c.Do(t, "PUT", "/v2.0/security-groups/"+webID, memberB, obj{"security_group": obj{"name": "mine"}}), 404, "SecurityGroupNotFound")
	neutronError(t, c.Do(t, "DELETE", "/v2.0/security-groups/"+webID, memberB, nil), 404, "SecurityGroupNotFound")
	neutronError(t, c.Do(t, "POST", "/v2.0/security-group-rules", memberB, rule(obj{})), 404, "SecurityGroupNotFound")
	neutronError(t, c.Do(t, "GET", "/v2.0/security-group-rules/"+ssh["id"].(string), memberB, nil), 404, "SecurityGroupRuleNotFound")
	neutronError(t, c.Do(t, "DELETE", "/v2.0/security-group-rules/"+ssh["id"].(string), memberB, nil), 404, "SecurityGroupRuleNotFound")
	bDef := c.Must(t, 200, "GET", "/v2.0/security-groups", memberB, nil)["security_groups"].([]any)[0].(obj)["id"].(string)
	neutronError(t, c.Do(t, "POST", "/v2.0/security-group-rules", memberB,
		obj{"security_group_rule": obj{"security_group_id": bDef, "direction": "ingress", "remote_group_id": webID}}), 404, "SecurityGroupNotFound")
	if got := c.Must(t, 200, "GET", "/v2.0/security-group-rules", memberB, nil)["security_group_rules"].([]any); len(got) != 4 {
		t.Fatalf("B sees %d rules", len(got))
	}
	all := c.Must(t, 200, "GET", "/v2.0/security-groups?sort_key=tenant_id&sort_key=name&fields=name&fields=tenant_id", admin, nil)["security_groups"].([]any)
	if names(all) != "ops/default proj-a/default proj-a/web proj-b/default" {
		t.Fatalf("the admin sees %s", names(all))
	}

	// The default group stays, and keeps its name.
	neutronError(t, c.Do(t, "DELETE", "/v2.0/security-groups/"+defID, memberA, nil), 409, "SecurityGroupCannotRemoveDefault")
	neutronError(t, c.Do(t, "PUT", "/v2.0/security-groups/"+defID, memberA, obj{"security_group": obj{"name": "x"}}), 409, "SecurityGroupCannotUpdateDefault")
	up := c.Must(t, 200, "PUT", "/v2.0/security-groups/"+webID, memberA, obj{"security_group": obj{"name": "www", "stateful": false}})["security_group"].(obj)
	if up["name"] != "www" || up["stateful"] != false {
		t.Fatalf("update: %v", up)
	}
	// Filters, sort and pages like the other collections.
	page := c.Must(t, 200, "GET", "/v2.0/security-group-rules?security_group_id="+webID+"&sort_key=ethertype&sort_dir=desc&limit=1", memberA, nil)
	if got := page["security_group_rules"].([]any); len(got) != 1 || got[0].(obj)["ethertype"] != "IPv6" || page["security_group_rules_links"] == nil {
		t.Fatalf("a page of rules: %v", page)
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/security-groups?stateful=true", memberA, nil), 400, "HTTPBadRequest")
	c.Must(t, 204, "DELETE", "/v2.0/security-group-rules/"+ssh["id"].(string), memberA, nil)
	c.Must(t, 204, "DELETE", "/v2.0/security-groups/"+webID, memberA, nil)
	c.Must(t, 204, "DELETE", "/v2.0/security-groups/"+defID, admin, nil)

	root := c.Must(t, 200, "GET", "/v2.0/", memberA, nil)
	if !strings.Contains(fmt.Sprint(root), "collection:security-group-rules") {
		t.Fatalf("root: %v", root)
	}
	for _, alias := range []string{"security-group", "port-security", "allowed-address-pairs"} {
		c.Must(t, 200, "GET", "/v2.0/extensions/"+alias, memberA, nil)
	}
}

// Ports' security_groups, port_security_enabled and
// allowed_address_pairs.
func TestPortSecurityAPI(t *testing.T) {
	c := newAPI(t)
	netID := c.Must(t, 201, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "n"}})["network"].(obj)["id"].(string)
	c.Must(t, 201, "POST", "/v2.0/subnets", memberA, obj{"subnet": obj{"network_id": netID, "cidr": "10.0.0.0/24", "ip_version": 4}})
	web := c.Must(t, 201, "POST", "/v2.0/security-groups", memberA, obj{"security_group": obj{"name": "web"}})["security_group"].(obj)["id"].(string)
	bs := c.Must(t, 201, "POST", "/v2.0/security-groups", memberB, obj{"security_group": obj{"name": "b"}})["security_group"].(obj)["id"].(string)
	port := func(attrs obj) obj {
		attrs["network_id"] = netID
		return obj{"port": attrs}
	}

	p1 := c.Must(t, 201, "POST", "/v2.0/ports", memberA, port(obj{"name": "p1"}))["port"].(obj)
	groups := p1["security_groups"].([]any)
	if p1["port_security_enabled"] != true || len(groups) != 1 || len(p1["allowed_address_pairs"].([]any)) != 0 {
		t.Fatalf("p1: %v", p1)
	}
	def := c.Must(t, 200, "GET", "/v2.0/security-groups/"+groups[0].(string), memberA, nil)["security_group"].(obj)
	if def["name"] != "default" {
		t.Fatalf("p1's group: %v", def)
	}
	p2 := c.Must(t, 201, "POST", "/v2.0/ports", memberA, port(obj{"security_groups": []string{web},
		"allowed_address_pairs": []obj{{"ip_address": "10.0.0.200"}, {"ip_address": "192.0.2.0/24", "mac_address": "fa:16:3e:00:00:01"}}}))["port"].(obj)
	if fmt.Sprint(p2["security_groups"]) != "["+web+"]" ||
		fmt.Sprint(p2["allowed_address_pairs"]) != fmt.Sprintf("[map[ip_address:10.0.0.200 mac_address:%s] map[ip_address:192.0.2.0/24 mac_address:fa:16:3e:00:00:01]]", p2["mac_address"]) {
		t.Fatalf("p2: %v", p2)
	}
	p3 := c.Must(t, 201, "POST", "/v2.0/ports", memberA, port(obj{"port_security_enabled": false}))["port"].(obj)
	if p3["port_security_enabled"] != false || len(p3["security_groups"].([]any)) != 0 {
		t.Fatalf("p3: %v", p3)
	}
	if p := c.Must(t, 201, "POST", "/v2.0/ports", memberA, port(obj{"security_groups": nil}))["port"].(obj); len(p["security_groups"].([]any)) != 0 {
		t.Fatalf("a port with security_groups null: %v", p)
	}
	for _, tc := range []struct {
		name  string
		attrs obj
		code  int
		typ   string
	}{
		{"groups without port security", obj{"port_security_enabled": false, "security_groups": []string{web}}, 400, "PortSecurityAndIPRequiredForSecurityGroups"},
		{"pairs without port security", obj{"port_security_enabled": false, "allowed_address_pairs": []obj{{"ip_address": "10.0.0.9"}}}, 409,
			"AddressPairAndPortSecurityRequired"},
		{"B's group", obj{"security_groups": []string{bs}}, 404, "SecurityGroupNotFound"},
		{"not a UUID", obj{"security_groups": []string{"web"}}, 400, "HTTPBadRequest"},
		{"not a list", obj{"security_groups": web}, 400, "HTTPBadRequest"},
		{"a pair twice", obj{"allowed_address_pairs": []obj{{"ip_address": "10.0.0.9"}, {"ip_address": "10.0.0.9"}}}, 400, "DuplicateAddressPairInRequest"},
		{"a pair without address", obj{"allowed_address_pairs": []obj{{"mac_address": "fa:16:3e:00:00:01"}}}, 400, "AllowedAddressPairsMissingIP"},
		{"a bad address", obj{"allowed_address_pairs": []obj{{"ip_address": "10.0.0.300"}}}, 400, "HTTPBadRequest"},
		{"a pair key", obj{"allowed_address_pairs": []obj{{"ip_address": "10.0.0.3", "vlan": 5}}}, 400, "HTTPBadRequest"},
		{"pairs not a list", obj{"allowed_address_pairs": "10.0.0.3"}, 400, "HTTPBadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			neutronError(t, c.Do(t, "POST", "/v2.0/ports", memberA, port(tc.attrs)), tc.code, tc.typ)
		})
	}
	neutronError(t, c.Do(t, "DELETE", "/v2.0/security-groups/"+web, memberA, nil), 409, "SecurityGroupInUse")

	// Updates.
	p1ID := p1["id"].(string)
	neutronError(t, c.Do(t, "PUT", "/v2.0/ports/"+p1ID, memberA, obj{"port": obj{"port_security_enabled": false}}), 409, "PortSecurityPortHasSecurityGroup")
	up := c.Must(t, 200, "PUT", "/v2.0/ports/"+p1ID, memberA, obj{"port": obj{"port_security_enabled": false, "security_groups": []string{}}})["port"].(obj)
	if up["port_security_enabled"] != false || len(up["security_groups"].([]any)) != 0 || up["revision_number"] != float64(2) {
		t.Fatalf("p1 without port security: %v", up)
	}
	neutronError(t, c.Do(t, "PUT", "/v2.0/ports/"+p1ID, memberA, obj{"port": obj{"allowed_address_pairs": []obj{{"ip_address": "10.0.0.9"}}}}),
		409, "AddressPairAndPortSecurityRequired")
	up = c.Must(t, 200, "PUT", "/v2.0/ports/"+p1ID, memberA, obj{"port": obj{"port_security_enabled": true, "security_groups": []string{web}}})["port"].(obj)
	if fmt.Sprint(up["security_groups"]) != "["+web+"]" {
		t.Fatalf("p1 in web: %v", up)
	}
	// The ports of a group.
	in := c.Must(t, 200, "GET", "/v2.0/ports?security_groups="+web+"&sort_key=id", memberA, nil)["ports"].([]any)
	if len(in) != 2 {
		t.Fatalf("ports in web: %v", in)
	}

	// A network's port security is its ports' default.
	off := c.Must(t, 201, "POST", "/v2.0/networks", memberA, obj{"network": obj{"name": "off", "port_security_enabled": false}})["network"].(obj)
	if off["port_security_enabled"] != false {
		t.Fatalf("network off: %v", off)
	}
	if p := c.Must(t, 201, "POST", "/v2.0/ports", memberA, obj{"port": obj{"network_id": off["id"]}})["port"].(obj); p["port_security_enabled"] != false ||
		len(p["security_groups"].([]any)) != 0 {
		t.Fatalf("a port on network off: %v", p)
	}
}
