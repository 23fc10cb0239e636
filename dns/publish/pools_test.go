package publish_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/publish"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

// published is a store served by a real server through a Publisher whose
// pools give the server its NOTIFY targets and transfer ACLs (as the dns
// area wires them), with the store's TSIG keys followed and SECONDARY
// zones transferred in from their masters.
type published struct {
	st   *dns.Store
	addr string // the server, UDP and TCP
	ctx  context.Context
}

func newPublished(t *testing.T) *published {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db)
	st := dns.NewStore(db, feed)
	if _, err := st.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		t.Fatal(err)
	}
	pc, l := listenBoth(t)
	addr := pc.LocalAddr().String()
	keys := &publish.Keys{Store: st, Feed: feed}
	loaded, err := keys.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := feed.Head(ctx)
	dyn := &server.Dynamic{}
	p := &publish.Publisher{Store: st, Feed: feed, Target: dyn, Servers: []string{addr}, BumpInterval: 100 * time.Millisecond}
	sec := &publish.Secondaries{Store: st, Feed: feed, Timeout: 5 * time.Second, UnloadedRetry: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	srv := server.New(dyn, server.Config{Keys: loaded, NotifyTargets: p.NotifyTargets, ZoneTransfer: p.ZoneTransfer,
		Notified: sec.Notified, NotifyAttempts: 2, NotifyTimeout: 300 * time.Millisecond, Logf: t.Logf})
	keys.Server = srv
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	wg.Go(func() { srv.Serve(ctx, pc, l) })
	wg.Go(func() { keys.Run(ctx, head) })
	wg.Go(func() { sec.Run(ctx, head) })
	ready := make(chan struct{})
	wg.Go(func() { p.Run(ctx, func() { close(ready) }) })
	<-ready
	return &published{st: st, addr: addr, ctx: ctx}
}

// listenBoth opens UDP and TCP on one loopback port.
func listenBoth(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for try := 0; try < 20; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no port free for UDP and TCP")
	return nil, nil
}

// notifyLog is a UDP server that records the NOTIFYs it gets, by zone.
type notifyLog struct {
	addr string
	mu   sync.Mutex
	got  map[string]int
}

func newNotifyLog(t *testing.T) *notifyLog {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &notifyLog{addr: pc.LocalAddr().String(), got: map[string]int{}}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		if r.Opcode == mdns.OpcodeNotify && len(r.Question) == 1 {
			n.mu.Lock()
			n.got[r.Question[0].Name]++
			n.mu.Unlock()
		}
		m := new(mdns.Msg)
		m.SetReply(r)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return n
}

func (n *notifyLog) count(zone string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.got[zone]
}

// TestPoolsFollowedLive: a pool changed in the store changes, without a
// restart, where its zones' NOTIFYs go (also-notifies), who may transfer
// them (targets), and which nameservers must have a serial before the
// zone is ACTIVE.
func TestPoolsFollowedLive(t *testing.T) {
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	a, b := newNotifyLog(t), newNotifyLog(t)
	key, err := st.CreateTSIGKey(ctx, dns.TSIGKey{Name: "edge-xfr", Algorithm: "hmac-sha256",
		Secret: "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ==", Scope: dns.ScopePool, ResourceID: dns.DefaultPoolID})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := st.CreatePool(ctx, dns.Pool{Name: "edge", NSRecords: []dns.NSRecord{{Hostname: "ns1.edge.example.", Priority: 1}},
		AlsoNotifies: []string{a.addr}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "edge.test.", Email: "h@edge.test", TTL: 300, PoolID: pool.ID})
	if err != nil {
		t.Fatal(err)
	}
	active := func() bool {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		return err == nil && got.Status == dns.Active
	}
	waitFor(t, "the zone ACTIVE", active)
	waitFor(t, "a NOTIFY to the pool's also-notify", func() bool { return a.count("edge.test.") > 0 })

	// Also-notify moved from a to b: the next change goes to b only.
	pool.AlsoNotifies = []string{b.addr}
	if pool, err = st.UpdatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	before := a.count("edge.test.")
	change := func(name string) {
		t.Helper()
		if _, err := st.CreateRecordSet(ctx, dns.Viewer{Project: "p1"}, z.ID, dns.RecordSet{Name: name, Type: "A", Records: []string{"192.0.2.1"}}); err != nil {
			t.Fatal(err)
		}
	}
	change("one.edge.test.")
	waitFor(t, "a NOTIFY to the new also-notify", func() bool { return b.count("edge.test.") > 0 })
	waitFor(t, "the change ACTIVE", active)
	if got := a.count("edge.test."); got != before {
		t.Errorf("the old also-notify got %d more NOTIFYs", got-before)
	}

	// A target may transfer the pool's zones with its key, from its address.
	axfr := func(signed bool) int {
		t.Helper()
		m := new(mdns.Msg)
		m.SetAxfr("edge.test.")
		c := &mdns.Client{Net: "tcp", Timeout: 2 * time.Second}
		if signed {
			c.TsigSecret = map[string]string{"edge-xfr.": key.Secret}
			m.SetTsig("edge-xfr.", mdns.HmacSHA256, 300, time.Now().Unix())
		}
		r, _, err := c.Exchange(m, p.addr)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rcode
	}
	if rc := axfr(true); rc != mdns.RcodeRefused {
		t.Fatalf("AXFR before any target: %s", mdns.RcodeToString[rc])
	}
	pool.Targets = []dns.PoolTarget{{Type: dns.TargetSecondary, Options: map[string]string{"host": "127.0.0.1", "port": portOf(b.addr)}, TSIGKeyID: key.ID}}
	if pool, err = st.UpdatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the target allowed to transfer", func() bool { return axfr(true) == mdns.RcodeSuccess })
	if rc := axfr(false); rc != mdns.RcodeRefused {
		t.Errorf("unsigned AXFR with a keyed target: %s", mdns.RcodeToString[rc])
	}
	pool.Targets = nil
	if pool, err = st.UpdatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed target refused", func() bool { return axfr(true) == mdns.RcodeRefused })

	// Nameservers: a pool that names a server without the zone keeps a
	// change PENDING; naming none again, the publisher's own servers
	// make it ACTIVE.
	pool.Nameservers = []string{a.addr}
	if pool, err = st.UpdatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	change("two.edge.test.")
	time.Sleep(2 * time.Second)
	if active() {
		t.Fatal("ACTIVE though the pool's nameserver does not have the zone")
	}
	pool.Nameservers = nil
	if _, err := st.UpdatePool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	change("three.edge.test.")
	waitFor(t, "ACTIVE with the publisher's servers again", active)
}

// testWriter sends a logger's lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// TestPoolTargetKnot: knotd as a pool's target — a real secondary of the
// pool's zone that takes our NOTIFY and transfers the zone with the
// target's TSIG key (no static ACL lets it), and is the pool's nameserver,
// so the zone is ACTIVE only once knotd has each serial.
func TestPoolTargetKnot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	bin := testenv.LookPath(t, "knotd", "knot", "/usr/sbin", "/usr/local/sbin")
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	const secret = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ=="
	key, err := st.CreateTSIGKey(ctx, dns.TSIGKey{Name: "knot-xfr", Algorithm: "hmac-sha256", Secret: secret,
		Scope: dns.ScopePool, ResourceID: dns.DefaultPoolID})
	if err != nil {
		t.Fatal(err)
	}
	knot := startKnotSecondary(t, bin, "edge.test.", p.addr, "knot-xfr", secret)
	pool, err := st.CreatePool(ctx, dns.Pool{Name: "edge", NSRecords: []dns.NSRecord{{Hostname: "ns1.edge.example.", Priority: 1}},
		Nameservers: []string{knot},
		Targets: []dns.PoolTarget{{Type: dns.TargetSecondary, Options: map[string]string{"host": "127.0.0.1", "port": portOf(knot)},
			TSIGKeyID: key.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: "edge.test.", Email: "h@edge.test", TTL: 300, PoolID: pool.ID})
	if err != nil {
		t.Fatal(err)
	}
	zone := func() dns.Zone {
		got, err := st.GetZone(ctx, dns.Viewer{Project: "p1"}, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	waitFor(t, "the zone ACTIVE with knotd as its nameserver", func() bool { return zone().Status == dns.Active })
	if s, err := publish.SOASerial(knot, "edge.test."); err != nil || s != zone().Serial {
		t.Fatalf("knotd serial %d (%v), zone %d", s, err, zone().Serial)
	}
	if _, err := st.CreateRecordSet(ctx, dns.Viewer{Project: "p1"}, z.ID, dns.RecordSet{Name: "www.edge.test.", Type: "A",
		Records: []string{"192.0.2.80"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change ACTIVE on knotd", func() bool { return zone().Status == dns.Active && zone().Serial != z.Serial })
	m := new(mdns.Msg)
	m.SetQuestion("www.edge.test.", mdns.TypeA)
	r, _, err := (&mdns.Client{Timeout: 2 * time.Second}).Exchange(m, knot)
	if err != nil || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.80" {
		t.Fatalf("knotd www A: %v %v", r, err)
	}
}

// startKnotSecondary runs knotd as a secondary of zone from primary,
// taking NOTIFY and transferring with the key, and returns its address.
func startKnotSecondary(t *testing.T, bin, zone, primary, keyName, secret string) string {
	t.Helper()
	dir := t.TempDir()
	pc, l := listenBoth(t)
	addr := pc.LocalAddr().String()
	pc.Close()
	l.Close()
	conf := fmt.Sprintf(`server:
    rundir: %[1]s
    listen: %[2]s
database:
    storage: %[1]s/db
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: %[1]s
key:
  - id: %[3]s
    algorithm: hmac-sha256
    secret: %[4]s
remote:
  - id: primary
    address: %[5]s
    key: %[3]s
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    key: %[3]s
    action: notify
zone:
  - domain: %[6]s
    master: primary
    acl: notify-from-primary
    zonefile-sync: -1
    journal-content: none
`, dir, strings.Replace(addr, ":", "@", 1), keyName, secret, strings.Replace(primary, ":", "@", 1), zone)
	path := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "knotd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-c", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
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
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "knotd.log"))
			t.Logf("knotd log:\n%s", b)
		}
	})
	waitFor(t, "knotd to answer", func() bool {
		m := new(mdns.Msg)
		m.SetQuestion(zone, mdns.TypeSOA)
		_, _, err := (&mdns.Client{Timeout: 300 * time.Millisecond}).Exchange(m, addr)
		return err == nil
	})
	return addr
}

// TestKeyScopes: a stored TSIG key lets its holder transfer what it is
// scoped to, from any address, and nothing else: a ZONE key its zone, a
// POOL key its pool's zones; created and deleted without a restart.
func TestKeyScopes(t *testing.T) {
	p := newPublished(t)
	st, ctx := p.st, p.ctx
	edge, err := st.CreatePool(ctx, dns.Pool{Name: "edge", NSRecords: []dns.NSRecord{{Hostname: "ns1.edge.example.", Priority: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	zone := func(name, pool string) dns.Zone {
		z, err := st.CreateZone(ctx, dns.Zone{ProjectID: "p1", Name: name, Email: "h@" + name, TTL: 300, PoolID: pool})
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	a := zone("a.test.", dns.DefaultPoolID)
	zone("b.test.", dns.DefaultPoolID)
	zone("c.test.", edge.ID)
	const secret = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRzaWcga2V5IQ=="
	key := func(name, scope, resource string) dns.TSIGKey {
		k, err := st.CreateTSIGKey(ctx, dns.TSIGKey{Name: name, Algorithm: "hmac-sha256", Secret: secret, Scope: scope, ResourceID: resource})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	axfr := func(zone, key string) int {
		t.Helper()
		m := new(mdns.Msg)
		m.SetAxfr(zone)
		c := &mdns.Client{Net: "tcp", Timeout: 2 * time.Second, TsigSecret: map[string]string{key + ".": secret}}
		m.SetTsig(key+".", mdns.HmacSHA256, 300, time.Now().Unix())
		r, _, err := c.Exchange(m, p.addr)
		if r == nil {
			t.Fatalf("AXFR %s: %v", zone, err)
		}
		return r.Rcode
	}
	waitFor(t, "the zones served", func() bool { return query(t, p.addr, "b.test.", mdns.TypeSOA).Rcode == mdns.RcodeSuccess })
	ka := key("a-key", dns.ScopeZone, a.ID)
	waitFor(t, "a's zone key to transfer a", func() bool { return axfr("a.test.", "a-key") == mdns.RcodeSuccess })
	if rc := axfr("b.test.", "a-key"); rc != mdns.RcodeRefused {
		t.Errorf("b with a's zone key: %s", mdns.RcodeToString[rc])
	}
	key("edge-key", dns.ScopePool, edge.ID)
	waitFor(t, "the edge pool's key to transfer c", func() bool { return axfr("c.test.", "edge-key") == mdns.RcodeSuccess })
	for _, z := range []string{"a.test.", "b.test."} {
		if rc := axfr(z, "edge-key"); rc != mdns.RcodeRefused {
			t.Errorf("%s with the edge pool's key: %s", z, mdns.RcodeToString[rc])
		}
	}
	if err := st.DeleteTSIGKey(ctx, ka.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted zone key refused", func() bool { return axfr("a.test.", "a-key") != mdns.RcodeSuccess })
}
