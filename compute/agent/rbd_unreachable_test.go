//go:build cgo && (pacific || quincy || reef || squid)

package agent_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/storage/rbd"
)

// TestRBDUnreachableFailedBuild: a build on a host whose root disks'
// cluster it cannot reach (its only monitor's port refuses, as after an
// agent killed past a spawn restarts while Ceph is away: the guest may
// have written on <uuid>_disk, and this process has never connected)
// fails, and is not rescheduled — another host would take the disk for
// whole and boot what the first guest wrote — its fault saying why.
func TestRBDUnreachableFailedBuild(t *testing.T) {
	c := newController(t)
	c.store.MaxBuildAttempts = compute.DefaultMaxBuildAttempts
	// A port that refuses: listened on, then closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mon := l.Addr().String()
	l.Close()
	conf := filepath.Join(t.TempDir(), "ceph.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[global]\nmon_host = %s\nauth_client_required = none\n", mon), 0o600); err != nil {
		t.Fatal(err)
	}
	h := c.newHost("cmp1")
	h.cfg.ImagesType = agent.ImagesRBD
	h.cfg.RBD = rbd.Config{ConfFile: conf, Pool: "vms", ConnectTimeout: 2 * time.Second}
	d := newFake()
	h.mods = append(h.mods, func(a *agent.Agent) { a.Driver = d })
	h.start()
	defer h.stop()
	start := time.Now()
	i := c.place(h.name, c.guestImage(), nil, nil)
	got := c.waitFor(i.UUID, "in error or rescheduled", 3*time.Minute, func(i compute.Instance, err error) bool {
		return err == nil && (i.VMState == compute.Error || i.TaskState == compute.Scheduling && i.Host == "")
	})
	t.Logf("a failed build with its cluster unreachable, to %s: %v", got.VMState, time.Since(start).Round(10*time.Millisecond))
	if got.VMState != compute.Error || got.TaskState != compute.NoTask || got.Host != h.name {
		t.Fatalf("rescheduled with %s_disk perhaps left for the next host: %s", i.UUID, brief(got))
	}
	if got.Fault == nil || !strings.Contains(got.Fault.Message, "its root disk "+i.UUID+"_disk was not removed") ||
		!strings.Contains(got.Fault.Message, "cluster not reached") || !strings.Contains(got.Fault.Message, "not rescheduled") {
		t.Fatalf("fault: %+v", got.Fault)
	}
	t.Logf("fault: %s", got.Fault.Message)
	if n := d.called("spawn", i.UUID); n != 0 {
		t.Errorf("spawns: %d, want none", n)
	}
}
