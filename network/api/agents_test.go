package api_test

import (
	"testing"
)

// The agents' internal API needs the service (or admin) role; Neutron's
// /v2.0/agents is the admin's.
func TestAgentRoutes(t *testing.T) {
	c := newAPI(t)
	report := map[string]any{"agent": map[string]any{"agent_type": "Open vSwitch agent", "binary": "gostack-network-agent",
		"tunnel_ip": "192.168.50.1", "start": true}}
	neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/agent", memberA, report), 403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "GET", "/internal/hosts/h1", memberA, nil), 403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/agent", service,
		map[string]any{"agent": map[string]any{"agent_type": "Open vSwitch agent", "binary": "y", "tunnel_ip": "nope"}}), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/agent", service,
		map[string]any{"agent": map[string]any{"agent_type": "DHCP agent", "binary": "y"}}), 400, "HTTPBadRequest")
	for _, bad := range []string{"0.0.0.0", "127.0.0.1", "224.0.0.1", "fe80::1", "::"} {
		neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/agent", service, map[string]any{"agent": map[string]any{
			"agent_type": "Open vSwitch agent", "binary": "y", "tunnel_ip": bad}}), 400, "HTTPBadRequest")
	}
	neutronError(t, c.Do(t, "GET", "/internal/hosts/a%20b", service, nil), 400, "HTTPBadRequest")
	ag := c.Must(t, 200, "PUT", "/internal/hosts/h1/agent", service, report)["agent"].(map[string]any)
	if ag["host"] != "h1" || ag["alive"] != true || ag["configurations"].(map[string]any)["tunneling_ip"] != "192.168.50.1" {
		t.Fatalf("agent = %v", ag)
	}

	n := c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "n"}})["network"].(map[string]any)
	c.Must(t, 201, "POST", "/v2.0/subnets", memberA, map[string]any{"subnet": map[string]any{
		"network_id": n["id"], "cidr": "10.0.0.0/24", "ip_version": 4}})
	p := c.Must(t, 201, "POST", "/v2.0/ports", admin, map[string]any{"port": map[string]any{
		"network_id": n["id"], "binding:host_id": "h1", "project_id": "proj-a"}})["port"].(map[string]any)
	st := c.Must(t, 200, "GET", "/internal/hosts/h1", service, nil)
	if ports := st["ports"].([]any); len(ports) != 1 || ports[0].(map[string]any)["id"] != p["id"] || st["tunnel_ip"] != "192.168.50.1" ||
		st["revision"].(float64) < 1 {
		t.Fatalf("host state = %v", st)
	}
	// Status: the member sees ACTIVE once the agent of the port's host
	// says so; a report for a port of another host is skipped.
	r := c.Must(t, 200, "PUT", "/internal/hosts/h1/ports", service, map[string]any{"ports": map[string]any{p["id"].(string): "ACTIVE"}})
	if len(r["skipped"].([]any)) != 0 {
		t.Fatalf("skipped = %v", r)
	}
	if got := c.Must(t, 200, "GET", "/v2.0/ports/"+p["id"].(string), memberA, nil)["port"].(map[string]any); got["status"] != "ACTIVE" {
		t.Fatalf("port status %v", got["status"])
	}
	r = c.Must(t, 200, "PUT", "/internal/hosts/h2/ports", service, map[string]any{"ports": map[string]any{p["id"].(string): "DOWN"}})
	if len(r["skipped"].([]any)) != 1 {
		t.Fatalf("another host's report: %v", r)
	}
	neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/ports", service, map[string]any{"ports": map[string]any{p["id"].(string): "UP"}}),
		400, "InvalidInput")

	// A host is its first agent user's: another service user is refused,
	// an admin is not; deleting the host's agent frees it.
	neutronError(t, c.Do(t, "GET", "/internal/hosts/h1", service2, nil), 403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "PUT", "/internal/hosts/h1/ports", service2, map[string]any{"ports": map[string]any{p["id"].(string): "DOWN"}}),
		403, "PolicyNotAuthorized")
	c.Must(t, 200, "GET", "/internal/hosts/h1", admin, nil)
	c.Must(t, 200, "GET", "/internal/hosts/h3", service2, nil)

	// /v2.0/agents: the admin's.
	neutronError(t, c.Do(t, "GET", "/v2.0/agents", memberA, nil), 403, "PolicyNotAuthorized")
	list := c.Must(t, 200, "GET", "/v2.0/agents?host=h1", admin, nil)["agents"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["agent_type"] != "Open vSwitch agent" {
		t.Fatalf("agents = %v", list)
	}
	if none := c.Must(t, 200, "GET", "/v2.0/agents?host=h9", admin, nil)["agents"].([]any); len(none) != 0 {
		t.Fatalf("filtered agents = %v", none)
	}
	id := ag["id"].(string)
	if up := c.Must(t, 200, "PUT", "/v2.0/agents/"+id, admin, map[string]any{"agent": map[string]any{"admin_state_up": false}})["agent"].(map[string]any); up["admin_state_up"] != false {
		t.Fatalf("update = %v", up)
	}
	neutronError(t, c.Do(t, "PUT", "/v2.0/agents/"+id, admin, map[string]any{"agent": map[string]any{"host": "h2"}}), 400, "HTTPBadRequest")
	c.Must(t, 204, "DELETE", "/v2.0/agents/"+id, admin, nil)
	neutronError(t, c.Do(t, "GET", "/v2.0/agents/"+id, admin, nil), 404, "AgentNotFound")
	// h1 is free now: another user may be its agent.
	c.Must(t, 200, "GET", "/internal/hosts/h1", service2, nil)
	neutronError(t, c.Do(t, "GET", "/internal/hosts/h1", service, nil), 403, "PolicyNotAuthorized")
}

// A port's binding as Nova reads it: unbound, ovs with its agent's
// bridge and datapath, or binding_failed on a host without an agent.
func TestPortBinding(t *testing.T) {
	c := newAPI(t)
	c.Must(t, 200, "PUT", "/internal/hosts/h1/agent", service, map[string]any{"agent": map[string]any{
		"agent_type": "Open vSwitch agent", "binary": "b", "configurations": map[string]any{"datapath_type": "netdev",
			"integration_bridge": "br-int"}}})
	n := c.Must(t, 201, "POST", "/v2.0/networks", admin, map[string]any{"network": map[string]any{"name": "n"}})["network"].(map[string]any)
	for host, want := range map[string]string{"": "unbound", "h1": "ovs", "h9": "binding_failed"} {
		p := c.Must(t, 201, "POST", "/v2.0/ports", admin, map[string]any{"port": map[string]any{"network_id": n["id"],
			"binding:host_id": host}})["port"].(map[string]any)
		if p["binding:vif_type"] != want {
			t.Errorf("host %q: vif_type %v, want %s", host, p["binding:vif_type"], want)
		}
		if d := p["binding:vif_details"].(map[string]any); want == "ovs" && (d["datapath_type"] != "netdev" || d["bridge_name"] != "br-int") {
			t.Errorf("vif_details %v", d)
		}
	}
}
