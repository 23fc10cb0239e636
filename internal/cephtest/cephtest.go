// Package cephtest starts a private single-node Ceph cluster for tests:
// one monitor, one manager and one memstore OSD (RAM only), pools of
// size 1, cephx on, on a loopback address of its own (127.x.y.z, chosen
// at random, the monitor on free ports) so that it never meets another
// cluster on the machine, in a temporary directory. Start returns once
// the pools exist (the manager's too), every placement group is
// active+clean and the OSD map has stopped changing (about 10 s on a
// loaded 2-core machine); Stop ends every daemon by the pid in its pid
// file and waits for it to exit, then removes the directory.
//
// A test package starts one cluster for all its tests:
//
//	func TestSomething(t *testing.T) {
//		c := cephtest.Shared(t) // started on first use, stopped when the binary ends
//		...
//	}
//
//	func TestMain(m *testing.M) { testenv.Main(m) } // stops it
//
// or, with a TestMain of its own, Start and Stop. Without the Ceph
// binaries (Debian's ceph-mon, ceph-osd, ceph-mgr, ceph-common) Shared
// skips the test, naming the packages — except with CI=true, where it
// fails: CI never silently skips an integration test. Start returns
// ErrMissing then.
//
// Every command the harness runs (the ceph CLI, mkfs) has a deadline: a
// cluster that does not come up fails the test in seconds instead of
// hanging it (a CLI call against a cluster whose OSD is gone waits for
// ever otherwise).
//
// The daemons run in the foreground as children of the test binary,
// with a parent-death signal, so that a test binary killed without
// its clean-up takes them along. This package is for tests only.
package cephtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrMissing is returned by Start when a Ceph binary is not installed.
var ErrMissing = errors.New("cephtest: Ceph is not installed")

// Packages are the Debian packages the harness needs.
const Packages = "ceph-mon ceph-osd ceph-mgr ceph-common"

// binaries are the programs Start runs.
var binaries = []string{"ceph-mon", "ceph-osd", "ceph-mgr", "ceph", "monmaptool"}

// Options shape the cluster. The zero value is a cluster with one pool,
// "volumes", and a client user "gostack" allowed RBD on it.
type Options struct {
	// Pools are made with PGs placement groups each and tagged for RBD;
	// the first is Cluster.Pool. Default ["volumes"].
	Pools []string
	// PGs per pool, default 8.
	PGs int
	// User is the cephx client id the tests use (client.<User>), with
	// Cinder's caps: mon "profile rbd", osd and mgr "profile rbd" on the
	// pools. Default "gostack".
	User string
	// MemoryBytes is the OSD's memstore size, default 1 GiB (used only
	// as written: volumes are thin).
	MemoryBytes int64
	// Timeout bounds the whole start, default 90 s.
	Timeout time.Duration
	// Dir is where the cluster is made (it must not exist yet, its
	// parent must), so that its ceph.conf and keyrings are known before
	// Start returns (Dir/ceph.conf, Dir/ceph.client.<User>.keyring);
	// "" for a new temporary directory. Stop removes it either way.
	Dir string
	// NetNS is a network namespace (ip netns) to run the daemons and
	// the CLI calls in, for a daemon under test that lives there; its
	// loopback must be up. "" for the test's own.
	NetNS string
}

// Cluster is a running private cluster.
type Cluster struct {
	// Dir holds everything: the configuration, keyrings, daemon data,
	// logs (log/), pid files and admin sockets (run/).
	Dir string
	// Conf is the ceph.conf clients read (CEPH_CONF): the monitor's
	// addresses, and the keyrings by name ($Dir/ceph.client.<id>.keyring).
	Conf string
	// Keyring is User's keyring file; Key its secret (base64), what a
	// libvirt secret of type ceph holds.
	Keyring, Key string
	// User is the client id, without "client.".
	User string
	// AdminKeyring is client.admin's keyring (the CLI's default user).
	AdminKeyring string
	// Pool is the first pool; Pools all of them.
	Pool  string
	Pools []string
	// MonHosts and MonPorts are the monitor's legacy (v1) address, as
	// Cinder's connection info lists them from "ceph mon dump"; MonAddrs
	// the same as "host:port"; MonHost the monitor's address vector as
	// ceph.conf's mon_host writes it ("[v2:ip:port,v1:ip:port]").
	MonHosts, MonPorts, MonAddrs []string
	MonHost                      string
	// Addr is the loopback address every daemon binds.
	Addr string
	// FSID is the cluster's id.
	FSID string
	// Took is how long Start took.
	Took time.Duration

	daemons []*daemon
	netns   string
}

type daemon struct {
	name string // "mon.a"
	cmd  *exec.Cmd
	done chan struct{}
}

// Available reports whether the Ceph binaries are installed: nil, or an
// error wrapping ErrMissing naming what is not.
func Available() error {
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found (Debian packages %s)", ErrMissing, strings.Join(missing, ", "), Packages)
	}
	return nil
}

// Start makes and starts a cluster, and returns it once its placement
// groups are active+clean. On failure nothing is left running; the
// error holds the end of the failing daemon's log.
func Start(o Options) (c *Cluster, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if len(o.Pools) == 0 {
		o.Pools = []string{"volumes"}
	}
	if o.PGs <= 0 {
		o.PGs = 8
	}
	if o.User == "" {
		o.User = "gostack"
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = 1 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 90 * time.Second
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	dir := o.Dir
	if dir == "" {
		dir, err = os.MkdirTemp("", "gostack-ceph-")
	} else {
		err = os.Mkdir(dir, 0o755)
	}
	if err != nil {
		return nil, err
	}
	// Readable by others: a QEMU running as another user (libvirt's)
	// reads ceph.conf; the keyrings stay the owner's (0600): such a QEMU
	// is given the user's key through its libvirt secret, and librados
	// takes a key so given when the conf's keyring cannot be read.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c = &Cluster{Dir: dir, Conf: filepath.Join(dir, "ceph.conf"), User: o.User, Pool: o.Pools[0], Pools: o.Pools, netns: o.NetNS,
		AdminKeyring: filepath.Join(dir, "ceph.client.admin.keyring"), Keyring: filepath.Join(dir, "ceph.client."+o.User+".keyring")}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	for _, d := range []string{"run", "log", "mon.a", "osd.0", "mgr.x"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return c, err
		}
	}
	if err := c.configure(o); err != nil {
		return c, fmt.Errorf("cephtest: %w", err)
	}
	if err := c.run(ctx, 20*time.Second, "monmaptool", "--create", "--addv", "a", c.MonHost, "--fsid", c.FSID,
		filepath.Join(dir, "monmap")); err != nil {
		return c, err
	}
	if err := c.run(ctx, 30*time.Second, "ceph-mon", "-c", c.Conf, "--mkfs", "-i", "a", "--monmap", filepath.Join(dir, "monmap"),
		"--keyring", filepath.Join(dir, "daemons.keyring")); err != nil {
		return c, err
	}
	if err := c.startDaemon("mon.a", "ceph-mon", "-i", "a"); err != nil {
		return c, err
	}
	osdUUID := newUUID()
	if out, err := c.Ceph(ctx, "osd", "create", osdUUID); err != nil {
		return c, err
	} else if id := strings.TrimSpace(string(out)); id != "0" {
		return c, fmt.Errorf("cephtest: osd create gave id %q, not 0", id)
	}
	if err := c.run(ctx, 30*time.Second, "ceph-osd", "-c", c.Conf, "-i", "0", "--mkfs", "--osd-uuid", osdUUID); err != nil {
		return c, err
	}
	if err := c.startDaemon("osd.0", "ceph-osd", "-i", "0"); err != nil {
		return c, err
	}
	// The manager's devicehealth module makes its pool when it starts
	// and finds none: a pool's placement groups being created and the
	// OSD map changing several times, seconds after the cluster looked
	// ready. librbd 16.2 has been seen to crash (SIGSEGV, abort) or hang
	// in rbd_open_read_only of a snapshot while the map changes under
	// it, so the pool is made here, before the manager starts, and
	// Start returns once the map has stopped changing.
	if _, err := c.Ceph(ctx, "osd", "pool", "create", healthPool, "1", "1", "replicated"); err != nil {
		return c, err
	}
	if _, err := c.Ceph(ctx, "osd", "pool", "application", "enable", healthPool, "mgr_devicehealth"); err != nil {
		return c, err
	}
	if err := c.startDaemon("mgr.x", "ceph-mgr", "-i", "x"); err != nil {
		return c, err
	}
	for _, p := range o.Pools {
		n := strconv.Itoa(o.PGs)
		if _, err := c.Ceph(ctx, "osd", "pool", "create", p, n, n, "replicated"); err != nil {
			return c, err
		}
		if _, err := c.Ceph(ctx, "osd", "pool", "application", "enable", p, "rbd"); err != nil {
			return c, err
		}
	}
	if err := c.waitClean(ctx, len(o.Pools)*o.PGs+1); err != nil {
		return c, err
	}
	// A pool's first snapshot changes the OSD map several times (the
	// pool turns to self-managed snapshots, and its removed-snapshot
	// queue fills and drains) while the next opens of that snapshot
	// run. Each pool has had one before Start returns.
	for _, p := range o.Pools {
		img := p + "/cephtest-warmup"
		for _, args := range [][]string{{"create", "--size", "1M", img}, {"snap", "create", img + "@s"},
			{"snap", "rm", img + "@s"}, {"rm", "--no-progress", img}} {
			if _, err := c.RBD(ctx, args...); err != nil {
				return c, err
			}
		}
	}
	if err := c.waitSteady(ctx); err != nil {
		return c, err
	}
	c.Took = time.Since(start)
	return c, nil
}

// configure picks the address and the monitor's ports and writes
// ceph.conf and the keyrings.
func (c *Cluster) configure(o Options) error {
	addr, v2, v1, err := freeAddress()
	if err != nil {
		return err
	}
	c.Addr, c.FSID = addr, newUUID()
	c.MonHost = fmt.Sprintf("[v2:%s:%d,v1:%s:%d]", addr, v2, addr, v1)
	c.MonHosts, c.MonPorts = []string{addr}, []string{strconv.Itoa(v1)}
	c.MonAddrs = []string{net.JoinHostPort(addr, strconv.Itoa(v1))}
	d := c.Dir
	conf := fmt.Sprintf(`[global]
fsid = %[2]s
mon host = %[3]s
public addr = %[4]s
cluster addr = %[4]s
ms bind ipv6 = false
run dir = %[1]s/run
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd pool default pg num = %[5]d
osd pool default pgp num = %[5]d
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 0
osd crush chooseleaf type = 0
mgr stats period = 1
mon mgr beacon grace = 10
# A snapshot's id comes from the monitor, in its next map proposal: 1 s
# apart by default, which makes every RBD snapshot (and every clone of a
# volume) take up to a second. Tests take 0.1 s.
paxos propose interval = 0.1

[mon]
mon data = %[1]s/$name
keyring = %[1]s/$name/keyring
log file = %[1]s/log/$name.log
admin socket = %[1]s/run/$name.asok
pid file = %[1]s/run/$name.pid

[osd]
osd data = %[1]s/$name
keyring = %[1]s/daemons.keyring
osd objectstore = memstore
memstore device bytes = %[6]d
osd class load list = *
osd class default list = *
log file = %[1]s/log/$name.log
admin socket = %[1]s/run/$name.asok
pid file = %[1]s/run/$name.pid

[mgr]
mgr data = %[1]s/$name
keyring = %[1]s/daemons.keyring
mgr/devicehealth/enable_monitoring = false
log file = %[1]s/log/$name.log
admin socket = %[1]s/run/$name.asok
pid file = %[1]s/run/$name.pid

[client]
keyring = %[1]s/ceph.$name.keyring
log file = /dev/null
admin socket =
`, d, c.FSID, c.MonHost, addr, o.PGs, o.MemoryBytes)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		return err
	}
	var osdCaps, mgrCaps []string
	for _, p := range o.Pools {
		osdCaps = append(osdCaps, "profile rbd pool="+p)
		mgrCaps = append(mgrCaps, "profile rbd pool="+p)
	}
	entities := []entity{
		{name: "mon.", caps: [][2]string{{"mon", "allow *"}}},
		{name: "client.admin", caps: [][2]string{{"mds", "allow *"}, {"mgr", "allow *"}, {"mon", "allow *"}, {"osd", "allow *"}}},
		{name: "client." + o.User, caps: [][2]string{{"mgr", strings.Join(mgrCaps, ", ")}, {"mon", "profile rbd"},
			{"osd", strings.Join(osdCaps, ", ")}}},
		{name: "osd.0", caps: [][2]string{{"mgr", "allow profile osd"}, {"mon", "allow profile osd"}, {"osd", "allow *"}}},
		{name: "mgr.x", caps: [][2]string{{"mds", "allow *"}, {"mon", "allow profile mgr"}, {"osd", "allow *"}}},
	}
	for i := range entities {
		entities[i].key = newKey()
	}
	c.Key = entities[2].key
	// The monitor imports every entity with its caps at mkfs; the
	// daemons read theirs from the same file.
	if err := writeKeyring(filepath.Join(d, "daemons.keyring"), entities, 0o600); err != nil {
		return err
	}
	if err := writeKeyring(c.AdminKeyring, entities[1:2], 0o600); err != nil {
		return err
	}
	return writeKeyring(c.Keyring, entities[2:3], 0o600)
}

// freeAddress picks a loopback address no other cluster of this harness
// is likely to use, 127.100-199.x.y, with two free ports on it for the
// monitor (msgr2 and the legacy protocol); the OSD and the manager bind
// Ceph's default range (6800-7300) on that address.
func freeAddress() (addr string, v2, v1 int, err error) {
	for range 20 {
		a := fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(256), 1+rand.IntN(254))
		// A daemon of another cluster on this address holds 6800.
		if l, err := net.Listen("tcp", net.JoinHostPort(a, "6800")); err != nil {
			continue
		} else {
			l.Close()
		}
		p2, err2 := freePort(a)
		p1, err1 := freePort(a)
		if err2 == nil && err1 == nil && p1 != p2 {
			return a, p2, p1, nil
		}
	}
	return "", 0, 0, errors.New("no free loopback address for the monitor")
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a command to its end under a deadline of its own; the error
// holds the end of its output.
func (c *Cluster) run(ctx context.Context, limit time.Duration, name string, args ...string) error {
	_, err := c.output(ctx, limit, name, args...)
	return err
}

func (c *Cluster) output(ctx context.Context, limit time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	name, args = c.inNetNS(name, args)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "CEPH_CONF="+c.Conf)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", limit)
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("cephtest: %s %s: %v: %s", name, strings.Join(args, " "), err,
			lastLines(stderr.String()+stdout.String(), 4))
	}
	return stdout.Bytes(), nil
}

// Ceph runs the ceph CLI as client.admin on the cluster (30 s at most)
// and returns its standard output.
func (c *Cluster) Ceph(ctx context.Context, args ...string) ([]byte, error) {
	return c.output(ctx, 30*time.Second, "ceph", append([]string{"-c", c.Conf, "--connect-timeout", "20"}, args...)...)
}

// RBD runs the rbd CLI as client.admin on the cluster (60 s at most)
// and returns its standard output.
func (c *Cluster) RBD(ctx context.Context, args ...string) ([]byte, error) {
	return c.output(ctx, 60*time.Second, "rbd", append([]string{"-c", c.Conf}, args...)...)
}

// startDaemon starts a daemon in the foreground as a child, and waits
// for its pid file.
func (c *Cluster) startDaemon(name, bin string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.Dir, "log", name+".out"))
	if err != nil {
		return err
	}
	defer logf.Close()
	// ip netns exec execs the daemon in place: its pid is the child's.
	bin, args = c.inNetNS(bin, append([]string{"-f", "-c", c.Conf}, args...))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cephtest: start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	c.daemons = append(c.daemons, d)
	pidFile := c.pidFile(name)
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-d.done:
			return fmt.Errorf("cephtest: %s exited at start: %s", name, c.logTail(name))
		default:
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) != "" {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("cephtest: %s wrote no pid file in 20 s: %s", name, c.logTail(name))
		}
	}
}

// inNetNS is the command that runs name in the cluster's network
// namespace.
func (c *Cluster) inNetNS(name string, args []string) (string, []string) {
	if c.netns == "" {
		return name, args
	}
	return "ip", append([]string{"netns", "exec", c.netns, name}, args...)
}

func (c *Cluster) pidFile(name string) string { return filepath.Join(c.Dir, "run", name+".pid") }

// logTail is the end of a daemon's log and its output.
func (c *Cluster) logTail(name string) string {
	var s string
	for _, f := range []string{name + ".log", name + ".out"} {
		b, _ := os.ReadFile(filepath.Join(c.Dir, "log", f))
		s += string(b)
	}
	return lastLines(s, 6)
}

// waitClean waits until the cluster has at least n placement groups, all
// active+clean.
func (c *Cluster) waitClean(ctx context.Context, n int) error {
	var last string
	for {
		for _, d := range c.daemons {
			select {
			case <-d.done:
				return fmt.Errorf("cephtest: %s exited: %s", d.name, c.logTail(d.name))
			default:
			}
		}
		out, err := c.Ceph(ctx, "pg", "stat", "--format", "json")
		if err == nil {
			var st struct {
				Summary struct {
					ByState []struct {
						Name string `json:"name"`
						Num  int    `json:"num"`
					} `json:"num_pg_by_state"`
					PGs int `json:"num_pgs"`
				} `json:"pg_summary"`
			}
			if err := json.Unmarshal(out, &st); err == nil {
				clean := 0
				for _, s := range st.Summary.ByState {
					if s.Name == "active+clean" {
						clean = s.Num
					}
				}
				if st.Summary.PGs >= n && clean == st.Summary.PGs {
					return nil
				}
			}
			last = strings.TrimSpace(string(out))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cephtest: placement groups not active+clean in time; last: %s", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// healthPool is the pool the manager's devicehealth module keeps.
const healthPool = "device_health_metrics"

// waitSteady waits until the OSD map's epoch has stayed the same for
// two seconds.
func (c *Cluster) waitSteady(ctx context.Context) error {
	epoch, since := -1, time.Now()
	for {
		out, err := c.Ceph(ctx, "osd", "dump", "--format", "json")
		if err != nil {
			return err
		}
		var m struct {
			Epoch int `json:"epoch"`
		}
		if err := json.Unmarshal(out, &m); err != nil {
			return fmt.Errorf("cephtest: osd dump: %w", err)
		}
		if m.Epoch != epoch {
			epoch, since = m.Epoch, time.Now()
		} else if time.Since(since) >= 2*time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cephtest: the OSD map still changing (epoch %d): %w", epoch, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Stop ends every daemon by the pid in its pid file (the manager, the
// OSD, then the monitor): SIGTERM, and SIGKILL to one still there after
// a second (a memstore OSD has nothing to save, and takes about 5 s to
// stop on its own); it waits for each to exit, then removes Dir. It may
// be called more than once.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	var errs []error
	for i := len(c.daemons) - 1; i >= 0; i-- {
		d := c.daemons[i]
		pid := d.cmd.Process.Pid
		// The pid file's pid is the one to signal; it is the child's (the
		// daemons run in the foreground). A daemon that exited removed
		// its file.
		if b, err := os.ReadFile(c.pidFile(d.name)); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
				if p != pid {
					errs = append(errs, fmt.Errorf("cephtest: %s: pid file says %d, the child is %d", d.name, p, pid))
				}
				pid = p
			}
		}
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.After(time.Second)
	for i := len(c.daemons) - 1; i >= 0; i-- {
		d := c.daemons[i]
		select {
		case <-d.done:
			continue
		case <-deadline:
		}
		// The deadline fired once: every later daemon is killed at once.
		deadline = closedTime
		syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			errs = append(errs, fmt.Errorf("cephtest: %s (pid %d) did not exit", d.name, d.cmd.Process.Pid))
		}
	}
	c.daemons = nil
	if c.Dir != "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var closedTime = func() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}()

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
