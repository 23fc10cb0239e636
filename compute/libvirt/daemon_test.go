//go:build cgo

package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	daemons.stop()
	testenv.StopAll()
	os.Exit(code)
}

// systemURI is the system libvirtd's URI.
const systemURI = "qemu:///system"

// daemons are the libvirtd and virtlogd this test binary started, if
// the machine ran none (no systemd to start them on demand); TestMain
// stops them by pid.
//
// That libvirtd runs in a network namespace of its own, where it makes
// its guests' taps, so that a test's Open vSwitch can run beside them
// (nicSwitch): the switch's userspace datapath opens taps in its own
// namespace, and reads a bridge's MTU there, and must not share the
// host's with another test's switch (network/ovs/ovstest).
var daemons daemonSet

type daemonSet struct {
	once   sync.Once
	err    error
	dir    string
	pids   []int // started, in order
	nsName string
	ns     netns.NsHandle

	ovsOnce sync.Once
	ovs     *ovs.Daemons // the switch in ns, once a test asked for it
	ovsErr  error
}

// systemLibvirt returns the URI of a running system libvirtd with the
// QEMU driver: the machine's own, or one started for this test binary.
// A missing package skips the test, or fails it in CI.
func systemLibvirt(t *testing.T) string {
	t.Helper()
	for _, p := range []struct{ path, pkg string }{
		{"/usr/sbin/libvirtd", "libvirt-daemon-system"},
		{"/usr/sbin/virtlogd", "libvirt-daemon"},
		{"/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so", "libvirt-daemon-driver-qemu"},
		{"/usr/bin/qemu-system-x86_64", "qemu-system-x86"},
	} {
		if _, err := os.Stat(p.path); err != nil {
			testenv.Missing(t, p.path, p.pkg)
		}
	}
	if os.Geteuid() != 0 {
		msg := "the system libvirtd (qemu:///system) needs root"
		if testenv.CI() {
			t.Fatal(msg + " [CI=true: integration tests may not skip]")
		}
		t.Skip(msg)
	}
	daemons.once.Do(func() { daemons.err = startDaemons() })
	if daemons.err != nil {
		t.Fatalf("libvirtd: %v", daemons.err)
	}
	return systemURI
}

// answers says whether the system libvirtd takes a connection.
func answers() error {
	c, err := libvirt.NewConnect(systemURI)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// startDaemons starts virtlogd and libvirtd if they are not running.
// Both are started as daemons with pid files in a directory of their
// own; libvirtd logs there too.
func startDaemons() error {
	if answers() == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "gostack-libvirtd-")
	if err != nil {
		return err
	}
	daemons.dir = dir
	daemons.nsName = fmt.Sprintf("gslv-%d", os.Getpid())
	if daemons.ns, err = ovstest.NewNS(daemons.nsName); err != nil {
		return err
	}
	if err := ovstest.In(daemons.ns, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		return fmt.Errorf("namespace %s: %w", daemons.nsName, err)
	}
	if !socketAnswers("/run/libvirt/virtlogd-sock") {
		if err := startDaemon(dir, "virtlogd", nil, "--daemon", "--pid-file", filepath.Join(dir, "virtlogd.pid")); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "libvirtd.conf")
	log := filepath.Join(dir, "libvirtd.log")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("log_outputs = \"3:file:%s\"\n", log)), 0o644); err != nil {
		return err
	}
	if err := startLibvirtd(dir); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := answers()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			return fmt.Errorf("started, but no answer in 30 s: %v; its log ends:\n%s", err, lastLines(string(b), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startLibvirtd starts libvirtd in the daemons' namespace with its
// configuration, log and pid file in dir. Its ovs-vsctl (which plugs
// the taps of guest NICs into Open vSwitch) finds the switch's database
// in dir/ovs (OVS_RUNDIR), where nicSwitch starts one.
func startLibvirtd(dir string) error {
	return ovstest.In(daemons.ns, func() error {
		return startDaemon(dir, "libvirtd", []string{"OVS_RUNDIR=" + ovsDir(dir)},
			"--daemon", "--config", filepath.Join(dir, "libvirtd.conf"), "--pid-file", filepath.Join(dir, "libvirtd.pid"))
	})
}

// ovsDir is the run directory of the switch in the daemons' namespace.
func ovsDir(dir string) string { return filepath.Join(dir, "ovs") }

// startSwitch starts the Open vSwitch of the daemons' namespace, once;
// it runs until TestMain stops the daemons.
func (d *daemonSet) startSwitch() (*ovs.Daemons, error) {
	d.ovsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		d.ovsErr = ovstest.In(d.ns, func() (err error) {
			d.ovs, err = ovs.Start(ctx, ovsDir(d.dir))
			return err
		})
	})
	return d.ovs, d.ovsErr
}

// startDaemon runs a daemon that forks itself away, with env added to
// the test's environment, and waits for its pid file.
func startDaemon(dir, name string, env []string, args ...string) error {
	pidFile := args[len(args)-1]
	cmd := exec.Command("/usr/sbin/"+name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out.Bytes())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pid, err := readPid(pidFile); err == nil {
			daemons.pids = append(daemons.pids, pid)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no pid file %s after 10 s: %s", name, pidFile, out.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readPid(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func socketAnswers(path string) bool {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	return syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}) == nil
}

// stop ends the daemons this binary started, libvirtd first, each by
// its pid: SIGTERM, then SIGKILL if it is still there after 10 s.
func (d *daemonSet) stop() {
	for i := len(d.pids) - 1; i >= 0; i-- {
		pid := d.pids[i]
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	d.pids = nil
	if d.ovs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.ovs.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "stop Open vSwitch: %v\n", err)
		}
		cancel()
		d.ovs = nil
	}
	if d.nsName != "" {
		d.ns.Close()
		netns.DeleteNamed(d.nsName)
		d.nsName = ""
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// restartLibvirtd stops the libvirtd this binary started and starts it
// again; false if the machine's own libvirtd is in use (not ours to
// restart).
func (d *daemonSet) restartLibvirtd() (bool, error) {
	pidFile := filepath.Join(d.dir, "libvirtd.pid")
	i := len(d.pids) - 1
	if d.dir == "" || i < 0 {
		return false, nil
	}
	if pid, err := readPid(pidFile); err != nil || pid != d.pids[i] {
		return false, nil
	}
	if err := syscall.Kill(d.pids[i], syscall.SIGTERM); err != nil {
		return true, err
	}
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(d.pids[i], 0) == nil; {
		if time.Now().After(deadline) {
			return true, fmt.Errorf("libvirtd %d still there 10 s after SIGTERM", d.pids[i])
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.pids = d.pids[:i]
	os.Remove(pidFile)
	if err := startLibvirtd(d.dir); err != nil {
		return true, err
	}
	for deadline := time.Now().Add(30 * time.Second); answers() != nil; {
		if time.Now().After(deadline) {
			return true, fmt.Errorf("libvirtd restarted but does not answer after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
