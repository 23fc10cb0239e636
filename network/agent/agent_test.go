package agent_test

import (
	"context"

	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// api calls the network API as the admin.
func (l *lab) api(method, path string, in any) map[string]any {
	l.t.Helper()
	var out map[string]any
	if err := l.admin.Do(context.Background(), method, l.urls["network"]+path, in, &out); err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// tenantNet makes a network of project with a /24 subnet.
func (l *lab) tenantNet(project, cidr string) string {
	n := l.api("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "n", "project_id": project}})["network"].(map[string]any)
	l.api("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n["id"], "cidr": cidr, "ip_version": 4, "project_id": project}})
	return n["id"].(string)
}

type port struct{ id, mac, ip string }

func (l *lab) port(netID, project, host string) port {
	p := l.api("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "project_id": project,
		"binding:host_id": host, "device_owner": "compute:nova"}})["port"].(map[string]any)
	return port{id: p["id"].(string), mac: p["mac_address"].(string), ip: p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)}
}

// subnetOf is the first subnet of network id.
func (l *lab) subnetOf(id string) string {
	return l.api("GET", "/v2.0/networks/"+id, nil)["network"].(map[string]any)["subnets"].([]any)[0].(string)
}

// external is a namespace on h's br-ex with 172.24.4.100/24: a host of
// the external network.
func (l *lab) external(h *host) vm {
	t := l.t
	v := vm{ns: "gsext" + l.sfx, ip: "172.24.4.100"}
	run(t, "ip", "netns", "add", v.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", v.ns).Run() })
	end := "gsx" + l.sfx
	run(t, "ip", "link", "add", end, "netns", h.ns, "type", "veth", "peer", "name", "eth0", "netns", v.ns)
	run(t, "ip", "netns", "exec", v.ns, "ip", "addr", "add", "172.24.4.100/24", "dev", "eth0")
	run(t, "ip", "netns", "exec", v.ns, "ip", "link", "set", "eth0", "up")
	run(t, "ip", "netns", "exec", v.ns, "ip", "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", v.ns, "ethtool", "-K", "eth0", "tx", "off")
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", end, "up")
	eventually(t, "br-ex on host "+h.name, func() error {
		cmd := exec.Command("ip", "netns", "exec", h.ns, "ovs-vsctl", "--timeout=2", "br-exists", "br-ex")
		cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovsDir)
		return cmd.Run()
	})
	l.ovs(h, "ovs-vsctl", "--may-exist", "add-port", "br-ex", end)
	return v
}

func defaultRoute(t *testing.T, v vm, via string) {
	run(t, "ip", "netns", "exec", v.ns, "ip", "route", "replace", "default", "via", via)
}

// agentStarted is the started_at of host's agent.
func (l *lab) agentStarted(host string) string {
	for _, ag := range l.api("GET", "/v2.0/agents?host="+host, nil)["agents"].([]any) {
		return ag.(map[string]any)["started_at"].(string)
	}
	return ""
}

func (l *lab) waitActive(ids ...string) {
	l.t.Helper()
	eventually(l.t, "ports ACTIVE", func() error {
		for _, id := range ids {
			if st := l.api("GET", "/v2.0/ports/"+id, nil)["port"].(map[string]any)["status"]; st != "ACTIVE" {
				return fmt.Errorf("port %s is %v", id, st)
			}
		}
		return nil
	})
}

var durationRE = regexp.MustCompile(`duration=[0-9.]+s, |n_packets=\d+, |n_bytes=\d+, |idle_age=\d+, |hard_age=\d+, `)

// flows is h's flow tables without counters: what must be the same
// before and after an agent restart, cookies included.
func (l *lab) flows(h *host, bridge string) []string {
	var out []string
	for _, line := range strings.Split(l.ovs(h, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows", bridge), "\n") {
		if strings.Contains(line, "cookie=") {
			out = append(out, strings.TrimSpace(durationRE.ReplaceAllString(line, "")))
		}
	}
	slices.Sort(out)
	return out
}

// Two hypervisors, each a namespace with its own Open vSwitch (userspace
// datapath) and agent process, joined by an underlay: VMs of one network
// on different hosts reach each other over VXLAN with forwarding entries
// the controller pushed; two projects with the same CIDR do not; an
// agent killed and restarted changes no flow and keeps traffic going.
func TestTwoHosts(t *testing.T) {
	l := newLab(t)
	testenv.LookPath(t, "udhcpc", "udhcpc", "/usr/sbin")
	testenv.LookPath(t, "dnsmasq", "dnsmasq-base", "/usr/sbin")
	a := l.addHost("a", "192.168.77.1/24", false, false)
	b := l.addHost("b", "192.168.77.2/24", true, true) // serves every network's DHCP and the routers

	n1 := l.tenantNet("p1", "10.0.0.0/24")
	n2 := l.tenantNet("p2", "10.0.0.0/24") // same CIDR, another project
	p1a, p1b := l.port(n1, "p1", "a"), l.port(n1, "p1", "b")
	p2a, p2b := l.port(n2, "p2", "a"), l.port(n2, "p2", "b")
	v1a := l.vm(a, p1a.id, p1a.mac, p1a.ip+"/24")
	v1b := l.vm(b, p1b.id, p1b.mac, p1b.ip+"/24")
	v2a := l.vm(a, p2a.id, p2a.mac, p2a.ip+"/24")
	v2b := l.vm(b, p2b.id, p2b.mac, p2b.ip+"/24")
	l.waitActive(p1a.id, p1b.id, p2a.id, p2b.id)

	eventually(t, "ICMP over VXLAN", func() error { return ping(v1a, p1b.ip) })
	serve(t, v1b, 8080)
	if got := dial(t, v1a, p1b.ip+":8080"); !strings.HasPrefix(got, v1b.ns+" saw "+p1a.ip) || len(got) < 20000 {
		t.Fatalf("TCP over VXLAN: %.200q", got)
	}
	eventually(t, "project 2 over VXLAN", func() error { return ping(v2a, p2b.ip) })

	// IPv6: neighbour solicitations for a port on the other host are
	// answered on this host's br-tun from the controller's entries.
	n6 := l.api("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "v6", "project_id": "p1"}})["network"].(map[string]any)["id"].(string)
	l.api("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n6, "cidr": "fd00:77::/64",
		"ip_version": 6, "project_id": "p1", "enable_dhcp": false}})
	q6a, q6b := l.port(n6, "p1", "a"), l.port(n6, "p1", "b")
	w6a := l.vm(a, q6a.id, q6a.mac, "")
	w6b := l.vm(b, q6b.id, q6b.mac, "")
	run(t, "ip", "netns", "exec", w6a.ns, "ip", "-6", "addr", "add", q6a.ip+"/64", "dev", "eth0", "nodad")
	run(t, "ip", "netns", "exec", w6b.ns, "ip", "-6", "addr", "add", q6b.ip+"/64", "dev", "eth0", "nodad")
	l.waitActive(q6a.id, q6b.id)
	eventually(t, "ICMPv6 over VXLAN", func() error {
		out, err := exec.Command("ip", "netns", "exec", w6a.ns, "ping", "-6", "-c", "1", "-W", "1", q6b.ip).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	if nd := l.ovs(a, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-tun", "table=24"); !regexp.MustCompile(`n_packets=[1-9]`).MatchString(nd) {
		t.Errorf("no neighbour advertisement made on br-tun:\n%s", l.ovs(a, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-tun"))
	}
	// A port of host b with no VM behind it: only br-tun can answer.
	ghost := l.port(n6, "p1", "b")
	eventually(t, "a neighbour entry for a port without a VM", func() error {
		exec.Command("ip", "netns", "exec", w6a.ns, "ping", "-6", "-c", "1", "-W", "1", ghost.ip).Run()
		out, _ := exec.Command("ip", "netns", "exec", w6a.ns, "ip", "-6", "neigh", "show", ghost.ip).CombinedOutput()
		if !strings.Contains(string(out), ghost.mac) {
			return fmt.Errorf("%s", out)
		}
		return nil
	})

	// DHCP: host b serves the network's DHCP (a namespace with dnsmasq on
	// the network's DHCP port); a VM on host a gets its fixed IP, the
	// gateway and the VXLAN MTU over the tunnel.
	pd := l.port(n1, "p1", "a")
	vd := l.vm(a, pd.id, pd.mac, "")
	var lease map[string]string
	eventually(t, "a DHCP lease across hosts", func() error {
		var err error
		lease, err = l.dhcpClient(vd)
		return err
	})
	if lease["ip"] != pd.ip || lease["router"] != "10.0.0.1" || lease["mtu"] != "1450" || lease["subnet"] != "255.255.255.0" {
		t.Fatalf("lease %v, want %s via 10.0.0.1, MTU 1450", lease, pd.ip)
	}
	// p1 and p2 use the same addresses: each VM reaches only its own
	// network's peer (the reply comes from the right MAC).
	if p1b.ip == p2b.ip {
		serve(t, v2b, 8081)
		if got := dial(t, v1a, p1b.ip+":8081"); !strings.HasPrefix(got, "error") {
			t.Fatalf("project 1 reached project 2's VM: %.100q", got)
		}
	}

	// Security groups, enforced on the receiving host: a port of a group
	// without ingress rules is unreachable, until a rule opens one port.
	web := l.api("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "web",
		"project_id": "p1"}})["security_group"].(map[string]any)["id"].(string)
	pw := l.api("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": n1, "project_id": "p1",
		"binding:host_id": "b", "security_groups": []string{web}}})["port"].(map[string]any)
	pwIP := pw["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	vw := l.vm(b, pw["id"].(string), pw["mac_address"].(string), pwIP+"/24")
	l.waitActive(pw["id"].(string))
	serve(t, vw, 8080)
	serve(t, vw, 8081)
	if got := dial(t, v1a, pwIP+":8080"); !strings.HasPrefix(got, "error") {
		t.Fatalf("a port without ingress rules answered: %.60q", got)
	}
	l.api("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": web,
		"direction": "ingress", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.0.0.0/24"}})
	eventually(t, "the new rule on host b", func() error {
		if got := dial(t, v1a, pwIP+":8080"); !strings.HasPrefix(got, vw.ns) {
			return fmt.Errorf("%.60q", got)
		}
		return nil
	})
	if got := dial(t, v1a, pwIP+":8081"); !strings.HasPrefix(got, "error") {
		t.Fatalf("port 8081, which no rule opens, answered: %.60q", got)
	}

	// A router on host b: SNAT out to an "external" namespace on br-ex,
	// a floating IP reachable from it, then moved to another port.
	ext := l.external(b)
	pub := l.api("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "public"}})["network"].(map[string]any)["id"].(string)
	l.api("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": pub, "cidr": "172.24.4.0/24",
		"ip_version": 4, "enable_dhcp": false}})
	router := l.api("POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r", "project_id": "p1",
		"external_gateway_info": map[string]any{"network_id": pub}}})["router"].(map[string]any)
	l.routers = append(l.routers, router["id"].(string))
	gwIP := router["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	l.api("PUT", "/v2.0/routers/"+router["id"].(string)+"/add_router_interface", map[string]any{"subnet_id": l.subnetOf(n1)})
	defaultRoute(t, v1a, "10.0.0.1")
	serve(t, ext, 9000)
	eventually(t, "SNAT to the external network", func() error {
		if got := dial(t, v1a, "172.24.4.100:9000"); !strings.HasPrefix(got, ext.ns+" saw "+gwIP) {
			return fmt.Errorf("%.80q", got)
		}
		return nil
	})
	// The default group lets the external network in on 8080.
	sg := l.api("GET", "/v2.0/ports/"+p1a.id, nil)["port"].(map[string]any)["security_groups"].([]any)[0].(string)
	l.api("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": sg,
		"direction": "ingress", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "172.24.4.0/24"}})
	serve(t, v1a, 8080)
	fip := l.api("POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": pub,
		"project_id": "p1", "port_id": p1a.id}})["floatingip"].(map[string]any)
	fipAddr, fipID := fip["floating_ip_address"].(string), fip["id"].(string)
	eventually(t, "the floating IP from outside", func() error {
		if got := dial(t, ext, fipAddr+":8080"); !strings.HasPrefix(got, v1a.ns+" saw 172.24.4.100") {
			return fmt.Errorf("%.80q", got)
		}
		return nil
	})
	eventually(t, "the floating IP ACTIVE", func() error {
		if st := l.api("GET", "/v2.0/floatingips/"+fipID, nil)["floatingip"].(map[string]any)["status"]; st != "ACTIVE" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	// Outbound traffic of the port now leaves as its floating IP.
	if got := dial(t, v1a, "172.24.4.100:9000"); !strings.HasPrefix(got, ext.ns+" saw "+fipAddr) {
		t.Fatalf("outbound with a floating IP: %.80q", got)
	}
	pm := l.port(n1, "p1", "b")
	vm2 := l.vm(b, pm.id, pm.mac, pm.ip+"/24")
	defaultRoute(t, vm2, "10.0.0.1")
	serve(t, vm2, 8080)
	l.waitActive(pm.id)
	l.api("PUT", "/v2.0/floatingips/"+fipID, map[string]any{"floatingip": map[string]any{"port_id": pm.id}})
	eventually(t, "the floating IP moved", func() error {
		if got := dial(t, ext, fipAddr+":8080"); !strings.HasPrefix(got, vm2.ns+" saw ") {
			return fmt.Errorf("%.80q", got)
		}
		return nil
	})

	// Agent restart: killed, started again, it converges without
	// deleting or re-adding a flow (the cookies of the first generation
	// stay), and traffic keeps flowing.
	beforeTun, beforeInt := l.flows(a, "br-tun"), l.flows(a, "br-int")
	if len(beforeTun) < 10 {
		t.Fatalf("br-tun flows: %v", beforeTun)
	}
	l.stopAgent(a)
	if err := ping(v1a, p1b.ip); err != nil {
		t.Fatalf("traffic stopped with the agent: %v", err)
	}
	started := l.agentStarted("a")
	time.Sleep(time.Second) // started_at has whole seconds
	l.startAgent(a)
	eventually(t, "the restarted agent's report", func() error {
		if now := l.agentStarted("a"); now == started {
			return fmt.Errorf("started_at still %s", now)
		}
		return nil
	})
	eventually(t, "the restarted agent's first sync", func() error {
		if !strings.Contains(a.logs.String(), "first=true") {
			return fmt.Errorf("not yet: %s", a.logs.String())
		}
		return nil
	})
	if !strings.Contains(a.logs.String(), "flows_added=0 flows_deleted=0") {
		t.Errorf("the restarted agent's first sync changed flows: %s", a.logs.String())
	}
	if afterTun, afterInt := l.flows(a, "br-tun"), l.flows(a, "br-int"); !slices.Equal(beforeTun, afterTun) || !slices.Equal(beforeInt, afterInt) {
		t.Errorf("flows changed by the restart:\nbefore %v\nafter  %v\nbefore %v\nafter  %v", beforeTun, afterTun, beforeInt, afterInt)
	}
	p3 := l.port(n1, "p1", "a") // a change the new generation must plumb
	v3 := l.vm(a, p3.id, p3.mac, p3.ip+"/24")
	l.waitActive(p3.id)
	eventually(t, "new port on the restarted agent", func() error { return ping(v3, p1b.ip) })
	// The new port only added flows (with the new generation's cookie):
	// every flow of before is still there, cookie and all.
	after := append(l.flows(a, "br-tun"), l.flows(a, "br-int")...)
	for _, f := range append(beforeTun, beforeInt...) {
		if !slices.Contains(after, f) {
			t.Errorf("flow deleted or changed since the restart: %s", f)
		}
	}
	if err := ping(v1a, p1b.ip); err != nil {
		t.Fatal(err)
	}

	// Open vSwitch restart: every flow of host b is lost with its
	// ovs-vswitchd; the agent starts it again and re-plumbs.
	l.stopSwitch(b)
	eventually(t, "traffic after an ovs-vswitchd restart", func() error { return ping(v1a, p1b.ip) })
	if got := dial(t, v1a, p1b.ip+":8080"); !strings.HasPrefix(got, v1b.ns+" saw ") {
		t.Fatalf("TCP after the switch restart: %.100q", got)
	}
	_ = v2b
}
