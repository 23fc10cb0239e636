package agent_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/compute/virt"
)

// The heartbeat registers the host's service and node (the uuid kept in
// StateDir/node_uuid, the driver's hypervisor) with the host's
// resources as inventory, the reserved amounts and ratios of the
// configuration; a restarted agent keeps the node.
func TestNodeReport(t *testing.T) {
	c := newController(t)
	h := c.newHost("cmp1", func(a *agent.Agent) {
		a.Config.Reserved = agent.Reserved{CPUs: 1, DiskMB: 1500}
		a.Config.Ratios = compute.Ratios{Override: map[string]float64{placement.MemoryMB: 1.5}}
		a.Config.HostIP = "192.0.2.10"
	})
	h.start()
	ctx := context.Background()
	var n compute.ComputeNode
	var inv map[string]placement.Inventory
	eventually(t, "the node report", func() bool {
		var err error
		if n, err = c.store.NodeByHost(ctx, "cmp1"); err != nil {
			return false
		}
		u, err := c.store.NodeUsages(ctx, []string{n.UUID})
		inv = u[n.UUID].Inventories
		return err == nil && len(inv) == 3
	})
	b, err := os.ReadFile(filepath.Join(h.dir, "node_uuid"))
	if err != nil || strings.TrimSpace(string(b)) != n.UUID {
		t.Fatalf("node uuid %s, StateDir has %q (%v)", n.UUID, b, err)
	}
	if n.HypervisorType != "QEMU" || n.HypervisorVersion < 1000000 || n.HypervisorHostname != "cmp1" || n.HostIP != "192.0.2.10" ||
		n.VCPUs < 1 || n.MemoryMB < 256 || n.LocalGB < 1 || !strings.Contains(n.CPUInfo, `"arch":"x86_64"`) {
		t.Fatalf("node %+v", n)
	}
	for class, want := range map[string]placement.Inventory{
		placement.VCPU:     {Total: n.VCPUs, Reserved: 1, AllocationRatio: 4},
		placement.MemoryMB: {Total: n.MemoryMB, Reserved: 512, AllocationRatio: 1.5},
		placement.DiskGB:   {Total: n.LocalGB, Reserved: 2, AllocationRatio: 1},
	} {
		got := inv[class]
		if got.Total != want.Total || got.Reserved != min(want.Reserved, want.Total) || got.AllocationRatio != want.AllocationRatio ||
			got.MaxUnit != want.Total || got.MinUnit != 1 || got.StepSize != 1 {
			t.Errorf("%s: %+v, want total %d reserved %d ratio %v", class, got, want.Total, want.Reserved, want.AllocationRatio)
		}
	}
	svcs, err := c.store.Services(ctx, compute.NovaCompute, "cmp1")
	if err != nil || len(svcs) != 1 {
		t.Fatalf("services %+v %v", svcs, err)
	}
	seen := svcs[0].ReportCount
	h.stop()
	h.start()
	eventually(t, "the restarted agent's report", func() bool {
		svcs, err := c.store.Services(ctx, compute.NovaCompute, "cmp1")
		return err == nil && svcs[0].ReportCount > seen
	})
	if again, err := c.store.NodeByHost(ctx, "cmp1"); err != nil || again.UUID != n.UUID || again.ID != n.ID {
		t.Fatalf("node after a restart: %+v %v, was %s", again, err, n.UUID)
	}
}

// Guests and instance directories of instances the host does not have
// (deleted while the agent was down) are removed at the first sync; the
// guest of an instance it has is left running, and no power state is
// reported for it.
func TestOrphans(t *testing.T) {
	c := newController(t)
	h := c.newHost("cmp1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newDriver(t, h)
	// An instance of the host, active, with a guest (disk-less: SeaBIOS
	// waits for a disk).
	kept := c.place(h.name, uuid.NewString(), nil, nil)
	if _, err := c.store.ReportInstance(ctx, h.name, kept.UUID, compute.InstanceReport{Task: compute.Spawning,
		VMState: compute.Active, PowerState: compute.PowerRunning}); err != nil {
		t.Fatal(err)
	}
	orphan := uuid.NewString()
	for _, id := range []string{kept.UUID, orphan} {
		if err := d.Spawn(ctx, virt.Guest{ID: id, Name: "tiny", VCPUs: 1, MemoryMB: 32}); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(h.dir, "instances", id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dirOnly := filepath.Join(h.dir, "instances", uuid.NewString()) // a build cut short, its instance since gone
	if err := os.MkdirAll(dirOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	keptPid := qemuPid(h.qemuDir, kept.UUID)
	mark := c.reqs.mark()
	h.start()
	h.waitFirstSync()
	for _, gone := range []string{filepath.Join(h.qemuDir, orphan), filepath.Join(h.dir, "instances", orphan), dirOnly} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s not removed (%v)", gone, err)
		}
	}
	if qemuPid(h.qemuDir, orphan) != 0 {
		t.Error("the orphan's QEMU still runs")
	}
	if p := qemuPid(h.qemuDir, kept.UUID); p == 0 || p != keptPid {
		t.Errorf("the kept guest's QEMU is %d, was %d", p, keptPid)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "instances", kept.UUID)); err != nil {
		t.Errorf("the kept instance's directory: %v", err)
	}
	if r := c.reqs.since(mark, "/power"); len(r) > 0 {
		t.Errorf("power reported for a guest that is right: %v", r)
	}
}

// newDriver is a driver over h's QEMU directory for the test itself.
func newDriver(t *testing.T, h *host) virt.Driver {
	t.Helper()
	d, err := qemu.New(qemu.Config{StateDir: h.qemuDir, Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A build that cannot be done ends in error with Nova's fault and
// leaves no guest, disk or cached image: an image the image service
// does not have, one whose data does not match its checksum, a flavor
// disk smaller than the image, a qcow2 image with a backing file or an
// external data file (either could name any file of the host), an image
// that is not raw or qcow2.
// Only the checksum is the host's failure (its download), which another
// host may not have: it is sent back to be rescheduled, with its fault
// kept for the next try; the others are the request's and end in error.
func TestBuildFails(t *testing.T) {
	c := newController(t)
	c.store.MaxBuildAttempts = compute.DefaultMaxBuildAttempts
	h := c.newHost("cmp1")
	h.start()
	dir := t.TempDir()
	big, evil := filepath.Join(dir, "big.qcow2"), filepath.Join(dir, "evil.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", big, "2G")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", evil, "1M")
	// A qcow2 whose data is a file of the host (CVE-2024-32498): an
	// overlay on it would read that file into the guest's disk.
	dataFile, hostFile := filepath.Join(dir, "evil-data.qcow2"), filepath.Join(dir, "host-secret")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+hostFile+",data_file_raw=on", dataFile, "1M")
	if err := os.WriteFile(hostFile, []byte("a secret of the host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, image, want string
	}{
		{"no such image", uuid.NewString(), "could not be found."},
		{"checksum", c.images.add(t, os.Args[0], "raw", "0123456789abcdef0123456789abcdef"), "checksum"},
		{"disk too small", c.images.add(t, big, "qcow2", ""), "flavor's disk is too small for the image"},
		{"backing file", c.images.add(t, evil, "qcow2", ""), "has a backing file: refused"},
		{"data file", c.images.add(t, dataFile, "qcow2", ""), "has an external data file: refused"},
		{"vmdk", c.images.add(t, os.Args[0], "vmdk", ""), `disk format "vmdk" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := c.place(h.name, tc.image, nil, nil)
			if tc.name == "checksum" {
				c.waitFor(i.UUID, "sent back to the scheduler", time.Minute, func(i compute.Instance, err error) bool {
					return err == nil && i.TaskState == compute.Scheduling && i.Host == ""
				})
				r, err := c.store.BuildRetry(context.Background(), i.UUID)
				if err != nil || len(r.Hosts) != 1 || r.Hosts[0] != h.name || !strings.HasPrefix(r.Faults[0], "Build of instance "+i.UUID+" aborted: ") ||
					!strings.Contains(r.Faults[0], tc.want) {
					t.Fatalf("retry record %+v %v", r, err)
				}
				t.Logf("fault: %s", r.Faults[0])
			} else {
				got := c.waitFor(i.UUID, "in error", time.Minute, func(i compute.Instance, err error) bool {
					return err == nil && i.VMState == compute.Error
				})
				if got.TaskState != compute.NoTask || got.Fault == nil || got.Fault.Code != 500 ||
					!strings.HasPrefix(got.Fault.Message, "Build of instance "+i.UUID+" aborted: ") || !strings.Contains(got.Fault.Message, tc.want) {
					t.Fatalf("instance %s", brief(got))
				}
				t.Logf("fault: %s", got.Fault.Message)
			}
			for _, gone := range []string{filepath.Join(h.qemuDir, i.UUID), filepath.Join(h.dir, "instances", i.UUID)} {
				if _, err := os.Stat(gone); !os.IsNotExist(err) {
					t.Errorf("%s left by a failed build (%v)", gone, err)
				}
			}
			if parts, _ := filepath.Glob(filepath.Join(h.dir, "images", ".*")); len(parts) > 0 {
				t.Errorf("downloads left: %v", parts)
			}
			if cached := exists(filepath.Join(h.dir, "images", tc.image)); cached != (tc.want == "flavor's disk is too small for the image" || strings.HasSuffix(tc.want, "file: refused")) {
				t.Errorf("image cached: %v", cached)
			}
		})
	}
}

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v: %s", args, err, out)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
