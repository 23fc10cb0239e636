package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/network/agent"
	networkarea "github.com/gostack/gostack/network/area"
	"github.com/gostack/gostack/network/nsutil"
)

// agentEnv carries an agent process's settings when the test binary
// re-executes itself as a host's agent (in that host's namespace).
const agentEnv = "GOSTACK_TEST_NETWORK_AGENT"

type agentSpec struct {
	Config     agent.Config
	Creds      kitagent.Credentials
	NetworkURL string
	FeedURL    string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(agentEnv); spec != "" {
		os.Exit(runAgent(spec))
	}
	testenv.Main(m)
}

// runAgent is the agent process: it runs until SIGTERM.
func runAgent(spec string) int {
	var s agentSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a := &agent.Agent{Config: s.Config, Session: kitagent.NewSession(s.Creds), NetworkURL: s.NetworkURL, FeedURL: s.FeedURL,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if err := a.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}

// lab is a small cloud: a controller (identity and network areas) in the
// test's namespace, listening on an underlay bridge, and hosts as
// network namespaces on that bridge, each with its own Open vSwitch and
// agent process, and "VMs" as namespaces on veth ports of br-int.
type lab struct {
	t        testing.TB
	sfx      string
	dir      string // short: unix socket paths
	ul       string // the underlay bridge
	ctl      string // controller address on the underlay
	hosts    map[string]*host
	stack    *compose.Stack
	admin    *kitagent.Session
	svc      kitagent.Credentials
	urls     map[string]string
	vmIdx    int
	routers  []string // ids, whose namespaces go at the end
	ctlLogs  *apitest.Buffer
	ovsVsctl string
}

type host struct {
	name, ns, vtep, ovsDir string
	dhcp, l3               bool
	cmd                    *exec.Cmd
	logs                   *apitest.Buffer
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newLab(t testing.TB) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: namespaces, veths and Open vSwitch")
	}
	for _, b := range []string{"ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"} {
		testenv.LookPath(t, b, "openvswitch-switch", "/usr/sbin")
	}
	testenv.LookPath(t, "ethtool", "ethtool", "/usr/sbin")
	sfx := fmt.Sprintf("%04x", os.Getpid()%0xffff)
	dir, err := os.MkdirTemp("/tmp", "gsn")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{t: t, sfx: sfx, dir: dir, ul: "gsul" + sfx, ctl: "192.168.77.254", hosts: map[string]*host{}, ctlLogs: &apitest.Buffer{}}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range l.hosts {
				if h.logs != nil {
					t.Logf("agent of %s:\n%s", h.name, h.logs)
				}
			}
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil { // dnsmasq reads its files as nobody
		t.Fatal(err)
	}
	run(t, "ip", "link", "add", l.ul, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", l.ul).Run() })
	run(t, "ip", "addr", "add", l.ctl+"/24", "dev", l.ul)
	run(t, "ip", "link", "set", l.ul, "up")
	l.controller()
	return l
}

// controller builds identity and network on the underlay address.
func (l *lab) controller() {
	t := l.t
	ctx := context.Background()
	id, net_ := identityarea.New(), networkarea.New()
	id.Config.PasswordRounds = 4
	net_.Config.Agent.Enabled = false // the hosts run theirs
	net_.Config.Quotas.Port = -1      // the benchmark's thousands of ports
	areas := []compose.Area{id, net_}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = filepath.Join(l.dir, "ctl")
	ls := map[string]net.Listener{}
	l.urls = map[string]string{}
	for _, name := range []string{"identity", "network", "admin"} {
		ln, err := net.Listen("tcp", l.ctl+":0")
		if err != nil {
			t.Fatal(err)
		}
		ls[name] = ln
		l.urls[name] = "http://" + ln.Addr().String()
	}
	st, err := compose.Build(ctx, compose.Options{Config: &cfg, Areas: areas, URLs: l.urls,
		Log: slog.New(slog.NewTextHandler(l.ctlLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l.stack = st
	for name, ln := range ls {
		srv := &http.Server{Handler: st.Handler(name)}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	t.Cleanup(func() { st.Close() })
	pw, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	auth := l.urls["identity"] + "/v3"
	l.admin = kitagent.NewSession(kitagent.Credentials{AuthURL: auth, Username: "admin", Password: strings.TrimSpace(string(pw)), Project: "admin"})
	store := identity.NewStore(st.DB(), st.Watch())
	if _, err := identity.EnsureServiceUser(ctx, store, password.Hasher{Rounds: 4}, "network-agent", "agent-secret"); err != nil {
		t.Fatal(err)
	}
	l.svc = kitagent.Credentials{AuthURL: auth, Username: "network-agent", Password: "agent-secret"}
}

// addHost makes namespace name with an uplink on the underlay and starts
// its agent, whose VTEP is vtep (e.g. 192.168.77.1/24), serving DHCP if
// dhcp is set, and routers if netnode is (with the external network
// "public" on its br-ex).
func (l *lab) addHost(name, vtep string, dhcp, netnode bool) *host {
	t := l.t
	h := &host{name: name, ns: "gsh" + name + l.sfx, vtep: vtep, ovsDir: filepath.Join(l.dir, name), dhcp: dhcp, l3: netnode}
	run(t, "ip", "netns", "add", h.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", h.ns).Run() })
	root := "gsu" + name + l.sfx
	run(t, "ip", "link", "add", root, "type", "veth", "peer", "name", "uplink", "netns", h.ns)
	run(t, "ip", "link", "set", root, "master", l.ul, "up")
	run(t, "ethtool", "-K", root, "tx", "off") // the userspace datapath reads the other end by AF_PACKET
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", "uplink", "up")
	l.hosts[name] = h
	t.Cleanup(func() { l.stopOVS(h) })
	l.startAgent(h)
	// Nova plugs VIFs into br-int once the agent made it.
	eventually(t, "br-int on host "+name, func() error {
		cmd := exec.Command("ip", "netns", "exec", h.ns, "ovs-vsctl", "--timeout=2", "br-exists", "br-int")
		cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovsDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	return h
}

func (l *lab) startAgent(h *host, env ...string) {
	t := l.t
	spec, _ := json.Marshal(agentSpec{
		Config: agent.Config{Host: h.name, TunnelIP: mustPrefix(h.vtep), Uplink: "uplink", DatapathType: "netdev", OVSDir: h.ovsDir,
			DHCP: h.dhcp, DHCPDir: filepath.Join(l.dir, h.name+"-dhcp"), L3: h.l3},
		Creds: l.svc, NetworkURL: l.urls["network"], FeedURL: l.urls["admin"] + "/v1/watch/network",
	})
	if h.l3 {
		var s agentSpec
		json.Unmarshal(spec, &s)
		s.Config.BridgeMappings = map[string]string{"public": "br-ex"}
		spec, _ = json.Marshal(s)
	}
	h.cmd = exec.Command("ip", "netns", "exec", h.ns, os.Args[0], "-test.run=^$")
	h.cmd.Env = append(append(os.Environ(), agentEnv+"="+string(spec)), env...)
	h.logs = &apitest.Buffer{}
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := h.cmd
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// stopAgent ends h's agent with SIGKILL: no chance to clean up.
func (l *lab) stopAgent(h *host) {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// stopOVS deletes h's bridges, whose devices Open vSwitch keeps after
// it exits (they would keep the namespace alive), then stops it.
func (l *lab) stopOVS(h *host) {
	if _, err := os.Stat(filepath.Join(h.ovsDir, "db.sock")); err == nil {
		for _, br := range []string{"br-int", "br-tun", "br-phy", "br-ex"} {
			cmd := exec.Command("ip", "netns", "exec", h.ns, "ovs-vsctl", "--if-exists", "--timeout=5", "del-br", br)
			cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovsDir)
			cmd.Run()
		}
	}
	l.stopDaemons(h, "ovs-vswitchd", "ovsdb-server")
	// dnsmasq of each network served here, by its pid file; then the
	// DHCP namespaces the agent made.
	dirs, _ := filepath.Glob(filepath.Join(l.dir, h.name+"-dhcp", "*"))
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "pid")); err == nil {
			var pid int
			fmt.Sscan(string(b), &pid)
			if pid > 0 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		exec.Command("ip", "netns", "del", "qdhcp-"+filepath.Base(d)).Run()
	}
	for _, r := range l.routers {
		exec.Command("ip", "netns", "del", "qrouter-"+r).Run()
	}
}

// stopSwitch ends h's ovs-vswitchd alone (by its pid file).
func (l *lab) stopSwitch(h *host) { l.stopDaemons(h, "ovs-vswitchd") }

func (l *lab) stopDaemons(h *host, progs ...string) {
	for _, prog := range progs {
		b, err := os.ReadFile(filepath.Join(h.ovsDir, prog+".pid"))
		if err != nil {
			continue
		}
		var pid int
		fmt.Sscan(string(b), &pid)
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// ovs runs an Open vSwitch tool against h's switch.
func (l *lab) ovs(h *host, tool string, args ...string) string {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns, tool}, args...)...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+h.ovsDir, "OVS_DBDIR="+h.ovsDir, "OVS_LOGDIR="+h.ovsDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

// vm is a namespace with eth0 on h's br-int as the VIF of port (MAC and
// address given), plugged the way Nova's os-vif does: the OVS port's
// external_ids name the Neutron port.
type vm struct {
	ns, ip string
}

func (l *lab) vm(h *host, portID, mac, addr string) vm {
	t := l.t
	l.vmIdx++
	v := vm{ns: fmt.Sprintf("gsvm%d%s", l.vmIdx, l.sfx), ip: strings.Split(addr, "/")[0]}
	hostEnd := fmt.Sprintf("gsv%d%s", l.vmIdx, l.sfx)
	run(t, "ip", "netns", "add", v.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", v.ns).Run() })
	run(t, "ip", "link", "add", hostEnd, "netns", h.ns, "type", "veth", "peer", "name", "eth0", "netns", v.ns)
	in := func(args ...string) { run(t, append([]string{"ip", "netns", "exec", v.ns}, args...)...) }
	in("ip", "link", "set", "lo", "up")
	in("ip", "link", "set", "eth0", "address", mac, "mtu", "1450")
	if addr != "" {
		in("ip", "addr", "add", addr, "dev", "eth0")
	}
	in("ip", "link", "set", "eth0", "up")
	in("ethtool", "-K", "eth0", "tx", "off")
	run(t, "ip", "netns", "exec", h.ns, "ip", "link", "set", hostEnd, "up")
	l.ovs(h, "ovs-vsctl", "--may-exist", "add-port", "br-int", hostEnd, "--", "set", "Interface", hostEnd,
		"external_ids:iface-id="+portID, "external_ids:attached-mac="+mac, "external_ids:iface-status=active")
	return v
}

// dhcpClient runs udhcpc in v and returns what it was leased (udhcpc's
// environment when bound).
func (l *lab) dhcpClient(v vm) (map[string]string, error) {
	script := filepath.Join(l.dir, "udhcpc.sh")
	out := filepath.Join(l.dir, v.ns+".lease")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] && env > \"$LEASE_OUT\"\nexit 0\n"), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", "netns", "exec", v.ns, "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", "eth0",
		"-s", script, "-O", "mtu", "-O", "staticroutes")
	cmd.Env = append(os.Environ(), "LEASE_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("udhcpc: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// in runs fn on a thread in namespace ns.
func in(t testing.TB, ns string, fn func() error) {
	t.Helper()
	if err := nsutil.InNamed(ns, fn); err != nil {
		t.Fatal(err)
	}
}

// serve answers TCP on addr in v: "<ns> saw <remote>".
func serve(t *testing.T, v vm, port int) {
	var ln net.Listener
	in(t, v.ns, func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", v.ip, port))
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				// enough bytes to need several full-size segments
				fmt.Fprintf(c, "%s saw %s %s", v.ns, host, strings.Repeat("x", 20000))
			}()
		}
	}()
}

// dial connects from v to addr and returns what it read, or the error.
func dial(t *testing.T, v vm, addr string) string {
	var out string
	in(t, v.ns, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			out = "error: " + err.Error()
			return nil
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			out = "error: " + err.Error()
		} else {
			out = string(b)
		}
		return nil
	})
	return out
}

func ping(v vm, ip string) error {
	out, err := exec.Command("ip", "netns", "exec", v.ns, "ping", "-c", "1", "-W", "1", ip).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", ip, v.ns, err, out)
	}
	return nil
}

// eventually retries fn for up to 30 s.
func eventually(t testing.TB, what string, fn func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err = fn(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}
