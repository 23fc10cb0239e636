package server

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/miekg/dns"
)

// sbin is where Debian installs knotd and nsd; CI's PATH may lack it.
var sbin = []string{"/usr/sbin", "/usr/local/sbin"}

// daemon is a DNS server started for one test in the foreground.
type daemon struct {
	Name string
	Addr string // 127.0.0.1:port, UDP and TCP
	Dir  string
	log  string
}

// freeAddr returns 127.0.0.1:port with the port free for UDP and TCP a
// moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	for try := 0; try < 20; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// runDaemon starts bin with args, logging to dir/name.log, and stops it by pid
// when the test ends (SIGTERM, then SIGKILL after 10 s). The child dies
// with the test binary too.
func runDaemon(t testing.TB, name, dir, bin string, args ...string) *daemon {
	t.Helper()
	d := &daemon{Name: name, Dir: dir, log: filepath.Join(dir, name+".log")}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return d
}

// tail returns the end of the daemon's log, for failure messages.
func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.log)
	return lastLines(string(b), 15)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitSOA polls addr until it answers the SOA of every zone with
// NOERROR and AA, for at most 15 s.
func waitSOA(t testing.TB, d *daemon, zones []string) {
	t.Helper()
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	deadline := time.Now().Add(15 * time.Second)
	for _, z := range zones {
		for {
			m := new(dns.Msg)
			m.SetQuestion(z, dns.TypeSOA)
			r, _, err := c.Exchange(m, d.Addr)
			if err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not serve %s within 15s (last: %v)\n%s", d.Name, z, err, d.tail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// writeZones writes each zone's text to dir/<name>zone and returns the
// zone names.
func writeZones(t testing.TB, dir string, texts map[string]string) []string {
	t.Helper()
	var names []string
	for name, text := range texts {
		if err := os.WriteFile(filepath.Join(dir, name+"zone"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// startKnot runs knotd as the primary for zones, with extra appended
// to its configuration.
func startKnot(t testing.TB, texts map[string]string, extra string) *daemon {
	t.Helper()
	bin := testenv.LookPath(t, "knotd", "knot", sbin...)
	dir := t.TempDir()
	names := writeZones(t, dir, texts)
	addr := freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    rundir: %s\n    listen: %s\n", dir, strings.Replace(addr, ":", "@", 1))
	fmt.Fprintf(&b, "database:\n    storage: %s/db\n", dir)
	fmt.Fprintf(&b, "log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "template:\n  - id: default\n    storage: %s\n", dir)
	b.WriteString(extra)
	if len(names) > 0 {
		b.WriteString("zone:\n")
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  - domain: %s\n    storage: %s\n    file: %szone\n    zonefile-sync: -1\n    journal-content: none\n", n, dir, n)
	}
	conf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := runDaemon(t, "knotd", dir, bin, "-c", conf)
	d.Addr = addr
	waitSOA(t, d, names)
	return d
}

// startNSD runs nsd in the foreground as the primary for zones.
func startNSD(t testing.TB, texts map[string]string) *daemon {
	t.Helper()
	bin := testenv.LookPath(t, "nsd", "nsd", sbin...)
	dir := t.TempDir()
	names := writeZones(t, dir, texts)
	addr := freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    ip-address: %s\n    username: \"\"\n    chroot: \"\"\n", strings.Replace(addr, ":", "@", 1))
	fmt.Fprintf(&b, "    zonesdir: %s\n    pidfile: %s/nsd.pid\n    database: \"\"\n", dir, dir)
	fmt.Fprintf(&b, "    xfrdfile: %s/xfrd.state\n    zonelistfile: %s/zone.list\n    xfrdir: %s\n", dir, dir, dir)
	fmt.Fprintf(&b, "    server-count: 1\n    rrl-ratelimit: 0\n    verbosity: 1\nremote-control:\n    control-enable: no\n")
	for _, n := range names {
		fmt.Fprintf(&b, "zone:\n    name: %s\n    zonefile: %szone\n", n, n)
	}
	conf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := runDaemon(t, "nsd", dir, bin, "-d", "-c", conf)
	d.Addr = addr
	waitSOA(t, d, names)
	return d
}

// startOurs serves texts with a fresh Server and returns it as a daemon.
func startOurs(t testing.TB, texts map[string]string, cfg Config) *daemon {
	t.Helper()
	return &daemon{Name: "ours", Addr: startServer(t, New(mustZones(t, texts), cfg))}
}
