package cephtest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The harness's cluster (one start for the package): healthy, cephx on,
// the pools tagged for RBD, the test user able to make an image in them
// with its own keyring and to do nothing else, the monitor where Cluster
// says; Stop ends every daemon by its pid file and removes the
// directory.
func TestCluster(t *testing.T) {
	if err := cephtest.Available(); err != nil && !testenv.CI() {
		t.Skip(err)
	}
	c, err := cephtest.Start(cephtest.Options{Pools: []string{"one", "two"}, PGs: 4, User: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	t.Logf("cluster up in %s on %s (mon %s)", c.Took.Round(time.Millisecond), c.Addr, c.MonHost)
	ctx := context.Background()
	out, err := c.Ceph(ctx, "health")
	if err != nil || !strings.HasPrefix(string(out), "HEALTH_OK") {
		t.Errorf("health: %s %v", out, err)
	}
	out, err = c.Ceph(ctx, "mon", "dump", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		FSID string `json:"fsid"`
		Mons []struct {
			Addr string `json:"addr"`
		} `json:"mons"`
	}
	if err := json.Unmarshal(out, &dump); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if dump.FSID != c.FSID || len(dump.Mons) != 1 || dump.Mons[0].Addr != c.MonAddrs[0]+"/0" {
		t.Errorf("mon dump %s; cluster fsid %s, mon %s", out, c.FSID, c.MonAddrs)
	}
	out, err = c.Ceph(ctx, "osd", "pool", "ls")
	// The manager's pool is made by Start, not by the manager later.
	if err != nil || strings.Join(strings.Fields(string(out)), " ") != "device_health_metrics one two" || c.Pool != "one" {
		t.Errorf("pools: %q %v", out, err)
	}
	for _, p := range c.Pools {
		out, err = c.Ceph(ctx, "osd", "pool", "application", "get", p)
		if err != nil || !strings.Contains(string(out), "rbd") {
			t.Errorf("pool %s application: %s %v", p, out, err)
		}
	}
	// The test user, by its keyring, in its pools.
	for _, p := range c.Pools {
		if _, err := c.RBD(ctx, "--id", c.User, "--keyring", c.Keyring, "create", "--size", "16", p+"/probe"); err != nil {
			t.Fatal(err)
		}
		out, err = c.RBD(ctx, "--id", c.User, "ls", p)
		if err != nil || strings.TrimSpace(string(out)) != "probe" {
			t.Errorf("rbd ls %s as %s: %q %v", p, c.User, out, err)
		}
	}
	if _, err := c.Ceph(ctx, "--id", c.User, "osd", "pool", "create", "not-mine"); err == nil {
		t.Error("the test user made a pool")
	}
	if _, err := c.Ceph(ctx, "--id", "nobody", "health"); err == nil {
		t.Error("an unknown user was let in: cephx is off")
	}
	if len(c.Key) != 40 || !strings.Contains(mustRead(t, c.Keyring), c.Key) {
		t.Errorf("the user's key %q is not its keyring's", c.Key)
	}
	// The keyrings are the owner's; the directory and ceph.conf readable
	// by a QEMU of another user.
	for p, want := range map[string]os.FileMode{c.Keyring: 0o600, c.AdminKeyring: 0o600, filepath.Join(c.Dir, "daemons.keyring"): 0o600,
		c.Conf: 0o644, c.Dir: 0o755} {
		if fi, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, not %v", p, fi.Mode().Perm(), want)
		}
	}

	var pids []int
	for _, d := range []string{"mon.a", "osd.0", "mgr.x"} {
		pid, err := strconv.Atoi(strings.TrimSpace(mustRead(t, filepath.Join(c.Dir, "run", d+".pid"))))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	start := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pid %d still runs", pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("%s is left: %v", c.Dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
