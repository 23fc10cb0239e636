package allinone_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// The network API's client proof, first slice: python3-openstackclient
// (openstacksdk) creates, lists, shows and deletes networks, subnets and
// ports against the all-in-one daemon; another project sees none of it;
// refusals come back as Neutron's errors.
func TestOpenStackNetwork(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	start(t, cfg, cfg.all()...)
	o := &osc{t: t, bin: bin, env: openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))}

	var net map[string]any
	o.json(&net, "network", "create", "private", "--description", "tenant net")
	if net["status"] != "ACTIVE" || net["mtu"] != float64(1450) || net["description"] != "tenant net" ||
		net["provider:network_type"] != "vxlan" {
		t.Fatalf("network create: %v", net)
	}
	var sub map[string]any
	o.json(&sub, "subnet", "create", "--network", "private", "--subnet-range", "10.0.0.0/24", "--dns-nameserver", "192.0.2.53", "private-sub")
	if sub["gateway_ip"] != "10.0.0.1" || sub["cidr"] != "10.0.0.0/24" || sub["enable_dhcp"] != true {
		t.Fatalf("subnet create: %v", sub)
	}
	var port map[string]any
	o.json(&port, "port", "create", "--network", "private", "p1")
	if !strings.Contains(strings.ToLower(asText(port["fixed_ips"])), "10.0.0.2") ||
		!strings.HasPrefix(asText(port["mac_address"]), "fa:16:3e:") || port["status"] != "DOWN" {
		t.Fatalf("port create: %v", port)
	}
	o.json(&port, "port", "create", "--network", "private", "--fixed-ip", "subnet=private-sub,ip-address=10.0.0.50", "p2")
	if !strings.Contains(asText(port["fixed_ips"]), "10.0.0.50") {
		t.Fatalf("port create with a fixed IP: %v", port)
	}
	out := o.must("port", "list", "-f", "value", "-c", "Name", "--sort-column", "Name")
	if strings.Fields(out)[0] != "p1" || len(strings.Fields(out)) != 2 {
		t.Fatalf("port list: %q", out)
	}
	var shown map[string]any
	o.json(&shown, "network", "show", "private")
	if !strings.Contains(asText(shown["subnets"]), sub["id"].(string)) {
		t.Fatalf("network show: %v", shown)
	}
	if out := o.must("network", "list", "--long", "-f", "value", "-c", "Name", "-c", "Status"); strings.TrimSpace(out) != "private ACTIVE" {
		t.Fatalf("network list --long: %q", out)
	}
	// The address is taken; the network has ports.
	if out, err := o.run(nil, "port", "create", "--network", "private", "--fixed-ip", "subnet=private-sub,ip-address=10.0.0.50", "p3"); err == nil ||
		!strings.Contains(out, "10.0.0.50") {
		t.Fatalf("a taken address: %v %s", err, out)
	}
	if out, err := o.run(nil, "network", "delete", "private"); err == nil {
		t.Fatalf("network delete with ports: %s", out)
	}

	// A member of another project sees none of it, and cannot create a
	// provider network.
	o.must("project", "create", "other")
	o.must("user", "create", "bob", "--password", "bob-pw", "--project", "other")
	o.must("role", "add", "--project", "other", "--user", "bob", "member")
	asBob := []string{"OS_USERNAME=bob", "OS_PASSWORD=bob-pw", "OS_PROJECT_NAME=other"}
	for _, what := range []string{"network", "subnet", "port"} {
		if out, err := o.run(asBob, what, "list", "-f", "value", "-c", "ID"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("bob's %s list: %q %v", what, out, err)
		}
	}
	if out, err := o.run(asBob, "port", "show", "p1"); err == nil {
		t.Errorf("bob shows another project's port: %s", out)
	}
	if out, err := o.run(asBob, "network", "create", "--provider-network-type", "vlan", "--provider-segment", "100", "evil"); err == nil ||
		!strings.Contains(out, "403") {
		t.Errorf("bob's provider network: want a 403, got %v %s", err, out)
	}
	// The provider attributes are the admin's: left out for bob (the CLI
	// prints None for a missing column).
	if out, err := o.run(asBob, "network", "create", "bobnet", "-f", "value", "-c", "provider:network_type"); err != nil || strings.TrimSpace(out) != "None" {
		t.Errorf("bob sees provider attributes: %q %v", out, err)
	}

	o.must("port", "delete", "p1", "p2")
	o.must("subnet", "delete", "private-sub")
	o.must("network", "delete", "private")
	if out := o.must("network", "list", "-f", "value", "-c", "Name"); strings.TrimSpace(out) != "bobnet" {
		t.Fatalf("after the deletes the admin sees: %q", out)
	}
}

// asText is a CLI JSON value as text, however the CLI formatted it.
func asText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return string(mustJSON(v))
}
