package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/storage/iscsi"
)

// qemuPidOf is the pid of instance id's QEMU under the all-in-one's data
// directory, 0 for none.
func qemuPidOf(t *testing.T, data, id string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "compute", "qemu", id, "qemu.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// cli runs the openstack CLI in network namespace ns with env (an
// openrc's), failing the test with logs() when a command must succeed.
type cli struct {
	t    *testing.T
	ns   string
	env  []string
	logs func() string
}

func (c *cli) run(args ...string) (string, error) { return c.runTool("openstack", args...) }

// runTool runs another OpenStack client (cinder, designate...) as run
// runs openstack.
func (c *cli) runTool(tool string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", c.ns, tool}, args...)...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("openstack %s: %v\n%s\n%s", strings.Join(args, " "), err, out, c.logs())
	}
	return out
}

// json runs a command with -f json and decodes its output into v.
func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.must(append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// openrcEnv is the environment of the openstack CLI as the admin of the
// all-in-one whose data directory is data (its openrc).
func openrcEnv(t *testing.T, data string) []string {
	t.Helper()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	f, err := os.Open(filepath.Join(data, "openrc"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(line, "=")
			env = append(env, k+"="+strings.Trim(v, "'"))
		}
	}
	return env
}

// The proof with a real guest: the openstack CLI against the
// all-in-one (running in a network namespace of its own, with its
// network and compute agents in-process) boots the tiny image under
// QEMU (TCG) on a private network. The guest gets its address by DHCP
// from the network's dnsmasq, reads the metadata service (hostname, key,
// user data), answers HTTP from the network's namespace, and is
// stopped, started, rebooted and deleted, gets an interface on a second
// network hot-plugged and removed; a flavor too big for the host
// ends in ERROR with the scheduler's explanation.
func TestAllInOneServers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace, Open vSwitch and tap devices")
	}
	for _, b := range []string{"ovs-vswitchd", "dnsmasq", "qemu-system-x86_64", "openstack", "curl"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	img := guesttest.Image(t)
	sfx := strconv.Itoa(os.Getpid() % 100000)
	ns := "gsvm" + sfx
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	// A Ceph in the namespace, started while gostack starts: images on
	// RBD and an RBD volume backend (aio@rbd#rbd) beside the iSCSI one.
	ceph := startCeph(t, ns, "volumes", "images")
	base, err := os.MkdirTemp("/tmp", "gsvm") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	data, ovsDir := filepath.Join(base, "data"), filepath.Join(base, "ovs")
	// The volume backend's tgtd: a control port and portal of the
	// test's own; each volume exported to the initiators of its
	// attachments only, so every attach, boot from volume and move below
	// also proves the guests log in with the host's initiator and are
	// let in before they connect.
	tgtControl, tgtPortal := 21000+os.Getpid()%10000, "127.0.0.1:"+strconv.Itoa(35260+os.Getpid()%1000)
	tgtDir := filepath.Join(data, "volume", "tgt")
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-data-dir", data,
		"-set", "network.agent.host=aio", "-set", "network.agent.ovs_dir="+ovsDir, "-set", "identity.password_hash_rounds=4",
		"-set", "compute.agent.host=aio", "-set", "compute.agent.accel=tcg", "-set", "compute.agent.reserved_host_memory_mb=-1",
		"-set", "volume.agent.host=aio@iscsi#iscsi", "-set", "volume.agent.control_port="+strconv.Itoa(tgtControl),
		"-set", "volume.agent.portal="+tgtPortal, "-set", "volume.agent.initiator_acl=true")
	if f := ceph.flags("volume", "volumes"); f != nil {
		cmd.Args = append(append(append(cmd.Args, f...), "-set", "volume.rbd.host=aio@rbd#rbd"), ceph.flags("image", "images")...)
	}
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
	launched := time.Now()
	p := startProc(t, cmd)
	var privNet, net2 string
	// gostack first, then its guests, dnsmasq and the switch.
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		pids, _ := filepath.Glob(filepath.Join(data, "compute", "qemu", "*", "qemu.pid"))
		for _, f := range pids {
			killPidFile(f)
		}
		for _, n := range []string{privNet, net2} {
			if n != "" {
				stopDHCP(n)
			}
		}
		stopAllInOneOVS(ns, ovsDir)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ex := &iscsi.Exporter{Dir: tgtDir, ControlPort: tgtControl, Portal: netip.MustParseAddrPort(tgtPortal)}
		if err := ex.Stop(ctx); err != nil && !errors.Is(err, iscsi.ErrNotRunning) {
			t.Errorf("stop tgtd: %v", err)
			killTgtd(tgtDir)
		}
	})
	waitFor(t, p, "healthy", func() error {
		out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sf", "http://127.0.0.1:8790/healthcheck").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	c := &cli{t: t, ns: ns, env: openrcEnv(t, data), logs: func() string { return p.logs.String() }}
	osc, must, asJSON := c.run, c.must, c.json
	if ceph.why == "" {
		// Uploads are 503s until the image service has reached the
		// cluster, which it does in the background.
		if <-ceph.started; ceph.err != nil {
			t.Fatalf("ceph: %v", ceph.err)
		}
		waitFor(t, p, "the image store on RBD", func() error {
			if !strings.Contains(p.logs.String(), "image data in RBD: connected") {
				return errors.New("not connected")
			}
			return nil
		})
		t.Logf("gostack healthy, Ceph up and the image store on RBD: %s after the start", time.Since(launched).Round(10*time.Millisecond))
	}

	must("image", "create", "--disk-format", "raw", "--container-format", "bare", "--public", "--file", img, "tiny")
	var n map[string]any
	asJSON(&n, "network", "create", "private")
	privNet = n["id"].(string)
	must("subnet", "create", "--network", "private", "--subnet-range", "10.9.0.0/24", "private-v4")
	pub := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMndHqje7Lv4uWQiXTVyY4Cp2RutcOpUJCJTiZCCNxw+ alice@example\n"), 0o644)
	must("keypair", "create", "--public-key", pub, "k1")
	ud := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(ud, []byte("#!/bin/sh\necho USERDATA-MARKER-$((70 + 7))\n"), 0o644)
	// Ingress to port 80 for the HTTP check (the default group lets
	// nothing in).
	must("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", "default")
	must("security", "group", "rule", "create", "--protocol", "icmp", "default")
	t.Run("ceph", func(t *testing.T) { rbdServersSubtest(t, c, p, ceph, ns, img) })

	start := time.Now()
	var s, s2 map[string]any
	asJSON(&s, "server", "create", "--flavor", "m1.nano", "--image", "tiny", "--network", "private", "--key-name", "k1",
		"--user-data", ud, "--wait", "vm1")
	t.Logf("server create --wait: ACTIVE after %s", time.Since(start).Round(10*time.Millisecond))
	if s["status"] != "ACTIVE" {
		t.Fatalf("server create: %v\n%s", s, p.logs)
	}
	var addr string
	if a, ok := s["addresses"].(map[string]any)["private"].([]any); ok && len(a) == 1 {
		addr, _ = a[0].(string)
	}
	if !strings.HasPrefix(addr, "10.9.0.") {
		t.Fatalf("addresses: %v", s["addresses"])
	}
	// The console: DHCP gave the port's address (and the route to
	// 169.254.169.254), the metadata service, through the proxy in the
	// network's DHCP namespace, the hostname, the key and the user data
	// (the server asked for no config drive).
	var console string
	waitFor(t, p, "the guest ready on its console", func() error {
		console = must("console", "log", "show", "vm1")
		if !strings.Contains(console, "gostack-guest: ready") {
			return fmt.Errorf("not ready: %s", console)
		}
		return nil
	})
	t.Logf("server create to the guest's ready line: %s", time.Since(start).Round(10*time.Millisecond))
	for _, want := range []string{"gostack-guest: ready hostname=vm1 addr=" + addr + "/24", "gostack-guest: ssh keys 1", "USERDATA-MARKER-77",
		"gostack-guest: metadata from metadata service: uuid " + s["id"].(string)} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
	// Reachable from the network's DHCP namespace, which exists in
	// gostack's mount namespace (ip netns exec gave it its own).
	inDHCP := func(args ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"--mount=/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/ns/mnt",
			"ip", "netns", "exec", "qdhcp-" + privNet}, args...)...)
	}
	waitFor(t, p, "HTTP from the network's namespace", func() error {
		out, err := inDHCP("curl", "-s", "-m", "2", "http://"+addr+"/").CombinedOutput()
		if err != nil || string(out) != "vm1\n" {
			return fmt.Errorf("%v: %q", err, out)
		}
		return nil
	})
	if out, err := inDHCP("ping", "-c", "1", "-W", "2", addr).CombinedOutput(); err != nil {
		t.Errorf("ping %s: %v\n%s", addr, err, out)
	}
	// A snapshot of the running guest, and a server booted from it: the
	// guest keeps running (same QEMU), the image is a standalone qcow2.
	pidBefore := qemuPidOf(t, data, s["id"].(string))
	start = time.Now()
	var snap map[string]any
	asJSON(&snap, "server", "image", "create", "--name", "snap1", "--wait", "vm1")
	t.Logf("server image create --wait: %s", time.Since(start).Round(10*time.Millisecond))
	asJSON(&snap, "image", "show", "snap1")
	if snap["status"] != "active" || snap["disk_format"] != "qcow2" || snap["visibility"] != "private" {
		t.Fatalf("snapshot image: %v", snap)
	}
	if props := fmt.Sprint(snap["properties"]); !strings.Contains(props, "image_type:snapshot") || !strings.Contains(props, "instance_uuid:"+s["id"].(string)) {
		t.Errorf("snapshot properties: %v", snap["properties"])
	}
	if p := qemuPidOf(t, data, s["id"].(string)); p != pidBefore {
		t.Errorf("the guest's QEMU is %d after the snapshot, was %d", p, pidBefore)
	}
	status1 := func() string {
		var v map[string]any
		asJSON(&v, "server", "show", "vm1")
		return fmt.Sprint(v["status"], "/", v["OS-EXT-STS:task_state"])
	}
	if st := status1(); st != "ACTIVE/<nil>" {
		t.Errorf("vm1 after the snapshot: %s", st)
	}
	asJSON(&s2, "server", "create", "--flavor", "m1.nano", "--image", "snap1", "--network", "private", "--wait", "vm2")
	if s2["status"] != "ACTIVE" {
		t.Fatalf("a server of the snapshot: %v\n%s", s2, p.logs)
	}
	waitFor(t, p, "vm2 (of the snapshot) ready", func() error {
		if c := must("console", "log", "show", "vm2"); !strings.Contains(c, "gostack-guest: ready hostname=vm2") {
			return fmt.Errorf("not ready: %s", c)
		}
		return nil
	})
	must("server", "delete", "--wait", "vm2")

	// Boot from volume: a new 1 GiB volume of the image (Nova's
	// boot_index 0 mapping of source image, destination volume), the
	// guest's first disk over iSCSI (its QEMU's own initiator). The
	// server has no image; the volume is in-use while it runs, and stays,
	// available again, when the server goes (delete_on_termination is
	// false).
	start = time.Now()
	var s3 map[string]any
	asJSON(&s3, "server", "create", "--flavor", "m1.nano", "--image", "tiny", "--boot-from-volume", "1", "--network", "private",
		"--wait", "vm3")
	t.Logf("server create --boot-from-volume --wait: ACTIVE after %s", time.Since(start).Round(10*time.Millisecond))
	if s3["status"] != "ACTIVE" || !strings.Contains(fmt.Sprint(s3["image"]), "booted from volume") {
		t.Fatalf("a server booted from a volume: %v\n%s", s3, p.logs)
	}
	waitFor(t, p, "vm3 (booted from a volume) ready", func() error {
		if c := must("console", "log", "show", "vm3"); !strings.Contains(c, "gostack-guest: ready hostname=vm3") {
			return fmt.Errorf("not ready: %s", c)
		}
		return nil
	})
	t.Logf("server create --boot-from-volume to the guest's ready line: %s", time.Since(start).Round(10*time.Millisecond))
	var rootVols []map[string]any
	asJSON(&rootVols, "server", "volume", "list", "vm3")
	if len(rootVols) != 1 || rootVols[0]["Device"] != "/dev/vda" {
		t.Fatalf("vm3's volumes: %v", rootVols)
	}
	rootVol := fmt.Sprint(rootVols[0]["Volume ID"])
	var rv map[string]any
	asJSON(&rv, "volume", "show", rootVol)
	if rv["status"] != "in-use" || rv["bootable"] != "true" {
		t.Errorf("vm3's root volume: %v", rv)
	}
	if out, err := osc("server", "remove", "volume", "vm3", rootVol); err == nil || !strings.Contains(out, "Cannot detach a root device volume") {
		t.Errorf("the root volume detached: %v %s", err, out)
	}
	t.Run("multiattach", func(t *testing.T) { multiattachSubtest(t, c, p, data, [2]string{"vm1", "vm3"}) })
	// Resized with a data volume attached: the new guest boots from the
	// same root volume and has the data volume again (the move connects
	// both on its destination, here the same host).
	asJSON(&rv, "volume", "create", "--size", "1", "data3")
	data3 := rv["id"].(string)
	waitFor(t, p, "data3 available", func() error {
		asJSON(&rv, "volume", "show", "data3")
		if rv["status"] != "available" {
			return fmt.Errorf("status %v", rv["status"])
		}
		return nil
	})
	must("server", "add", "volume", "vm3", "data3")
	serial3 := "serial=" + data3[:20]
	waitFor(t, p, "vm3 seeing data3", func() error {
		if c := must("console", "log", "show", "vm3"); !strings.Contains(c, serial3) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	start = time.Now()
	must("server", "resize", "--flavor", "m1.micro", "--wait", "vm3")
	waitFor(t, p, "vm3 VERIFY_RESIZE", func() error {
		asJSON(&s3, "server", "show", "vm3")
		if s3["status"] != "VERIFY_RESIZE" {
			return fmt.Errorf("status %v", s3["status"])
		}
		return nil
	})
	waitFor(t, p, "vm3's new guest ready with its data volume", func() error {
		c := must("console", "log", "show", "vm3")
		if !strings.Contains(c, "gostack-guest: ready hostname=vm3") || !strings.Contains(c, serial3) {
			return fmt.Errorf("not yet: %s", c)
		}
		return nil
	})
	t.Logf("resize of a server booted from a volume, with a data volume, to its new guest ready: %s", time.Since(start).Round(10*time.Millisecond))
	must("server", "resize", "confirm", "vm3")
	waitFor(t, p, "vm3 ACTIVE after the confirm", func() error {
		asJSON(&s3, "server", "show", "vm3")
		if s3["status"] != "ACTIVE" {
			return fmt.Errorf("status %v", s3["status"])
		}
		return nil
	})
	must("server", "remove", "volume", "vm3", "data3")
	waitFor(t, p, "data3 available again", func() error {
		asJSON(&rv, "volume", "show", "data3")
		if rv["status"] != "available" {
			return fmt.Errorf("status %v", rv["status"])
		}
		return nil
	})
	must("volume", "delete", "data3")
	must("server", "delete", "--wait", "vm3")
	waitFor(t, p, "vm3's root volume available again", func() error {
		asJSON(&rv, "volume", "show", rootVol)
		if rv["status"] != "available" {
			return fmt.Errorf("status %v", rv["status"])
		}
		return nil
	})
	must("volume", "delete", rootVol)

	var hyps []map[string]any
	asJSON(&hyps, "hypervisor", "list")
	if len(hyps) != 1 || hyps[0]["Hypervisor Hostname"] != "aio" || hyps[0]["State"] != "up" {
		t.Errorf("hypervisor list: %v", hyps)
	}

	status := func(want string) {
		t.Helper()
		waitFor(t, p, "vm1 "+want, func() error {
			var s map[string]any
			asJSON(&s, "server", "show", "vm1")
			if s["status"] != want {
				return fmt.Errorf("status %v (task %v)", s["status"], s["OS-EXT-STS:task_state"])
			}
			return nil
		})
	}
	// A resize on the one host (allow_resize_to_same_host): reverted,
	// then confirmed; the guest answers HTTP on its address after each.
	answers := func() {
		t.Helper()
		waitFor(t, p, "vm1 answers HTTP", func() error {
			out, err := inDHCP("curl", "-s", "-m", "2", "http://"+addr+"/").CombinedOutput()
			if err != nil || string(out) != "vm1\n" {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}
	flavorOf := func() string {
		var v map[string]any
		asJSON(&v, "server", "show", "vm1")
		return fmt.Sprint(v["flavor"])
	}
	for _, end := range []string{"revert", "confirm"} {
		start = time.Now()
		must("server", "resize", "--flavor", "m1.micro", "vm1")
		status("VERIFY_RESIZE")
		t.Logf("resize on one host to VERIFY_RESIZE: %s", time.Since(start).Round(10*time.Millisecond))
		answers()
		must("server", "resize", end, "vm1")
		status("ACTIVE")
		answers()
		want := map[string]string{"revert": "m1.nano", "confirm": "m1.micro"}[end]
		if f := flavorOf(); !strings.Contains(f, want) {
			t.Errorf("after the %s: flavor %s", end, f)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(data, "compute", "agent", "instances", s["id"].(string), "disk.resize")); len(left) > 0 {
		waitFor(t, p, "the old disk gone after the confirm", func() error {
			if left, _ := filepath.Glob(filepath.Join(data, "compute", "agent", "instances", s["id"].(string), "disk.resize")); len(left) > 0 {
				return fmt.Errorf("still there: %v", left)
			}
			return nil
		})
	}

	// An interface on a second network, hot-plugged into the running
	// guest (server add network: Nova's os-interface): the guest sees
	// the NIC, takes its address by DHCP on that network and answers
	// HTTP there. The NIC outlives a stop, a start and a hard reboot (it
	// is in the guest's definition); removed, the guest sees it go and
	// its port is deleted.
	asJSON(&n, "network", "create", "second")
	net2 = n["id"].(string)
	must("subnet", "create", "--network", "second", "--subnet-range", "10.10.0.0/24", "second-v4")
	console = must("console", "log", "show", "vm1")
	start = time.Now()
	must("server", "add", "network", "vm1", "second")
	t.Logf("server add network: %s", time.Since(start).Round(10*time.Millisecond))
	var addr2 string
	asJSON(&s, "server", "show", "vm1")
	if a, ok := s["addresses"].(map[string]any)["second"].([]any); ok && len(a) == 1 {
		addr2, _ = a[0].(string)
	}
	if !strings.HasPrefix(addr2, "10.10.0.") {
		t.Fatalf("addresses after server add network: %v", s["addresses"])
	}
	var ifaces []map[string]any
	asJSON(&ifaces, "port", "list", "--server", "vm1")
	if len(ifaces) != 2 {
		t.Fatalf("the ports of vm1: %v", ifaces)
	}
	seen := len(console)
	waitFor(t, p, "the guest's DHCP on its new NIC", func() error {
		c := must("console", "log", "show", "vm1")
		if len(c) < seen || !strings.Contains(c[seen:], "appeared") || !strings.Contains(c[seen:], "10.10.0.") {
			return fmt.Errorf("not yet: %s", c[min(seen, len(c)):])
		}
		return nil
	})
	t.Logf("server add network to the guest's lease on the new NIC: %s", time.Since(start).Round(10*time.Millisecond))
	inDHCP2 := func(args ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"--mount=/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/ns/mnt",
			"ip", "netns", "exec", "qdhcp-" + net2}, args...)...)
	}
	answers2 := func(what string) {
		t.Helper()
		waitFor(t, p, "vm1 answers HTTP on the second network "+what, func() error {
			out, err := inDHCP2("curl", "-s", "-m", "2", "http://"+addr2+"/").CombinedOutput()
			if err != nil || string(out) != "vm1\n" {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}
	answers2("after the attach")

	// A volume attached to the running guest (server add volume:
	// os-volume_attachments, Cinder's attachment, the guest's QEMU
	// logging in to the volume's iSCSI target): the guest sees the disk
	// with the volume's id as serial. It stays through the stop, start
	// and hard reboot below, and is detached after them.
	var vol map[string]any
	asJSON(&vol, "volume", "create", "--size", "1", "data1")
	volID := vol["id"].(string)
	waitFor(t, p, "data1 available", func() error {
		asJSON(&vol, "volume", "show", "data1")
		if vol["status"] != "available" {
			return fmt.Errorf("status %v", vol["status"])
		}
		return nil
	})
	console = must("console", "log", "show", "vm1")
	start = time.Now()
	must("server", "add", "volume", "vm1", "data1")
	waitFor(t, p, "data1 in-use", func() error {
		asJSON(&vol, "volume", "show", "data1")
		if vol["status"] != "in-use" {
			return fmt.Errorf("status %v", vol["status"])
		}
		return nil
	})
	t.Logf("server add volume to in-use: %s", time.Since(start).Round(10*time.Millisecond))
	seen = len(console)
	serial := "serial=" + volID[:20]
	waitFor(t, p, "the guest seeing the volume", func() error {
		c := must("console", "log", "show", "vm1")
		if len(c) < seen || !strings.Contains(c[seen:], "appeared "+serial) {
			return fmt.Errorf("not yet: %s", c[min(seen, len(c)):])
		}
		return nil
	})
	t.Logf("server add volume to the guest's disk: %s", time.Since(start).Round(10*time.Millisecond))
	if att := fmt.Sprint(vol["attachments"]); !strings.Contains(att, s["id"].(string)) {
		t.Errorf("data1's attachments: %v", vol["attachments"])
	}
	// Extended while attached (Cinder 3.42): the volume's agent grows it
	// and exports it again, Nova's volume-extended event reaches the
	// guest's host, whose QEMU re-reads the size; the guest sees it.
	console = must("console", "log", "show", "vm1")
	start = time.Now()
	must("--os-volume-api-version", "3.42", "volume", "set", "--size", "2", "data1")
	waitFor(t, p, "the guest seeing data1 grow", func() error {
		c := must("console", "log", "show", "vm1")
		if !strings.Contains(c[min(len(console), len(c)):], "resized "+serial+" size=2147483648") {
			return fmt.Errorf("not yet: %s", c[min(len(console), len(c)):])
		}
		return nil
	})
	t.Logf("volume set --size of an attached volume to the guest seeing the new size: %s", time.Since(start).Round(10*time.Millisecond))
	asJSON(&vol, "volume", "show", "data1")
	if vol["status"] != "in-use" || vol["size"] != float64(2) {
		t.Errorf("data1 after the extend: %v %v", vol["status"], vol["size"])
	}

	must("server", "stop", "vm1")
	status("SHUTOFF")
	must("server", "start", "vm1")
	status("ACTIVE")
	must("server", "reboot", "--hard", "--wait", "vm1")
	status("ACTIVE")
	answers()
	answers2("after a stop, a start and a hard reboot")

	// The volume is still the guest's after the power cycles (its boot
	// says the disk), then detached: the guest sees it go, the volume is
	// available.
	if c := must("console", "log", "show", "vm1"); !strings.Contains(c, serial) {
		t.Errorf("the guest's console lacks the volume after the reboot:\n%s", c)
	}
	console = must("console", "log", "show", "vm1")
	must("server", "remove", "volume", "vm1", "data1")
	waitFor(t, p, "data1 available again", func() error {
		asJSON(&vol, "volume", "show", "data1")
		if vol["status"] != "available" {
			return fmt.Errorf("status %v", vol["status"])
		}
		return nil
	})
	waitFor(t, p, "the guest seeing the volume go", func() error {
		if c := must("console", "log", "show", "vm1"); !strings.Contains(c[min(len(console), len(c)):], "gone "+serial) {
			return fmt.Errorf("not yet: %s", c[min(len(console), len(c)):])
		}
		return nil
	})
	must("volume", "delete", "data1")

	console = must("console", "log", "show", "vm1")
	must("server", "remove", "network", "vm1", "second")
	waitFor(t, p, "the second port gone", func() error {
		asJSON(&ifaces, "port", "list", "--server", "vm1")
		if len(ifaces) != 1 {
			return fmt.Errorf("ports %v", ifaces)
		}
		return nil
	})
	waitFor(t, p, "the guest seeing its NIC go", func() error {
		if c := must("console", "log", "show", "vm1"); !strings.Contains(c[min(len(console), len(c)):], "gone") {
			return fmt.Errorf("not yet: %s", c[min(len(console), len(c)):])
		}
		return nil
	})
	answers()

	// Too big for the host: ERROR, and the fault says why.
	asJSON(&s, "server", "create", "--flavor", "m1.xlarge", "--image", "tiny", "--network", "private", "big")
	statusOf := func(name, want string) map[string]any {
		var s map[string]any
		waitFor(t, p, name+" "+want, func() error {
			asJSON(&s, "server", "show", name)
			if s["status"] != want {
				return fmt.Errorf("status %v", s["status"])
			}
			return nil
		})
		return s
	}
	big := statusOf("big", "ERROR")
	// The admin sees the details: which host, and which of its figures.
	if f := fmt.Sprint(big["fault"]); !strings.Contains(f, "No valid host was found") || !strings.Contains(f, "aio: ") || !strings.Contains(f, "requested") {
		t.Errorf("the big server's fault: %v", big["fault"])
	}
	must("server", "delete", "--wait", "big")

	must("server", "delete", "--wait", "vm1")
	if out, _ := osc("server", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Errorf("servers after the deletes: %s", out)
	}
	if pids, _ := filepath.Glob(filepath.Join(data, "compute", "qemu", "*", "qemu.pid")); len(pids) != 0 {
		t.Errorf("guest state left after the delete: %v", pids)
	}
}
