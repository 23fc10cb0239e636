package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/network/nsutil"
)

// The all-in-one as `make run` starts it, with its network agent: in a
// network namespace of the test's own (a host with loopback only), it
// starts Open vSwitch itself, makes the external network on br-ex with
// the host's address, plumbs a port bound to it (ACTIVE) and serves its
// DHCP; stopped and started again, it reuses the same ovs-vswitchd, so
// the guest's connectivity never depended on gostack running.
// networkFirstSync is the network agent's log line of its first sync.
var networkFirstSync = regexp.MustCompile(`msg="network agent: synced"[^\n]* first=true`)

func TestAllInOneNetworkAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace and Open vSwitch")
	}
	for _, b := range []string{"ovs-vswitchd", "dnsmasq", "udhcpc", "ethtool"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	sfx := strconv.Itoa(os.Getpid() % 100000)
	ns, vmNS := "gsaio"+sfx, "gsaiovm"+sfx
	for _, n := range []string{ns, vmNS} {
		sh(t, "ip", "netns", "add", n)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
		sh(t, "ip", "netns", "exec", n, "ip", "link", "set", "lo", "up")
	}
	base, err := os.MkdirTemp("/tmp", "gsaio") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	data, ovsDir := filepath.Join(base, "data"), filepath.Join(base, "ovs")
	var running *proc
	start := func() *proc {
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-data-dir", data,
			"-set", "network.agent.host=aio", "-set", "network.agent.ovs_dir="+ovsDir, "-set", "identity.password_hash_rounds=4")
		cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
		running = startProc(t, cmd)
		return running
	}
	// gostack first, or its agent would start again what the cleanups stop.
	stopGostack := func() {
		if running != nil {
			running.cmd.Process.Kill()
			<-running.done
			running = nil
		}
	}
	t.Cleanup(func() { stopGostack(); stopAllInOneOVS(ns, ovsDir) })

	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := nsutil.InNamed(ns, func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}}
	p := start()
	waitFor(t, p, "healthy", func() error {
		resp, err := hc.Get("http://127.0.0.1:8790/healthcheck")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	pw, err := os.ReadFile(filepath.Join(data, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	admin := kitagent.NewSession(kitagent.Credentials{AuthURL: "http://127.0.0.1:5000/v3", Username: "admin",
		Password: strings.TrimSpace(string(pw)), Project: "admin"})
	admin.HTTP = hc
	api := func(method, path string, in any) map[string]any {
		t.Helper()
		var out map[string]any
		if err := admin.Do(context.Background(), method, "http://127.0.0.1:9696"+path, in, &out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, p.logs)
		}
		return out
	}
	// The external network, made on the first start, and the host's
	// address on br-ex.
	ext := api("GET", "/v2.0/networks?router:external=true", nil)["networks"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["name"] != "public" || ext[0].(map[string]any)["provider:network_type"] != "flat" {
		t.Fatalf("external networks: %v", ext)
	}
	waitFor(t, p, "172.24.4.1 on br-ex", func() error {
		out, err := exec.Command("ip", "netns", "exec", ns, "ip", "-o", "addr", "show", "dev", "br-ex").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "172.24.4.1/24") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	// A network, a port bound to this host, and a "VM" plugged into br-int.
	n := api("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "private"}})["network"].(map[string]any)
	t.Cleanup(func() { stopGostack(); stopDHCP(n["id"].(string)) })
	api("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n["id"], "cidr": "10.9.0.0/24", "ip_version": 4}})
	port := api("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": n["id"], "binding:host_id": "aio",
		"device_owner": "compute:nova"}})["port"].(map[string]any)
	id, mac := port["id"].(string), port["mac_address"].(string)
	ip := port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	hostEnd := "gsaiov" + sfx
	if len(hostEnd) > 15 {
		hostEnd = hostEnd[:15]
	}
	sh(t, "ip", "link", "add", hostEnd, "netns", ns, "type", "veth", "peer", "name", "eth0", "netns", vmNS)
	sh(t, "ip", "netns", "exec", vmNS, "ip", "link", "set", "eth0", "address", mac, "up")
	sh(t, "ip", "netns", "exec", vmNS, "ethtool", "-K", "eth0", "tx", "off")
	sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", hostEnd, "up")
	vsctl := exec.Command("ip", "netns", "exec", ns, "ovs-vsctl", "--timeout=10", "add-port", "br-int", hostEnd, "--",
		"set", "Interface", hostEnd, "external_ids:iface-id="+id, "external_ids:attached-mac="+mac)
	vsctl.Env = append(os.Environ(), "OVS_RUNDIR="+ovsDir)
	if out, err := vsctl.CombinedOutput(); err != nil {
		t.Fatalf("ovs-vsctl: %v: %s", err, out)
	}
	waitFor(t, p, "the port ACTIVE", func() error {
		if st := api("GET", "/v2.0/ports/"+id, nil)["port"].(map[string]any)["status"]; st != "ACTIVE" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	lease := func() error {
		out, err := exec.Command("ip", "netns", "exec", vmNS, "udhcpc", "-f", "-q", "-n", "-t", "3", "-T", "1", "-i", "eth0",
			"-s", "/bin/true").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "lease of "+ip+" obtained") {
			return fmt.Errorf("udhcpc: %v: %s", err, out)
		}
		return nil
	}
	waitFor(t, p, "a DHCP lease of "+ip, lease)

	// A router to the external network and a floating IP: the host
	// reaches the guest at its floating IP through br-ex, as after
	// devstack.
	extID := ext[0].(map[string]any)["id"].(string)
	r := api("POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
		"external_gateway_info": map[string]any{"network_id": extID}}})["router"].(map[string]any)
	t.Cleanup(func() { stopGostack(); exec.Command("ip", "netns", "del", "qrouter-"+r["id"].(string)).Run() })
	subnetID := n["subnets"].([]any)
	if len(subnetID) == 0 {
		subnetID = api("GET", "/v2.0/networks/"+n["id"].(string), nil)["network"].(map[string]any)["subnets"].([]any)
	}
	api("PUT", "/v2.0/routers/"+r["id"].(string)+"/add_router_interface", map[string]any{"subnet_id": subnetID[0]})
	sh(t, "ip", "netns", "exec", vmNS, "ip", "addr", "replace", ip+"/24", "dev", "eth0")
	sh(t, "ip", "netns", "exec", vmNS, "ip", "route", "replace", "default", "via", "10.9.0.1")
	sg := port["security_groups"].([]any)[0].(string)
	api("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": sg,
		"direction": "ingress", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "172.24.4.0/24"}})
	var ln net.Listener
	if err := nsutil.InNamed(vmNS, func() (err error) { ln, err = net.Listen("tcp", ip+":8080"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "guest saw %s", c.RemoteAddr())
			c.Close()
		}
	}()
	fip := api("POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": extID,
		"port_id": id}})["floatingip"].(map[string]any)["floating_ip_address"].(string)
	waitFor(t, p, "the floating IP "+fip+" from the host", func() error {
		var got string
		err := nsutil.InNamed(ns, func() error {
			c, err := net.DialTimeout("tcp", fip+":8080", 2*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b, err := io.ReadAll(c)
			got = string(b)
			return err
		})
		if err != nil || !strings.HasPrefix(got, "guest saw 172.24.4.1:") {
			return fmt.Errorf("%q %v", got, err)
		}
		return nil
	})

	// Restart gostack: Open vSwitch and dnsmasq keep running throughout.
	vswitchd, err := os.ReadFile(filepath.Join(ovsDir, "ovs-vswitchd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lease(); err != nil {
		dump := exec.Command("ip", "netns", "exec", ns, "sh", "-c", "ovs-vsctl --columns=name,tag list port; ovs-ofctl -O OpenFlow15 dump-flows br-int | grep -v 'n_packets=0' | head -60")
		dump.Env = append(os.Environ(), "OVS_RUNDIR="+ovsDir)
		out, _ := dump.CombinedOutput()
		t.Fatalf("DHCP before the restart: %v\n%s", err, out)
	}
	p.term(t)
	running = nil
	if err := lease(); err != nil {
		dump := exec.Command("ip", "netns", "exec", ns, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int", "table=0")
		dump.Env = append(os.Environ(), "OVS_RUNDIR="+ovsDir)
		out, _ := dump.CombinedOutput()
		ps, _ := exec.Command("sh", "-c", "ps aux | grep dnsmasq | grep -v grep").CombinedOutput()
		t.Fatalf("DHCP stopped with gostack: %v\n%s\n%s\n%s", err, out, ps, p.logs)
	}
	p = start()
	waitFor(t, p, "the restarted agent's first sync", func() error {
		// The network agent's (the compute agent logs a first sync too).
		if !networkFirstSync.MatchString(p.logs.String()) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if again, _ := os.ReadFile(filepath.Join(ovsDir, "ovs-vswitchd.pid")); string(again) != string(vswitchd) {
		t.Fatalf("ovs-vswitchd replaced by a gostack restart: %s -> %s", vswitchd, again)
	}
	if !strings.Contains(p.logs.String(), "flows_added=0 flows_deleted=0") {
		t.Errorf("the restarted agent changed flows:\n%s", p.logs)
	}
	if ext := api("GET", "/v2.0/networks?router:external=true", nil)["networks"].([]any); len(ext) != 1 {
		t.Fatalf("a second start made another external network: %v", ext)
	}
	p.term(t)
	running = nil
}

// stopAllInOneOVS removes what the all-in-one left running by design:
// its bridges and Open vSwitch, by their pid files.
func stopAllInOneOVS(ns, ovsDir string) {
	for _, br := range []string{"br-int", "br-tun", "br-ex"} {
		cmd := exec.Command("ip", "netns", "exec", ns, "ovs-vsctl", "--if-exists", "--timeout=5", "del-br", br)
		cmd.Env = append(os.Environ(), "OVS_RUNDIR="+ovsDir)
		cmd.Run()
	}
	for _, prog := range []string{"ovs-vswitchd", "ovsdb-server"} {
		killPidFile(filepath.Join(ovsDir, prog+".pid"))
	}
}

// stopDHCP ends the dnsmasq of network id and its namespace.
func stopDHCP(id string) {
	files, _ := filepath.Glob("/run/gostack/*/dhcp/" + id + "/pid")
	for _, f := range files {
		killPidFile(f)
		os.RemoveAll(filepath.Dir(f))
		os.Remove(filepath.Dir(filepath.Dir(f)))               // .../dhcp, if empty
		os.Remove(filepath.Dir(filepath.Dir(filepath.Dir(f)))) // its data directory's, if empty
	}
	exec.Command("ip", "netns", "del", "qdhcp-"+id).Run()
}

func killPidFile(f string) {
	b, err := os.ReadFile(f)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitFor retries fn for up to 60 s.
func waitFor(t *testing.T, p *proc, what string, fn func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err = fn(); err == nil {
			return
		}
		if ok, e := p.ended(); ok {
			t.Fatalf("gostack exited: %v\n%s", e, p.logs)
		}
	}
	t.Fatalf("%s: %v\n%s", what, err, p.logs)
}
