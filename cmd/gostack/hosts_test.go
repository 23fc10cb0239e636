package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
)

// Two hypervisor hosts, each a network namespace with its own Open
// vSwitch, joined by an underlay link (192.168.77.0/24) their VXLAN
// tunnels cross: h1 runs the all-in-one (the controller, with its
// network and compute agents in-process, DHCP and the metadata proxy),
// h2 only `gostack network-agent` and `gostack compute-agent` against
// it, as a second hypervisor would. Two servers of an anti-affinity
// group, created at once with the openstack CLI, land one on each host;
// both boot, get their address from h1's DHCP over the tunnel, read the
// metadata service through h1's proxy, and answer HTTP; both hosts are
// left with no guest after the deletes.
func TestTwoHosts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, Open vSwitch and tap devices")
	}
	for _, b := range []string{"ovs-vswitchd", "dnsmasq", "qemu-system-x86_64", "openstack", "curl", "ethtool"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	img := guesttest.Image(t)
	sfx := strconv.Itoa(os.Getpid() % 100000)
	ns1, ns2 := "gsh1-"+sfx, "gsh2-"+sfx
	for _, ns := range []string{ns1, ns2} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	}
	// The underlay: one veth, an end in each host, taken by its br-phy.
	sh(t, "ip", "-n", ns1, "link", "add", "uplink", "type", "veth", "peer", "name", "uplink", "netns", ns2)
	for _, ns := range []string{ns1, ns2} {
		sh(t, "ip", "netns", "exec", ns, "ethtool", "-K", "uplink", "tx", "off") // the userspace datapath reads the other end by AF_PACKET
		sh(t, "ip", "-n", ns, "link", "set", "uplink", "up")
	}
	base, err := os.MkdirTemp("/tmp", "gs2h") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	data1, ovs1 := filepath.Join(base, "d1"), filepath.Join(base, "o1")
	data2, ovs2 := filepath.Join(base, "d2"), filepath.Join(base, "o2")

	cmd := exec.Command("ip", "netns", "exec", ns1, os.Args[0], "-data-dir", data1, "-set", "bind=0.0.0.0",
		"-set", "network.agent.host=h1", "-set", "network.agent.ovs_dir="+ovs1,
		"-set", "network.agent.tunnel_ip=192.168.77.1/24", "-set", "network.agent.uplink=uplink",
		"-set", "identity.password_hash_rounds=4",
		"-set", "compute.agent.host=h1", "-set", "compute.agent.accel=tcg", "-set", "compute.agent.reserved_host_memory_mb=-1")
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
	p := startProc(t, cmd)
	var agents []*proc
	var privNet string
	// The processes first, then their guests, dnsmasq and the switches.
	t.Cleanup(func() {
		for _, a := range append([]*proc{p}, agents...) {
			a.cmd.Process.Kill()
			<-a.done
		}
		for _, d := range []string{data1, data2} {
			pids, _ := filepath.Glob(filepath.Join(d, "compute", "qemu", "*", "qemu.pid"))
			for _, f := range pids {
				killPidFile(f)
			}
		}
		if privNet != "" {
			stopDHCP(privNet)
		}
		stopAllInOneOVS(ns1, ovs1)
		stopAllInOneOVS(ns2, ovs2)
	})
	waitFor(t, p, "h1 healthy", func() error {
		out, err := exec.Command("ip", "netns", "exec", ns1, "curl", "-sf", "http://127.0.0.1:8790/healthcheck").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	c := &cli{t: t, ns: ns1, env: openrcEnv(t, data1), logs: func() string { return p.logs.String() }}
	osc, must, asJSON := c.run, c.must, c.json

	// h2's agents: a service user of their own, the controller over the
	// underlay (which exists once h1's agent has made its br-phy).
	must("user", "create", "--project", "service", "--password", "h2-secret", "h2-agent")
	must("role", "add", "--project", "service", "--user", "h2-agent", "service")
	ctl := "http://192.168.77.1"
	common := []string{"-data-dir", data2, "-set", "identity.password_hash_rounds=4"}
	netAgent := exec.Command("ip", append(append([]string{"netns", "exec", ns2, os.Args[0], "network-agent"}, common...),
		"-set", "network.agent.host=h2", "-set", "network.agent.ovs_dir="+ovs2,
		"-set", "network.agent.tunnel_ip=192.168.77.2/24", "-set", "network.agent.uplink=uplink",
		"-set", "network.agent.dhcp=false", "-set", "network.agent.l3=false", "-set", "network.agent.metadata_url=none",
		"-set", "network.agent.auth_url="+ctl+":5000/v3", "-set", "network.agent.username=h2-agent", "-set", "network.agent.password=h2-secret",
		"-set", "network.agent.watch_url="+ctl+":8790", "-set", "network.agent.network_url="+ctl+":9696")...)
	netAgent.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
	agents = append(agents, startProc(t, netAgent))
	cmpAgent := exec.Command("ip", append(append([]string{"netns", "exec", ns2, os.Args[0], "compute-agent"}, common...),
		"-set", "compute.agent.host=h2", "-set", "compute.agent.accel=tcg", "-set", "compute.agent.reserved_host_memory_mb=-1",
		"-set", "compute.agent.ovs_dir="+ovs2,
		"-set", "compute.agent.auth_url="+ctl+":5000/v3", "-set", "compute.agent.username=h2-agent", "-set", "compute.agent.password=h2-secret",
		"-set", "compute.agent.watch_url="+ctl+":8790", "-set", "compute.agent.compute_url="+ctl+":8774")...)
	cmpAgent.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
	agents = append(agents, startProc(t, cmpAgent))
	logs := func() string {
		return fmt.Sprintf("h1:\n%s\nh2 network-agent:\n%s\nh2 compute-agent:\n%s", p.logs, agents[0].logs, agents[1].logs)
	}
	waitFor(t, p, "two hypervisors up", func() error {
		var hyps []map[string]any
		out, err := osc("hypervisor", "list", "-f", "json")
		if err != nil || json.Unmarshal([]byte(out), &hyps) != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		up := 0
		for _, h := range hyps {
			if h["State"] == "up" {
				up++
			}
		}
		if up != 2 {
			return fmt.Errorf("hypervisors: %v\n%s", hyps, logs())
		}
		return nil
	})

	must("image", "create", "--disk-format", "raw", "--container-format", "bare", "--public", "--file", img, "tiny")
	var n map[string]any
	asJSON(&n, "network", "create", "private")
	privNet = n["id"].(string)
	must("subnet", "create", "--network", "private", "--subnet-range", "10.9.0.0/24", "private-v4")
	must("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", "default")
	var g map[string]any
	asJSON(&g, "server", "group", "create", "--policy", "anti-affinity", "apart")

	// Both at once: the group keeps them apart however they race.
	start := time.Now()
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for k, name := range []string{"vmA", "vmB"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[k], errs[k] = osc("server", "create", "--flavor", "m1.nano", "--image", "tiny", "--network", "private",
				"--hint", "group="+g["id"].(string), "--wait", "-f", "json", name)
		}()
	}
	wg.Wait()
	for k := range outs {
		if errs[k] != nil {
			t.Fatalf("server create: %v\n%s\n%s", errs[k], outs[k], logs())
		}
	}
	t.Logf("two servers created at once: both ACTIVE after %s", time.Since(start).Round(10*time.Millisecond))
	hosts := map[string]string{}
	addrs := map[string]string{}
	for _, name := range []string{"vmA", "vmB"} {
		var s map[string]any
		asJSON(&s, "server", "show", name)
		if s["status"] != "ACTIVE" {
			t.Fatalf("%s: %v\n%s", name, s, logs())
		}
		hosts[name] = fmt.Sprint(s["OS-EXT-SRV-ATTR:host"])
		if a, ok := s["addresses"].(map[string]any)["private"].([]any); ok && len(a) == 1 {
			addrs[name], _ = a[0].(string)
		}
	}
	if hosts["vmA"] == hosts["vmB"] || !strings.HasPrefix(hosts["vmA"], "h") || !strings.HasPrefix(hosts["vmB"], "h") {
		t.Fatalf("anti-affinity: vmA on %s, vmB on %s", hosts["vmA"], hosts["vmB"])
	}
	// Each guest: its address from h1's DHCP, its metadata through h1's
	// proxy (across the tunnel for the one on h2), HTTP from h1's DHCP
	// namespace.
	inDHCP := func(args ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"--mount=/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/ns/mnt",
			"ip", "netns", "exec", "qdhcp-" + privNet}, args...)...)
	}
	for _, name := range []string{"vmA", "vmB"} {
		var console string
		waitFor(t, p, name+" ready on its console", func() error {
			console = must("console", "log", "show", name)
			if !strings.Contains(console, "gostack-guest: ready") {
				return fmt.Errorf("not ready: %s", console)
			}
			return nil
		})
		for _, want := range []string{"gostack-guest: ready hostname=" + strings.ToLower(name) + " addr=" + addrs[name] + "/24",
			"gostack-guest: metadata from metadata service"} {
			if !strings.Contains(console, want) {
				t.Errorf("%s (on %s): console lacks %q:\n%s", name, hosts[name], want, console)
			}
		}
		waitFor(t, p, name+" HTTP from the network's namespace", func() error {
			out, err := inDHCP("curl", "-s", "-m", "2", "http://"+addrs[name]+"/").CombinedOutput()
			if err != nil || string(out) != strings.ToLower(name)+"\n" {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}

	// Moves: vmB goes, then vmA is migrated to the other host and
	// confirmed, resized (and reverted): it keeps answering on its
	// address from wherever it is.
	must("server", "delete", "--wait", "vmB")
	show := func(name string) map[string]any {
		var s map[string]any
		asJSON(&s, "server", "show", name)
		return s
	}
	waitStatus := func(name, want string) map[string]any {
		var s map[string]any
		waitFor(t, p, name+" "+want, func() error {
			s = show(name)
			if s["status"] == "ERROR" {
				t.Fatalf("%s in ERROR: %v\n%s", name, s["fault"], logs())
			}
			if s["status"] != want {
				return fmt.Errorf("status %v task %v", s["status"], s["OS-EXT-STS:task_state"])
			}
			return nil
		})
		return s
	}
	answers := func(name string) {
		t.Helper()
		waitFor(t, p, name+" answers on "+addrs[name], func() error {
			out, err := inDHCP("curl", "-s", "-m", "2", "http://"+addrs[name]+"/").CombinedOutput()
			if err != nil || string(out) != strings.ToLower(name)+"\n" {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}
	from := hosts["vmA"]
	start = time.Now()
	must("server", "migrate", "vmA")
	s := waitStatus("vmA", "VERIFY_RESIZE")
	t.Logf("migrate to VERIFY_RESIZE: %s", time.Since(start).Round(10*time.Millisecond))
	to := fmt.Sprint(s["OS-EXT-SRV-ATTR:host"])
	if to == from || !strings.HasPrefix(to, "h") {
		t.Fatalf("vmA migrated from %s to %s", from, to)
	}
	must("server", "resize", "confirm", "vmA")
	waitStatus("vmA", "ACTIVE")
	answers("vmA")
	if pids, _ := filepath.Glob(filepath.Join(map[string]string{"h1": data1, "h2": data2}[from], "compute", "qemu", s["id"].(string), "qemu.pid")); len(pids) != 0 {
		waitFor(t, p, "the source's guest removed after the confirm", func() error {
			if pids, _ := filepath.Glob(filepath.Join(map[string]string{"h1": data1, "h2": data2}[from], "compute", "qemu", s["id"].(string), "qemu.pid")); len(pids) != 0 {
				return fmt.Errorf("still there: %v", pids)
			}
			return nil
		})
	}

	start = time.Now()
	must("server", "resize", "--flavor", "m1.micro", "vmA")
	s = waitStatus("vmA", "VERIFY_RESIZE")
	t.Logf("resize to VERIFY_RESIZE: %s", time.Since(start).Round(10*time.Millisecond))
	if f := fmt.Sprint(s["flavor"]); !strings.Contains(f, "m1.micro") {
		t.Errorf("flavor while VERIFY_RESIZE: %v", s["flavor"])
	}
	answers("vmA")
	must("server", "resize", "revert", "vmA")
	s = waitStatus("vmA", "ACTIVE")
	if f := fmt.Sprint(s["flavor"]); !strings.Contains(f, "m1.nano") || fmt.Sprint(s["OS-EXT-SRV-ATTR:host"]) != to {
		t.Errorf("after the revert: flavor %v on %v (was on %s)", s["flavor"], s["OS-EXT-SRV-ATTR:host"], to)
	}
	answers("vmA")
	var events []map[string]any
	asJSON(&events, "server", "event", "list", "vmA")
	var names []string
	for _, e := range events {
		names = append(names, fmt.Sprint(e["Action"]))
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "revertResize,resize,confirmResize,migrate") {
		t.Errorf("actions: %s", got)
	}

	must("server", "delete", "--wait", "vmA")
	for _, d := range []string{data1, data2} {
		if pids, _ := filepath.Glob(filepath.Join(d, "compute", "qemu", "*", "qemu.pid")); len(pids) != 0 {
			t.Errorf("guest state left after the deletes: %v", pids)
		}
	}
}
