package dhcp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/dhcp"
)

// lab is two network namespaces of the test's own, joined by a veth
// pair: "srv" holds the DHCP port (10.20.0.2/24) that dnsmasq serves,
// "cli" the end a client runs udhcpc on, changing its MAC to play
// different instances.
type lab struct {
	t                *testing.T
	srvNS, cliNS     string // names under /run/netns
	srvIf, cliIf     string
	dnsmasq, udhcpc  string
	base             string // holds the server Dir, the dnsmasq log and the udhcpc script
	script, leaseOut string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("network/dhcp tests need root (network namespaces, dnsmasq)")
		}
		t.Skip("needs root: network namespaces and dnsmasq")
	}
	l := &lab{t: t, dnsmasq: binary(t, "dnsmasq"), udhcpc: binary(t, "udhcpc")}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	l.srvNS, l.cliNS = "gsdhcp-"+id+"-s", "gsdhcp-"+id+"-c"
	l.srvIf, l.cliIf = "d"+id+"s", "d"+id+"c"

	// dnsmasq reads its files as user nobody: the base must be
	// searchable by others, which t.TempDir is not.
	base, err := os.MkdirTemp("", "gsdhcp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	l.base = base
	l.leaseOut = filepath.Join(base, "lease.env")
	l.script = filepath.Join(base, "udhcpc.sh")
	// udhcpc only reports; it configures nothing.
	script := "#!/bin/sh\n[ \"$1\" = bound ] && env > \"$LEASE_OUT\"\nexit 0\n"
	if err := os.WriteFile(l.script, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	srv, cli := l.newNS(l.srvNS), l.newNS(l.cliNS)
	defer srv.Close()
	defer cli.Close()
	h, err := netlink.NewHandleAt(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.srvIf}, PeerName: l.cliIf, PeerNamespace: netlink.NsFd(int(cli))}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("veth: %v", err)
	}
	l.addr(l.srvIf, "10.20.0.2/24")
	link, err := h.LinkByName(l.srvIf)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return l
}

// binary finds name in PATH or the sbin directories, or skips the test.
func binary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/packages.txt installs it)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func (l *lab) newNS(name string) netns.NsHandle {
	l.t.Helper()
	var h netns.NsHandle
	err := inNS("", func() error {
		var err error
		h, err = netns.NewNamed(name)
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { netns.DeleteNamed(name) })
	return h
}

// inNS runs fn on a thread in namespace ns ("" = a fresh thread in the
// test's own), and retires the thread after, so no goroutine goes on in
// the wrong namespace.
func inNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if ns != "" {
			h, err := netns.GetFromName(ns)
			if err != nil {
				errc <- err
				return
			}
			defer h.Close()
			if err := netns.Set(h); err != nil {
				errc <- err
				return
			}
		}
		errc <- fn()
	}()
	return <-errc
}

func (l *lab) handle(ns string) *netlink.Handle {
	l.t.Helper()
	nh, err := netns.GetFromName(ns)
	if err != nil {
		l.t.Fatal(err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		l.t.Fatal(err)
	}
	return h
}

// addr adds an address to the server's end.
func (l *lab) addr(dev, cidr string) {
	l.t.Helper()
	h := l.handle(l.srvNS)
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		l.t.Fatal(err)
	}
	a, _ := netlink.ParseAddr(cidr)
	if err := h.AddrAdd(link, a); err != nil {
		l.t.Fatal(err)
	}
}

// client runs udhcpc in the client namespace with the given MAC and
// returns what it was leased (udhcpc's environment on "bound"), or the
// error when it got no lease.
func (l *lab) client(mac string) (map[string]string, error) {
	l.t.Helper()
	h := l.handle(l.cliNS)
	defer h.Close()
	link, err := h.LinkByName(l.cliIf)
	if err != nil {
		l.t.Fatal(err)
	}
	hw, _ := net.ParseMAC(mac)
	for _, err := range []error{h.LinkSetDown(link), h.LinkSetHardwareAddr(link, hw), h.LinkSetUp(link)} {
		if err != nil {
			l.t.Fatal(err)
		}
	}
	os.Remove(l.leaseOut)
	var out []byte
	err = inNS(l.cliNS, func() error {
		// -t 5 -T 1: five discovers a second apart, then give up (-n).
		cmd := exec.Command(l.udhcpc, "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", l.cliIf, "-s", l.script,
			"-O", "mtu", "-O", "staticroutes", "-O", "msstaticroutes", "-O", "domain", "-O", "hostname")
		cmd.Env = append(os.Environ(), "LEASE_OUT="+l.leaseOut)
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("udhcpc: %v: %s", err, out)
	}
	b, err := os.ReadFile(l.leaseOut)
	if err != nil {
		return nil, fmt.Errorf("udhcpc bound but its script wrote nothing: %v: %s", err, out)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// expect checks some of a lease's variables.
func expect(t *testing.T, what string, env map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s: %s=%q, want %q", what, k, env[k], v)
		}
	}
}

// logBuf collects a Server's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// take returns what was logged since the last take.
func (l *logBuf) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

const (
	mac1 = "fa:16:3e:00:00:01"
	mac2 = "fa:16:3e:00:00:02"
	mac3 = "fa:16:3e:00:00:03" // known to no Config
	mac4 = "fa:16:3e:00:00:04"
	mac5 = "fa:16:3e:00:00:05"
)

var subnetA = dhcp.Subnet{
	ID: "11111111-aaaa", CIDR: pfx("10.20.0.0/24"), Gateway: ip("10.20.0.1"),
	DNS:    []netip.Addr{ip("192.0.2.53"), ip("192.0.2.54")},
	Routes: []dhcp.Route{{Destination: pfx("172.16.0.0/16"), NextHop: ip("10.20.0.254")}},
	MTU:    1450, Lease: time.Hour,
}

// One network's DHCP with real dnsmasq and udhcpc: a port gets its
// fixed address, gateway, DNS, MTU, domain and routes; the same Config
// again signals nothing; a new port is served after a SIGHUP, not a
// restart; an unknown MAC gets nothing; a refused Config changes nothing;
// a deleted port's address goes to a new port at once (its lease is
// released); a new Server (an agent restart) adopts the running dnsmasq
// and the leases survive; a new subnet restarts dnsmasq, keeps the
// leases file and is served; Stop leaves no dnsmasq and no Dir.
func TestServer(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	logs := &logBuf{}
	newServer := func() *dhcp.Server {
		return &dhcp.Server{
			Dir: filepath.Join(l.base, "net"), Namespace: l.srvNS, Interface: l.srvIf,
			Dnsmasq: l.dnsmasq, LogFile: filepath.Join(l.base, "dnsmasq.log"),
			Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		}
	}
	s := newServer()
	t.Cleanup(func() {
		if err := s.Stop(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(l.base, "dnsmasq.log"))
			t.Logf("dnsmasq log:\n%s", b)
		}
	})

	cfg := dhcp.Config{
		Subnets: []dhcp.Subnet{subnetA},
		Hosts: []dhcp.Host{
			{PortID: "port-1", MAC: mac1, Hostname: "vm1", IP: ip("10.20.0.10")},
			{PortID: "port-dhcp", MAC: "fa:16:3e:00:00:fe", IP: ip("10.20.0.2")},
		},
	}
	if err := s.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	pid, ok := s.Running()
	if !ok {
		t.Fatal("not running after Apply")
	}
	if got := logs.take(); !strings.Contains(got, "dnsmasq started") {
		t.Errorf("first Apply logged %q", got)
	}
	env, err := l.client(mac1)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "vm1", env, map[string]string{
		"ip": "10.20.0.10", "subnet": "255.255.255.0", "router": "10.20.0.1",
		"dns": "192.0.2.53 192.0.2.54", "mtu": "1450", "lease": "3600",
		"domain": "openstacklocal", "hostname": "vm1", "serverid": "10.20.0.2",
		// RFC 3442: the default route is in option 121 with the others.
		"staticroutes":   "172.16.0.0/16 10.20.0.254 0.0.0.0/0 10.20.0.1",
		"msstaticroutes": "172.16.0.0/16 10.20.0.254 0.0.0.0/0 10.20.0.1",
	})

	// The same Config (in another order): no signal, no restart.
	same := cfg
	same.Hosts = []dhcp.Host{cfg.Hosts[1], cfg.Hosts[0]}
	if err := s.Apply(ctx, same); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Running(); p != pid {
		t.Fatalf("same Config: dnsmasq %d replaced by %d", pid, p)
	}
	if got := logs.take(); didSomething(got) {
		t.Errorf("same Config did something: %q", got)
	}

	// A new port: SIGHUP, same process, and its client is served.
	cfg.Hosts = append(cfg.Hosts, dhcp.Host{PortID: "port-2", MAC: mac2, IP: ip("10.20.0.11")})
	if err := s.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Running(); p != pid {
		t.Fatalf("new host: dnsmasq %d replaced by %d", pid, p)
	}
	if got := logs.take(); !strings.Contains(got, "dnsmasq reloaded") {
		t.Errorf("new host logged %q", got)
	}
	env, err = l.client(mac2)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "new host", env, map[string]string{"ip": "10.20.0.11", "hostname": "host-10-20-0-11", "mtu": "1450"})

	// An unknown MAC gets no lease.
	if env, err := l.client(mac3); err == nil {
		t.Errorf("unknown MAC leased %s", env["ip"])
	}

	// A refused Config changes nothing.
	hostFile := filepath.Join(s.Dir, "host")
	before, _ := os.ReadFile(hostFile)
	bad := cfg
	bad.Hosts = append(slices.Clone(bad.Hosts), dhcp.Host{PortID: "port-x", MAC: mac3, IP: ip("10.20.0.10")})
	if err := s.Apply(ctx, bad); !errors.Is(err, dhcp.ErrInvalid) {
		t.Fatalf("duplicate IP: %v", err)
	}
	if after, _ := os.ReadFile(hostFile); !bytes.Equal(before, after) {
		t.Error("a refused Config rewrote the hosts file")
	}
	if p, _ := s.Running(); p != pid {
		t.Fatalf("refused Config: dnsmasq %d replaced by %d", pid, p)
	}

	// vm1's port is deleted and its address given to a new port at once:
	// Apply releases vm1's lease (a DHCPRELEASE, as Neutron's
	// dhcp_release), or dnsmasq would keep 10.20.0.10 for vm1's MAC for a
	// whole lease time.
	cfg.Hosts[0] = dhcp.Host{PortID: "port-5", MAC: mac5, Hostname: "vm5", IP: ip("10.20.0.10")}
	if err := s.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if got := logs.take(); !strings.Contains(got, "dnsmasq reloaded") || !strings.Contains(got, "released stale lease") {
		t.Errorf("reused address logged %q", got)
	}
	env, err = l.client(mac5)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "reused address", env, map[string]string{"ip": "10.20.0.10", "hostname": "vm5"})
	if leases := l.leases(s, mac5); strings.Contains(leases, mac1) {
		t.Errorf("vm1's lease is still there:\n%s", leases)
	}

	// Agent restart: a new Server value (naming the namespace by its
	// path this time) adopts the running dnsmasq and has nothing to do;
	// the leases are in the leases file.
	s = newServer()
	s.Namespace = "/run/netns/" + l.srvNS
	if p, ok := s.Running(); !ok || p != pid {
		t.Fatalf("new Server: Running() = %d, %v; want %d", p, ok, pid)
	}
	if err := s.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Running(); p != pid {
		t.Fatalf("adopted dnsmasq %d replaced by %d", pid, p)
	}
	if got := logs.take(); didSomething(got) {
		t.Errorf("adopting did something: %q", got)
	}
	lease := mac5 + " 10.20.0.10 vm5"
	if leases := l.leases(s, lease); !strings.Contains(leases, lease) || !strings.Contains(leases, mac2+" 10.20.0.11") {
		t.Errorf("leases file lacks %q or %s's:\n%s", lease, mac2, leases)
	}

	// A second subnet changes the command line: a restart, the leases
	// file kept. Its hosts get no router (no gateway) and an on-link
	// route to the first subnet; the first subnet's get one to it.
	l.addr(l.srvIf, "10.30.0.2/24")
	cfg.Subnets = append(cfg.Subnets, dhcp.Subnet{ID: "22222222-bbbb", CIDR: pfx("10.30.0.0/24")})
	cfg.Hosts = append(cfg.Hosts, dhcp.Host{PortID: "port-4", MAC: mac4, IP: ip("10.30.0.10")})
	if err := s.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	newPid, ok := s.Running()
	if !ok || newPid == pid {
		t.Fatalf("new subnet: Running() = %d, %v; want a new dnsmasq", newPid, ok)
	}
	if alive(pid) {
		t.Errorf("old dnsmasq %d still running", pid)
	}
	if got := logs.take(); !strings.Contains(got, "restarting") || !strings.Contains(got, "dnsmasq started") {
		t.Errorf("new subnet logged %q", got)
	}
	if leases := l.leases(s, lease); !strings.Contains(leases, lease) {
		t.Errorf("leases file lost %q on restart:\n%s", lease, leases)
	}
	env, err = l.client(mac4)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "second subnet", env, map[string]string{
		"ip": "10.30.0.10", "router": "", "dns": "", "mtu": "", "lease": "86400",
		"staticroutes": "10.20.0.0/24 0.0.0.0",
	})
	env, err = l.client(mac5)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "vm5 after the restart", env, map[string]string{
		"ip": "10.20.0.10", "router": "10.20.0.1",
		"staticroutes": "10.30.0.0/24 0.0.0.0 172.16.0.0/16 10.20.0.254 0.0.0.0/0 10.20.0.1",
	})

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if alive(newPid) {
		t.Errorf("dnsmasq %d still running after Stop", newPid)
	}
	if _, ok := s.Running(); ok {
		t.Error("Running after Stop")
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("Dir after Stop: %v", err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// dnsmasq's own complaint when it cannot start reaches the caller, and
// nothing is left running.
func TestStartError(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	s := &dhcp.Server{Dir: filepath.Join(l.base, "net"), Namespace: l.srvNS, Interface: "nosuch0", Dnsmasq: l.dnsmasq}
	t.Cleanup(func() { s.Stop(ctx) })
	err := s.Apply(ctx, dhcp.Config{Subnets: []dhcp.Subnet{subnetA}})
	if err == nil || !strings.Contains(err.Error(), "unknown interface nosuch0") {
		t.Fatalf("got %v, want dnsmasq's unknown interface", err)
	}
	if pid, ok := s.Running(); ok {
		t.Errorf("dnsmasq %d running", pid)
	}
	s.Namespace = l.srvNS + "-none"
	if err := s.Apply(ctx, dhcp.Config{Subnets: []dhcp.Subnet{subnetA}}); err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("missing namespace: %v", err)
	}
}

// didSomething reports whether a Server's log tells of a start, a
// restart, a reload (SIGHUP) or a release.
func didSomething(log string) bool {
	for _, w := range []string{"started", "restarting", "reloaded", "released"} {
		if strings.Contains(log, w) {
			return true
		}
	}
	return false
}

// leases returns the leases file once it mentions want (or after a
// second): dnsmasq writes it just after it answers.
func (l *lab) leases(s *dhcp.Server, want string) string {
	var b []byte
	for range 50 {
		b, _ = os.ReadFile(filepath.Join(s.Dir, "leases"))
		if bytes.Contains(b, []byte(want)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return string(b)
}

// alive reports whether pid is a process that has not exited (a zombie
// has: its parent, init, reaps it in its own time).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
