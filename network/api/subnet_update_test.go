package api_test

import "testing"

// PUT /v2.0/subnets/{id} with the attributes Neutron lets change.
func TestUpdateSubnetAPI(t *testing.T) {
	c := newAPI(t)
	n := c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "n"}})["network"].(map[string]any)
	s := c.Must(t, 201, "POST", "/v2.0/subnets", memberA, map[string]any{"subnet": map[string]any{
		"network_id": n["id"], "cidr": "10.0.0.0/24", "ip_version": 4}})["subnet"].(map[string]any)
	path := "/v2.0/subnets/" + s["id"].(string)
	got := c.Must(t, 200, "PUT", path, memberA, map[string]any{"subnet": map[string]any{
		"gateway_ip": nil, "allocation_pools": []any{map[string]any{"start": "10.0.0.10", "end": "10.0.0.20"}},
		"dns_nameservers": []any{"192.0.2.53"}, "host_routes": []any{map[string]any{"destination": "0.0.0.0/0", "nexthop": "10.0.0.1"}},
		"enable_dhcp": false}})["subnet"].(map[string]any)
	if got["gateway_ip"] != nil || got["enable_dhcp"] != false || len(got["allocation_pools"].([]any)) != 1 ||
		len(got["dns_nameservers"].([]any)) != 1 || len(got["host_routes"].([]any)) != 1 {
		t.Fatalf("updated subnet %v", got)
	}
	neutronError(t, c.Do(t, "PUT", path, memberA, map[string]any{"subnet": map[string]any{"gateway_ip": "10.0.0.15"}}),
		409, "GatewayConflictWithAllocationPools")
	neutronError(t, c.Do(t, "PUT", path, memberA, map[string]any{"subnet": map[string]any{"gateway_ip": "nope"}}), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "PUT", path, memberA, map[string]any{"subnet": map[string]any{"cidr": "10.1.0.0/24"}}), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "PUT", path, memberB, map[string]any{"subnet": map[string]any{"enable_dhcp": true}}), 404, "SubnetNotFound")
}
