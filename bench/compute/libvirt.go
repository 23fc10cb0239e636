package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gostack/gostack/network/ovs"
)

// privateSystem gives the libvirt driver what it needs — the "system"
// Open vSwitch (network.agent.ovs_dir=system) and a system libvirtd with
// virtlogd — without touching the host's: this process's mount
// namespace (its own, from ip netns exec, slave to the host's) gets a
// tmpfs on /run and private directories over libvirt's state, logs,
// cache, domain definitions and qemu.conf (QEMU as root without
// relabelling: the daemon's data directory is not the libvirt-qemu
// user's), and the daemons run in this network namespace. The mounts
// end with the namespace.
type privateSystem struct {
	dir  string
	pids []string // pid files of what was started, in order
}

func startPrivateSystem(ctx context.Context, work string) (*privateSystem, error) {
	p := &privateSystem{dir: filepath.Join(work, "system")}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		return nil, fmt.Errorf("tmpfs on /run: %w", err)
	}
	for _, target := range []string{"/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt", "/etc/libvirt/qemu"} {
		src := filepath.Join(p.dir, strings.ReplaceAll(strings.Trim(target, "/"), "/", "-"))
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, err
		}
		if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			return nil, fmt.Errorf("bind %s: %w", target, err)
		}
	}
	qconf := filepath.Join(p.dir, "qemu.conf")
	os.WriteFile(qconf, []byte("user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\nsecurity_driver = \"none\"\n"), 0o644)
	if err := unix.Mount(qconf, "/etc/libvirt/qemu.conf", "", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind qemu.conf: %w", err)
	}
	if _, err := ovs.Start(ctx, "/run/openvswitch"); err != nil {
		return nil, err
	}
	p.pids = append(p.pids, "/run/openvswitch/ovsdb-server.pid", "/run/openvswitch/ovs-vswitchd.pid")
	vpid := filepath.Join(p.dir, "virtlogd.pid")
	if out, err := exec.CommandContext(ctx, "/usr/sbin/virtlogd", "--daemon", "--pid-file", vpid).CombinedOutput(); err != nil {
		return p, fmt.Errorf("virtlogd: %v %s", err, out)
	}
	p.pids = append(p.pids, vpid)
	conf := filepath.Join(p.dir, "libvirtd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("log_outputs = \"3:file:%s\"\n", filepath.Join(p.dir, "libvirtd.log"))), 0o644)
	lpid := filepath.Join(p.dir, "libvirtd.pid")
	if out, err := exec.CommandContext(ctx, "/usr/sbin/libvirtd", "--daemon", "--config", conf, "--pid-file", lpid).CombinedOutput(); err != nil {
		return p, fmt.Errorf("libvirtd: %v %s", err, out)
	}
	p.pids = append(p.pids, lpid)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("unix", "/run/libvirt/libvirt-sock"); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(end) {
			return p, fmt.Errorf("libvirtd: no answer on /run/libvirt/libvirt-sock in 30 s (log in %s)", p.dir)
		}
	}
}

// stop ends the guests libvirtd runs, then the daemons, last started
// first.
func (p *privateSystem) stop() {
	guests, _ := filepath.Glob("/run/libvirt/qemu/*.pid")
	killPidFiles(guests, "qemu")
	for i := len(p.pids) - 1; i >= 0; i-- {
		killPidFile(p.pids[i], "", 10*time.Second)
	}
}
