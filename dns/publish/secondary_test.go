package publish_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/internal/testenv"
)

var sbin = []string{"/usr/sbin", "/usr/local/sbin"}

// master is a primary server the test runs (knotd or nsd) for one zone
// whose file it rewrites.
type master struct {
	t    *testing.T
	addr string
	dir  string
	file string
	cmd  *exec.Cmd
	// reload makes the daemon read its zone file again.
	reload func()
}

func (m *master) log() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "daemon.log"))
	return string(b)
}

// write writes the zone file.
func (m *master) write(text string) {
	m.t.Helper()
	if err := os.WriteFile(m.file, []byte(text), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// run starts bin with args, logging to dir/daemon.log, stopped when the
// test ends.
func (m *master) run(bin string, args ...string) {
	t := m.t
	t.Helper()
	logf, err := os.Create(filepath.Join(m.dir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.cmd = cmd
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
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), m.log())
		}
	})
}

func (m *master) waitSerial(zone string, serial uint32) {
	m.t.Helper()
	waitFor(m.t, fmt.Sprintf("the master at serial %d", serial), func() bool {
		got, err := publish.SOASerial(m.addr, zone)
		return err == nil && got == serial
	})
}

const secZone = "sec.test."

// zoneText is sec.test. at serial, its SOA refresh and retry refresh
// seconds, with the records given.
func zoneText(serial uint32, refresh int, records ...string) string {
	return fmt.Sprintf("$ORIGIN sec.test.\n$TTL 300\n@ SOA ns1.master.example. hostmaster.sec.test. %d %d %d 600 60\n@ NS ns1.master.example.\n%s\n",
		serial, refresh, refresh, strings.Join(records, "\n"))
}

// startKnotMaster runs knotd as the primary of sec.test., sending NOTIFY
// to ours, allowing transfers from loopback signed with the key, and
// keeping a journal of the differences between the versions of its zone
// file, so that it answers IXFR with diffs.
func startKnotMaster(t *testing.T, ours, keyName, secret, text string) *master {
	bin := testenv.LookPath(t, "knotd", "knot", sbin...)
	ctl := testenv.LookPath(t, "knotc", "knot", sbin...)
	m := &master{t: t, dir: t.TempDir()}
	m.file = filepath.Join(m.dir, "sec.test.zone")
	m.write(text)
	pc, l := listenBoth(t)
	m.addr = pc.LocalAddr().String()
	pc.Close()
	l.Close()
	conf := fmt.Sprintf(`server:
    rundir: %[1]s
    listen: %[2]s
control:
    listen: %[1]s/knot.sock
database:
    storage: %[1]s/db
log:
  - target: stderr
    any: info
key:
  - id: %[3]s
    algorithm: hmac-sha256
    secret: %[4]s
remote:
  - id: ours
    address: %[5]s
acl:
  - id: xfr
    address: 127.0.0.1
    key: %[3]s
    action: transfer
zone:
  - domain: sec.test.
    storage: %[1]s
    file: sec.test.zone
    notify: ours
    acl: xfr
    zonefile-load: difference
    journal-content: changes
    zonefile-sync: -1
`, m.dir, strings.Replace(m.addr, ":", "@", 1), keyName, secret, strings.Replace(ours, ":", "@", 1))
	path := filepath.Join(m.dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(m.dir, "db"), 0o755); err != nil { // the journal's
		t.Fatal(err)
	}
	m.run(bin, "-c", path)
	m.reload = func() {
		t.Helper()
		if out, err := exec.Command(ctl, "-c", path, "zone-reload", "sec.test.").CombinedOutput(); err != nil {
			t.Fatalf("knotc zone-reload: %v %s", err, out)
		}
	}
	return m
}

// startNSDMaster runs nsd as the primary of sec.test., without NOTIFY
// and without IXFR history (it answers IXFR with the whole zone), allowing
// transfers from loopback.
func startNSDMaster(t *testing.T, text string) *master {
	bin := testenv.LookPath(t, "nsd", "nsd", sbin...)
	m := &master{t: t, dir: t.TempDir()}
	m.file = filepath.Join(m.dir, "sec.test.zone")
	m.write(text)
	pc, l := listenBoth(t)
	m.addr = pc.LocalAddr().String()
	pc.Close()
	l.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    ip-address: %s\n    username: \"\"\n    chroot: \"\"\n", strings.Replace(m.addr, ":", "@", 1))
	fmt.Fprintf(&b, "    zonesdir: %s\n    pidfile: %s/nsd.pid\n    database: \"\"\n", m.dir, m.dir)
	fmt.Fprintf(&b, "    xfrdfile: %s/xfrd.state\n    zonelistfile: %s/zone.list\n    xfrdir: %s\n", m.dir, m.dir, m.dir)
	fmt.Fprintf(&b, "    server-count: 1\n    rrl-ratelimit: 0\n    verbosity: 2\nremote-control:\n    control-enable: no\n")
	fmt.Fprintf(&b, "zone:\n    name: sec.test.\n    zonefile: sec.test.zone\n    provide-xfr: 127.0.0.1 NOKEY\n")
	conf := filepath.Join(m.dir, "nsd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	m.run(bin, "-d", "-c", conf)
	m.reload = func() { m.cmd.Process.Signal(syscall.SIGHUP) }
	return m
}

// answers asks our server for name and returns the answers' data.
func answers(t *testing.T, addr, name string, qtype uint16) []string {
	t.Helper()
	var out []string
	for _, rr := range query(t, addr, name, qtype).Answer {
		out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	slices.Sort(out)
	return out
}

// TestSecondaryFromKnot: a SECONDARY zone whose master is knotd is
// transferred in by AXFR, signed with the zone's TSIG key (knotd allows
// no unsigned transfer), served by our server and ACTIVE; a change on
// knotd reaches us by its NOTIFY and an IXFR that knotd answers with a
// diff (its log shows the outgoing IXFR), applied record by record.
func TestSecondaryFromKnot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	const secret = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ=="
	knot := startKnotMaster(t, p.addr, "sec-key", secret, zoneText(1, 3600,
		"www A 192.0.2.1", "www A 192.0.2.2", "mail MX 10 mx.sec.test.", "mx A 192.0.2.25", "old TXT \"to be removed\""))
	knot.waitSerial(secZone, 1)

	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: secZone, Type: dns.Secondary, Masters: []string{knot.addr}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTSIGKey(ctx, dns.TSIGKey{Name: "sec-key", Algorithm: "hmac-sha256", Secret: secret,
		Scope: dns.ScopeZone, ResourceID: z.ID}); err != nil {
		t.Fatal(err)
	}
	zone := func() dns.Zone {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	waitFor(t, "the zone transferred and ACTIVE", func() bool { return zone().Status == dns.Active && zone().Serial == 1 })
	if got := answers(t, p.addr, "www.sec.test.", mdns.TypeA); !slices.Equal(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Fatalf("www A: %v", got)
	}
	soa := query(t, p.addr, secZone, mdns.TypeSOA)
	if len(soa.Answer) != 1 || soa.Answer[0].(*mdns.SOA).Ns != "ns1.master.example." || !soa.Authoritative {
		t.Fatalf("SOA: %v", soa)
	}

	start := time.Now()
	knot.write(zoneText(2, 3600, "www A 192.0.2.1", "www A 192.0.2.3", "mail MX 10 mx.sec.test.", "mx A 192.0.2.25",
		"new AAAA 2001:db8::2"))
	knot.reload()
	waitFor(t, "serial 2 served by us", func() bool {
		s, err := publish.SOASerial(p.addr, secZone)
		return err == nil && s == 2
	})
	t.Logf("serial 2 served %v after the master's reload", time.Since(start).Round(time.Millisecond))
	if got := answers(t, p.addr, "www.sec.test.", mdns.TypeA); !slices.Equal(got, []string{"192.0.2.1", "192.0.2.3"}) {
		t.Errorf("www A after the change: %v", got)
	}
	if got := answers(t, p.addr, "new.sec.test.", mdns.TypeAAAA); !slices.Equal(got, []string{"2001:db8::2"}) {
		t.Errorf("new AAAA: %v", got)
	}
	if r := query(t, p.addr, "old.sec.test.", mdns.TypeTXT); r.Rcode != mdns.RcodeNameError {
		t.Errorf("removed name: %v", r)
	}
	if log := knot.log(); !strings.Contains(log, "IXFR, outgoing") || !strings.Contains(log, "serial 1 -> 2") {
		t.Errorf("knotd did not send an incremental transfer:\n%s", log)
	}
	waitFor(t, "serial 2 ACTIVE", func() bool { return zone().Status == dns.Active && zone().Serial == 2 })
}

// TestSecondaryFromNSD: a SECONDARY zone whose master, nsd, is named by
// hostname and sends no NOTIFY is refreshed every SOA refresh interval (1
// s here): a new serial is transferred by IXFR, which nsd answers with the
// whole zone.
func TestSecondaryFromNSD(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nsd")
	}
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	nsd := startNSDMaster(t, zoneText(10, 1, "www A 192.0.2.10"))
	nsd.waitSerial(secZone, 10)
	byName := "localhost:" + portOf(nsd.addr)
	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: secZone, Type: dns.Secondary, Masters: []string{byName}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "serial 10 served by us", func() bool {
		s, err := publish.SOASerial(p.addr, secZone)
		return err == nil && s == 10
	})
	nsd.write(zoneText(11, 1, "www A 192.0.2.11", "extra TXT \"added\""))
	nsd.reload()
	nsd.waitSerial(secZone, 11)
	start := time.Now()
	waitFor(t, "serial 11 served by us", func() bool {
		s, err := publish.SOASerial(p.addr, secZone)
		return err == nil && s == 11
	})
	t.Logf("serial 11 served %v after nsd had it", time.Since(start).Round(time.Millisecond))
	if got := answers(t, p.addr, "www.sec.test.", mdns.TypeA); !slices.Equal(got, []string{"192.0.2.11"}) {
		t.Errorf("www A: %v", got)
	}
	if got := answers(t, p.addr, "extra.sec.test.", mdns.TypeTXT); !slices.Equal(got, []string{`"added"`}) {
		t.Errorf("extra TXT: %v", got)
	}
	waitFor(t, "serial 11 ACTIVE", func() bool {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		return err == nil && got.Status == dns.Active && got.Serial == 11
	})
}
