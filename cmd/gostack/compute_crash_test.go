package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/network/nsutil"
)

// The crash proof for the compute area: the all-in-one (API,
// builder, network and compute agents in one process, in a network
// namespace of its own) is killed with SIGKILL again and again while it
// builds, deletes and hard-reboots servers of the tiny image under QEMU
// (TCG), and started again on the same data each time. The guests,
// dnsmasq and Open vSwitch outlive it, as they do in production.
//
// The kills: a first build at each of the agent's points in turn
// (compute.agent.image, compute.agent.disk, compute.agent.spawned), each
// restart killed at the next — a crash during recovery; a build killed
// as the QEMU driver has written the guest's definition and plugs its
// port (the guest not started yet); a build killed in the controller,
// inside its Placement claim's transaction (compute.claim.consumers),
// others at a random moment of the builder's part and of the agent's; a delete at
// compute.agent.destroyed; a hard reboot, and the deletes of two
// servers and of one being built, at random moments after the API
// answered (GOSTACK_CRASH_SEED repeats a run's delays).
//
// After each restart, within a bounded wait: no server is left with a
// task; every server is ACTIVE and running with exactly one QEMU, and a
// guest that was right before the kill still has the same QEMU (it was
// not started again); a deleted server has no QEMU, no instance
// directory (the agent's or the driver's), no tap, no port and no
// Placement allocation; the allocations are exactly the servers', with
// their flavor's resources.
func TestAllInOneComputeCrash(t *testing.T) {
	c := newComputeCrash(t)
	began := time.Now()

	// 1–3: the first build, killed at each of the agent's points in
	// turn, each restart at the next.
	a := c.firstBuild()

	// 4: a build killed as its port is plugged: the guest is defined,
	// its QEMU not started.
	keep := c.running([]string{a})
	b := c.createServer("b")
	c.waitPath(filepath.Join(c.qemuDir(b), "guest.json"))
	c.kill()
	t.Logf("killed b's build with its guest defined (QEMU running: %v; last: %s)", c.guestPid(b) != 0, c.lastEvent(b))

	// 5: a build killed in the controller, in its claim's transaction.
	// The API may not have answered: the server is found by its name.
	c.restart("compute.claim.consumers", "a build killed as its port is plugged", []string{a, b}, nil, keep)
	keep = c.running([]string{a, b})
	c.admin.Do(context.Background(), "POST", c.nova+"/servers", c.serverBody("c"), nil)
	c.crashed("compute.claim.consumers")
	c.start("")
	c.healthy()
	cs := c.serverNamed("c")
	c.converge("a build killed in its claim", []string{a, b, cs}, nil, keep)

	// 6: a build killed at a random moment of the controller's part
	// (the builder schedules, claims, makes the port and places the
	// server within some 20 ms of the API's answer).
	keep = c.running([]string{a, b, cs})
	f := c.createServer("f")
	c.killAfter(0, 25*time.Millisecond, "f's build", f)
	c.restart("", "a build killed in the builder", []string{a, b, cs, f}, nil, keep)

	// 7: a build killed at a random moment of the agent's part: from
	// its instance directory (the image, the disk, the guest's
	// definition, the plug, QEMU's start) to its report.
	keep = c.running([]string{a, b, cs, f})
	d := c.createServer("d")
	c.waitPath(c.instanceDir(d))
	c.killAfter(0, 700*time.Millisecond, "d's build", d)
	c.restart("compute.agent.destroyed", "a build killed in the agent", []string{a, b, cs, f, d}, nil, keep)

	// 8: a delete killed with the guest destroyed, not reported.
	keep = c.running([]string{a, cs, f, d})
	c.deleteServer(b)
	c.crashed("compute.agent.destroyed")
	c.restart("", "a delete killed at compute.agent.destroyed", []string{a, cs, f, d}, []string{b}, keep)

	// 9: a hard reboot killed at a random moment: a's QEMU may be the
	// same or another, but one.
	keep = c.running([]string{cs, f, d})
	c.api("POST", c.nova+"/servers/"+a+"/action", map[string]any{"reboot": map[string]any{"type": "HARD"}}, nil)
	c.killAfter(0, 60*time.Millisecond, "a's hard reboot", a)
	c.restart("", "a hard reboot killed", []string{a, cs, f, d}, []string{b}, keep)

	// 10: deletes killed at a random moment: of three running servers
	// and of one whose build is under way.
	keep = c.running([]string{a})
	e := c.createServer("e")
	c.waitPath(c.instanceDir(e))
	for _, id := range []string{cs, f, d, e} {
		c.deleteServer(id)
	}
	c.killAfter(0, 150*time.Millisecond, "the deletes of c, f, d and e (building)", cs, f, d, e)
	c.restart("", "deletes killed", []string{a}, []string{b, cs, f, d, e}, keep)

	// The end: the last server deleted by a daemon left alone.
	c.started = time.Now() // the figure is from the delete
	c.deleteServer(a)
	c.converge("the last delete (no kill; from the delete)", nil, []string{a, b, cs, f, d, e}, nil)
	c.p.term(t)
	c.exited = true
	t.Logf("%d kills, %d starts in %s; converged:\n\t%s", c.kills, len(c.logs), time.Since(began).Round(100*time.Millisecond),
		strings.Join(c.figures, "\n\t"))
}

// firstBuild starts the daemon, makes the image and the network, and
// kills the first build at compute.agent.image, its recovery at
// compute.agent.disk, and that one's at compute.agent.spawned; the next
// start ends it without a second QEMU. It returns the server.
func (c *computeCrash) firstBuild() string {
	t := c.t
	t.Helper()
	c.start("compute.agent.image")
	c.healthy()
	c.setup()
	a := c.createServer("a")
	c.crashed("compute.agent.image")
	if !exists(filepath.Join(c.agentDir(), "images", c.image)) || exists(c.diskOf(a)) {
		t.Fatalf("at compute.agent.image: want the image cached and no disk")
	}
	c.start("compute.agent.disk")
	c.crashed("compute.agent.disk")
	if !exists(c.diskOf(a)) || exists(c.qemuDir(a)) {
		t.Fatalf("at compute.agent.disk: want a disk and no guest")
	}
	c.start("compute.agent.spawned")
	c.crashed("compute.agent.spawned")
	pid := c.guestPid(a)
	if pid == 0 {
		t.Fatalf("at compute.agent.spawned: no QEMU")
	}
	c.restart("", "the first build, after kills at image, disk and spawned", []string{a}, nil, map[string]int{a: pid})
	return a
}

// computeCrash is the all-in-one of TestAllInOneComputeCrash: its
// namespace, data, the admin's session, and what the test made.
type computeCrash struct {
	t                *testing.T
	ns, data, ovsDir string
	img              string // the tiny image's file
	p                *proc
	admin            *kitagent.Session
	hc               *http.Client
	rng              *rand.Rand
	seed             uint64
	nova             string
	image, net       string
	exited           bool // c.p's end was read from its done
	started          time.Time
	kills            int
	logs             []*lockedBuffer // each start's
	figures          []string        // restart to converged, per restart
}

func newComputeCrash(t *testing.T) *computeCrash {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace, Open vSwitch and tap devices")
	}
	for _, b := range []string{"ovs-vswitchd", "dnsmasq", "qemu-system-x86_64", "nsenter"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	c := &computeCrash{t: t, img: guesttest.Image(t), nova: "http://127.0.0.1:8774/v2.1"}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("GOSTACK_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("random delays seeded with %d (GOSTACK_CRASH_SEED)", seed)
	c.rng, c.seed = rand.New(rand.NewPCG(seed, seed)), seed
	c.ns = "gscc" + strconv.Itoa(os.Getpid()%100000)
	sh(t, "ip", "netns", "add", c.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", c.ns).Run() })
	sh(t, "ip", "netns", "exec", c.ns, "ip", "link", "set", "lo", "up")
	base, err := os.MkdirTemp("/tmp", "gscc") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	c.data, c.ovsDir = filepath.Join(base, "data"), filepath.Join(base, "ovs")
	// GOSTACK_CRASH_LOGS=<dir> keeps each start's log there.
	t.Cleanup(func() {
		dir := os.Getenv("GOSTACK_CRASH_LOGS")
		if dir == "" {
			return
		}
		os.MkdirAll(dir, 0o755)
		for n, l := range c.logs {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("gostack-%d.log", n+1)), []byte(l.String()), 0o644)
		}
	})
	// gostack first, then its guests (by pid file, and any other QEMU of
	// this data directory), dnsmasq and the switch.
	t.Cleanup(func() {
		if c.p != nil && !c.exited {
			c.p.cmd.Process.Kill()
			<-c.p.done
		}
		pids, _ := filepath.Glob(filepath.Join(c.qemuDir("*"), "qemu.pid"))
		for _, f := range pids {
			killPidFile(f)
		}
		for _, ps := range c.guests() {
			for _, pid := range ps {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if c.net != "" {
			stopDHCP(c.net)
		}
		stopAllInOneOVS(c.ns, c.ovsDir)
	})
	c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := nsutil.InNamed(c.ns, func() (err error) {
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}}}
	return c
}

func (c *computeCrash) agentDir() string { return filepath.Join(c.data, "compute", "agent") }
func (c *computeCrash) instanceDir(id string) string {
	return filepath.Join(c.agentDir(), "instances", id)
}
func (c *computeCrash) diskOf(id string) string  { return filepath.Join(c.instanceDir(id), "disk") }
func (c *computeCrash) qemuDir(id string) string { return filepath.Join(c.data, "compute", "qemu", id) }

// start runs the daemon on the data directory with point armed ("" for
// none); it does not wait.
func (c *computeCrash) start(point string) {
	// nsenter, not ip netns exec: gostack stays in the host's mount
	// namespace, as in production, so the DHCP namespaces it mounts are
	// there for the next start (ip netns exec's private mount namespace
	// dies with the process, dnsmasq's aside).
	cmd := exec.Command("nsenter", "--net=/run/netns/"+c.ns, os.Args[0], "-data-dir", c.data,
		"-set", "network.agent.host=aio", "-set", "network.agent.ovs_dir="+c.ovsDir, "-set", "identity.password_hash_rounds=4",
		"-set", "compute.agent.host=aio", "-set", "compute.agent.driver=qemu", "-set", "compute.agent.accel=tcg",
		"-set", "compute.agent.reserved_host_memory_mb=-1")
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1", crashpoint.Env+"="+point)
	c.p, c.exited, c.started = startProc(c.t, cmd), false, time.Now()
	c.logs = append(c.logs, c.p.logs)
}

func (c *computeCrash) healthy() {
	c.t.Helper()
	c.waitFor("healthy", 90*time.Second, func() error {
		resp, err := c.hc.Get("http://127.0.0.1:8790/healthcheck")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	})
	if c.admin == nil {
		pw, err := os.ReadFile(filepath.Join(c.data, "admin-password"))
		if err != nil {
			c.t.Fatal(err)
		}
		c.admin = kitagent.NewSession(kitagent.Credentials{AuthURL: "http://127.0.0.1:5000/v3", Username: "admin",
			Password: strings.TrimSpace(string(pw)), Project: "admin"})
		c.admin.HTTP = c.hc
	}
}

// waitFor retries fn every 100 ms for up to limit; the daemon must not
// exit meanwhile.
func (c *computeCrash) waitFor(what string, limit time.Duration, fn func() error) {
	c.t.Helper()
	var err error
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err = fn(); err == nil {
			return
		}
		select {
		case e := <-c.p.done:
			c.exited = true
			c.fatalf("gostack exited: %v", e)
		default:
		}
	}
	c.fatalf("%s: not after %s: %v", what, limit, err)
}

// fatalf ends the test with the daemon's log, and the reason again
// after it: a run's output is often read from its end.
func (c *computeCrash) fatalf(format string, args ...any) {
	c.t.Helper()
	msg := fmt.Sprintf(format, args...)
	c.t.Fatalf("%s\n%s\n%s (GOSTACK_CRASH_SEED=%d)", msg, c.p.logs, msg, c.seed)
}

// kill is the SIGKILL of the daemon.
func (c *computeCrash) kill() {
	c.p.cmd.Process.Kill()
	<-c.p.done
	c.exited = true
	c.kills++
}

// killAfter kills the daemon after a random delay in [lo, hi), and logs
// what it was doing with servers ids.
func (c *computeCrash) killAfter(lo, hi time.Duration, what string, ids ...string) {
	d := lo + time.Duration(c.rng.Int64N(int64(hi-lo)))
	time.Sleep(d)
	c.kill()
	var last []string
	for _, id := range ids {
		last = append(last, c.lastEvent(id))
	}
	c.t.Logf("killed %s after %s (last: %s)", what, d.Round(time.Millisecond), strings.Join(last, "; "))
}

// lastEvent is the last line of the daemon's log about server id (a
// read of it aside): what the kill interrupted, or followed.
func (c *computeCrash) lastEvent(id string) string {
	last := "nothing"
	for _, l := range strings.Split(c.p.logs.String(), "\n") {
		if !strings.Contains(l, id) || strings.Contains(l, "method=GET") {
			continue
		}
		msg, route := field(l, "msg"), field(l, "route")
		if route != "" {
			msg += " " + field(l, "method") + " " + route + " " + field(l, "status")
		}
		last = msg
	}
	return last
}

// field is the value of key in a logfmt line.
func field(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(v, `"`) {
		if end := strings.Index(v[1:], `"`); end >= 0 {
			return v[1 : end+1]
		}
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// crashed waits for the daemon to kill itself at its armed point.
func (c *computeCrash) crashed(point string) {
	c.t.Helper()
	select {
	case err := <-c.p.done:
		c.exited = true
		if err == nil || !strings.Contains(err.Error(), "killed") {
			c.fatalf("gostack ended with %v, want killed at %s", err, point)
		}
	case <-time.After(2 * time.Minute):
		c.fatalf("%s never hit", point)
	}
	c.kills++
	c.t.Logf("killed at %s", point)
}

// restart starts the daemon again (point armed) and waits until the
// servers in live and gone are as they should be.
func (c *computeCrash) restart(point, what string, live, gone []string, keep map[string]int) {
	c.t.Helper()
	c.start(point)
	c.healthy()
	c.converge(what, live, gone, keep)
}

// converge waits, up to 2 minutes, until converged holds, and records
// how long that took since the daemon started and since it was healthy.
func (c *computeCrash) converge(what string, live, gone []string, keep map[string]int) {
	c.t.Helper()
	start := time.Now()
	c.waitFor(what+": converged", 2*time.Minute, func() error { return c.converged(live, gone, keep) })
	c.figures = append(c.figures, fmt.Sprintf("%s: %s after the start (%s after healthy)", what,
		time.Since(c.started).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond)))
}

func (c *computeCrash) api(method, url string, in, out any) {
	c.t.Helper()
	if err := c.admin.Do(context.Background(), method, url, in, out); err != nil {
		c.fatalf("%s %s: %v", method, url, err)
	}
}

// setup uploads the tiny image and makes a network with a subnet.
func (c *computeCrash) setup() {
	var img struct{ ID string }
	c.api("POST", "http://127.0.0.1:9292/v2/images", map[string]any{"name": "tiny", "disk_format": "raw",
		"container_format": "bare", "visibility": "public"}, &img)
	c.image = img.ID
	data, err := os.ReadFile(c.img)
	if err != nil {
		c.t.Fatal(err)
	}
	tok, err := c.admin.Token(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:9292/v2/images/"+c.image+"/file", bytes.NewReader(data))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.hc.Do(req)
	if err != nil || resp.StatusCode != 204 {
		c.t.Fatalf("image upload: %v %v", resp, err)
	}
	resp.Body.Close()
	var n struct{ Network struct{ ID string } }
	c.api("POST", "http://127.0.0.1:9696/v2.0/networks", map[string]any{"network": map[string]any{"name": "private"}}, &n)
	c.net = n.Network.ID
	c.api("POST", "http://127.0.0.1:9696/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": c.net,
		"cidr": "10.9.0.0/24", "ip_version": 4}}, nil)
	// The host is up, with its inventory: a server created before would
	// find no host (as in Nova).
	c.waitFor("the hypervisor up", time.Minute, func() error {
		var l struct{ Hypervisors []map[string]any }
		if err := c.admin.Do(context.Background(), "GET", c.nova+"/os-hypervisors/detail", nil, &l); err != nil {
			return err
		}
		if len(l.Hypervisors) != 1 || l.Hypervisors[0]["state"] != "up" {
			return fmt.Errorf("hypervisors %v", l.Hypervisors)
		}
		return nil
	})
}

func (c *computeCrash) createServer(name string) string {
	c.t.Helper()
	var s struct{ Server struct{ ID string } }
	c.api("POST", c.nova+"/servers", c.serverBody(name), &s)
	return s.Server.ID
}

func (c *computeCrash) serverBody(name string) map[string]any {
	return map[string]any{"server": map[string]any{"name": name, "imageRef": c.image, "flavorRef": "42",
		"networks": []any{map[string]any{"uuid": c.net}}}}
}

func (c *computeCrash) deleteServer(id string) {
	c.t.Helper()
	c.api("DELETE", c.nova+"/servers/"+id, nil, nil)
}

// waitPath waits for path to exist, polling every 5 ms, and kills the
// daemon if it never does.
func (c *computeCrash) waitPath(path string) {
	c.t.Helper()
	for end := time.Now().Add(90 * time.Second); !exists(path); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			c.fatalf("no %s after 90 s", path)
		}
	}
}

// guests are the QEMU processes of this data directory by the uuid
// they run (-uuid), from /proc: all of them, whatever the pid files say.
func (c *computeCrash) guests() map[string][]int {
	out := map[string][]int{}
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(c.data)) {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !strings.Contains(filepath.Base(args[0]), "qemu-system") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-uuid" {
				out[args[i+1]] = append(out[args[i+1]], pid)
			}
		}
	}
	return out
}

// guestPid is server id's one QEMU, 0 for none (or several).
func (c *computeCrash) guestPid(id string) int {
	if ps := c.guests()[id]; len(ps) == 1 {
		return ps[0]
	}
	return 0
}

// running are the QEMUs of the servers in ids that are right now:
// ACTIVE with no task, and one QEMU. Those must survive the next kill.
func (c *computeCrash) running(ids []string) map[string]int {
	c.t.Helper()
	out := map[string]int{}
	servers := c.servers()
	for _, id := range ids {
		s, ok := servers[id]
		if pid := c.guestPid(id); ok && s.Status == "ACTIVE" && s.TaskState == nil && pid != 0 {
			out[id] = pid
		}
	}
	return out
}

// serverNamed is the id of the server called name.
func (c *computeCrash) serverNamed(name string) string {
	c.t.Helper()
	for id, s := range c.servers() {
		if s.Name == name {
			return id
		}
	}
	c.fatalf("no server %s", name)
	return ""
}

type serverState struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	TaskState  *string `json:"OS-EXT-STS:task_state"`
	PowerState int     `json:"OS-EXT-STS:power_state"`
}

func (c *computeCrash) servers() map[string]serverState {
	c.t.Helper()
	var l struct{ Servers []serverState }
	c.api("GET", c.nova+"/servers/detail?all_tenants=1", nil, &l)
	out := map[string]serverState{}
	for _, s := range l.Servers {
		out[s.ID] = s
	}
	return out
}

// allocations are the Placement allocations on every provider, by
// consumer.
func (c *computeCrash) allocations() (map[string]map[string]int, error) {
	var rps struct {
		ResourceProviders []struct{ UUID string } `json:"resource_providers"`
	}
	if err := c.admin.Do(context.Background(), "GET", "http://127.0.0.1:8778/resource_providers", nil, &rps); err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, rp := range rps.ResourceProviders {
		var a struct {
			Allocations map[string]struct{ Resources map[string]int } `json:"allocations"`
		}
		if err := c.admin.Do(context.Background(), "GET", "http://127.0.0.1:8778/resource_providers/"+rp.UUID+"/allocations", nil, &a); err != nil {
			return nil, err
		}
		for consumer, r := range a.Allocations {
			if out[consumer] == nil {
				out[consumer] = map[string]int{}
			}
			for class, n := range r.Resources {
				out[consumer][class] += n
			}
		}
	}
	return out, nil
}

// computePorts are the ports of servers (device_owner compute:*) by
// their device_id.
func (c *computeCrash) computePorts() (map[string][]string, error) {
	var l struct {
		Ports []struct {
			ID          string `json:"id"`
			DeviceID    string `json:"device_id"`
			DeviceOwner string `json:"device_owner"`
		}
	}
	if err := c.admin.Do(context.Background(), "GET", "http://127.0.0.1:9696/v2.0/ports", nil, &l); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range l.Ports {
		if strings.HasPrefix(p.DeviceOwner, "compute:") {
			out[p.DeviceID] = append(out[p.DeviceID], p.ID)
		}
	}
	return out, nil
}

// taps are the tap devices in the namespace and the ports of br-int.
func (c *computeCrash) taps() (links, bridge []string, err error) {
	out, err := exec.Command("ip", "-n", c.ns, "-o", "link", "show").CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("ip link: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], "tap") {
			links = append(links, strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	cmd := exec.Command("ip", "netns", "exec", c.ns, "ovs-vsctl", "--timeout=5", "list-ports", "br-int")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+c.ovsDir)
	out, err = cmd.CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("ovs-vsctl: %v: %s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "tap") {
			bridge = append(bridge, p)
		}
	}
	sort.Strings(links)
	sort.Strings(bridge)
	return links, bridge, nil
}

func dirNames(dir string) []string {
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// converged is nil when the servers in live, and only they, exist, are
// ACTIVE, running with one QEMU each (keep's with the same QEMU), have
// their instance directories, one port each plugged as a tap, and the
// flavor's allocation; and nothing of the servers in gone is left.
func (c *computeCrash) converged(live, gone []string, keep map[string]int) error {
	servers := c.servers()
	for _, id := range live {
		s, ok := servers[id]
		switch {
		case !ok:
			return fmt.Errorf("server %s is gone", id)
		case s.Status != "ACTIVE" || s.TaskState != nil || s.PowerState != 1:
			return fmt.Errorf("server %s (%s): status %s, task_state %v, power_state %d", s.Name, id, s.Status, ptr(s.TaskState), s.PowerState)
		}
	}
	for id, s := range servers {
		if !slices.Contains(live, id) {
			return fmt.Errorf("server %s (%s) still listed: status %s, task_state %v", s.Name, id, s.Status, ptr(s.TaskState))
		}
	}
	guests := c.guests()
	for _, id := range live {
		if n := len(guests[id]); n != 1 {
			return fmt.Errorf("server %s: %d QEMUs %v", servers[id].Name, n, guests[id])
		}
		if was, ok := keep[id]; ok && guests[id][0] != was {
			return fmt.Errorf("server %s: QEMU %d, was %d before the kill: the guest was started again", servers[id].Name, guests[id][0], was)
		}
	}
	for id, ps := range guests {
		if !slices.Contains(live, id) {
			return fmt.Errorf("QEMU %v of %s, no server's", ps, id)
		}
	}
	want := slices.Sorted(slices.Values(live))
	for _, dir := range []string{filepath.Join(c.agentDir(), "instances"), filepath.Dir(c.qemuDir("x"))} {
		if got := dirNames(dir); !slices.Equal(got, want) {
			return fmt.Errorf("%s has %v, want %v", dir, got, want)
		}
	}
	ports, err := c.computePorts()
	if err != nil {
		return err
	}
	var taps []string
	for _, id := range live {
		if len(ports[id]) != 1 {
			return fmt.Errorf("server %s: ports %v", servers[id].Name, ports[id])
		}
		taps = append(taps, "tap"+ports[id][0][:11])
	}
	for dev, ps := range ports {
		if !slices.Contains(live, dev) {
			return fmt.Errorf("ports %v of %s, no server's", ps, dev)
		}
	}
	sort.Strings(taps)
	links, bridge, err := c.taps()
	if err != nil {
		return err
	}
	if !slices.Equal(links, taps) || !slices.Equal(bridge, taps) {
		return fmt.Errorf("taps %v, on br-int %v, want %v", links, bridge, taps)
	}
	allocs, err := c.allocations()
	if err != nil {
		return err
	}
	nano := map[string]int{"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}
	for _, id := range live {
		if fmt.Sprint(allocs[id]) != fmt.Sprint(nano) {
			return fmt.Errorf("server %s: allocation %v, want %v", servers[id].Name, allocs[id], nano)
		}
	}
	for consumer, r := range allocs {
		if !slices.Contains(live, consumer) {
			return fmt.Errorf("allocation %v of %s, no server's (gone: %v)", r, consumer, slices.Contains(gone, consumer))
		}
	}
	return nil
}

func ptr(s *string) string {
	if s == nil {
		return "None"
	}
	return *s
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
