package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/storage/iscsi"
)

// The block-storage area in the all-in-one, driven by the openstack
// CLI: volumes made by the in-process backend as sparse files exported
// by a tgtd the daemon starts (on a control port and portal of the
// test's own), extended, and deleted with their target and file; tgtd
// killed and every volume exported again by the agent, with the same
// target name.
func TestAllInOneVolumes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace and tgtd")
	}
	for _, b := range []string{"tgtd", "tgtadm", "openstack", "curl"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: make test installs it", b)
			}
			t.Skipf("%s not found", b)
		}
	}
	sfx := os.Getpid() % 10000
	ns := "gsvol" + strconv.Itoa(sfx)
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	data := t.TempDir()
	control := 20000 + sfx // tgtd's control port: a socket of the test's own
	portal := "127.0.0.1:" + strconv.Itoa(33260+sfx%1000)
	tgtDir := filepath.Join(data, "volume", "tgt")
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-data-dir", data, "-set", "identity.password_hash_rounds=4",
		"-set", "network.agent.enabled=false", "-set", "compute.agent.enabled=false",
		"-set", "volume.agent.host=aio@iscsi#iscsi", "-set", "volume.agent.control_port="+strconv.Itoa(control),
		"-set", "volume.agent.portal="+portal)
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1")
	p := startProc(t, cmd)
	ex := &iscsi.Exporter{Dir: tgtDir, ControlPort: control, Portal: netip.MustParseAddrPort(portal)}
	// gostack first, then the tgtd it started (it outlives gostack, as
	// in production): Stop also removes its socket.
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
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
	must, asJSON := c.must, c.json
	// The backend's first capacity report makes its zone available, and
	// the backend a place for volumes.
	waitFor(t, p, "the backend up", func() error {
		out, err := c.run("availability", "zone", "list", "--volume", "-f", "value")
		if err != nil || !strings.Contains(out, "nova available") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	target := func(id string) *iscsi.Target {
		t.Helper()
		ts, err := ex.Targets(context.Background())
		if err != nil {
			t.Fatalf("tgtd's targets: %v\n%s", err, p.logs)
		}
		for i := range ts {
			if ts[i].IQN == ex.IQN(id) {
				return &ts[i]
			}
		}
		return nil
	}
	status := func(name, want string) map[string]any {
		t.Helper()
		var v map[string]any
		waitFor(t, p, name+" "+want, func() error {
			asJSON(&v, "volume", "show", name)
			if v["status"] != want {
				return fmt.Errorf("status %v", v["status"])
			}
			return nil
		})
		return v
	}

	start := time.Now()
	var v map[string]any
	asJSON(&v, "volume", "create", "--size", "1", "--description", "first", "v1")
	id := v["id"].(string)
	v = status("v1", "available")
	t.Logf("volume create to available: %s", time.Since(start).Round(time.Millisecond))
	if v["size"] != float64(1) || v["os-vol-host-attr:host"] != "aio@iscsi#iscsi" || v["type"] != "__DEFAULT__" {
		t.Errorf("v1: %v", v)
	}
	file := filepath.Join(data, "volume", "files", "volume-"+id)
	if fi, err := os.Stat(file); err != nil || fi.Size() != 1<<30 {
		t.Fatalf("the volume's file: %v %v", fi, err)
	}
	tg := target(id)
	if tg == nil || len(tg.LUNs) != 2 || tg.LUNs[1].BackingPath != file || len(tg.Accounts) != 1 {
		t.Fatalf("the target of v1: %+v", tg)
	}

	// Extend: the file and the LUN grow.
	must("volume", "set", "--size", "2", "v1")
	status("v1", "available")
	if fi, err := os.Stat(file); err != nil || fi.Size() != 2<<30 {
		t.Fatalf("the extended volume's file: %v %v", fi, err)
	}
	if tg := target(id); tg == nil || len(tg.LUNs) != 2 || tg.LUNs[1].SizeMB < 2000 {
		t.Fatalf("the target after the extend: %+v", tg)
	}

	// tgtd killed: the agent starts it again and exports v1 with the same
	// target name and account.
	asJSON(&v, "volume", "create", "--size", "1", "v2")
	status("v2", "available")
	id2 := v["id"].(string)
	account := target(id).Accounts[0]
	pid, _ := ex.PID()
	killTgtd(tgtDir)
	start = time.Now()
	waitFor(t, p, "another tgtd", func() error {
		if now, ok := ex.PID(); !ok || now == pid {
			return errors.New("the same tgtd, or none yet")
		}
		return nil
	})
	waitFor(t, p, "both volumes exported again", func() error {
		ts, err := ex.Targets(context.Background())
		if err != nil {
			return err
		}
		if len(ts) != 2 {
			return fmt.Errorf("targets %v", ts)
		}
		return nil
	})
	t.Logf("tgtd killed: both volumes exported again after %s", time.Since(start).Round(time.Millisecond))
	if tg := target(id); tg == nil || len(tg.Accounts) != 1 || tg.Accounts[0] != account || len(tg.LUNs) != 2 || tg.LUNs[1].BackingPath != file {
		t.Fatalf("v1's target after tgtd's restart: %+v (account was %s)", tg, account)
	}

	// Delete: the target and the file go.
	must("volume", "delete", "v1", "v2")
	waitFor(t, p, "the volumes gone", func() error {
		out, _ := c.run("volume", "list", "-f", "value")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("volumes: %s", out)
		}
		return nil
	})
	if target(id) != nil || target(id2) != nil {
		t.Errorf("targets left after the deletes")
	}
	for _, f := range []string{file, filepath.Join(data, "volume", "files", "volume-"+id2)} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s after its volume's delete: %v", f, err)
		}
	}
}

// killTgtd ends the tgtd whose pid file is in dir with SIGKILL (tgtd
// ignores SIGTERM).
func killTgtd(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "tgtd.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
