package agent_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
)

// boot bounds a build of the tiny guest under TCG on a busy host, and
// its boot to the ready line.
const boot = 3 * time.Minute

// TestLifecycle drives one instance of the tiny guest image through the
// agent, with the real compute store and internal API: a build to
// ACTIVE whose console tail reaches the controller (the config drive's
// hostname, the user data run), stop (the guest's own clean shut-down),
// start, hard reboot, pause, suspend, a restart of the agent that
// adopts the guest without touching it or reporting anything, a power
// state the guest changed behind the agent's back, and the delete.
func TestLifecycle(t *testing.T) {
	c := newController(t)
	h := c.newHost("cmp1")
	h.start()
	image := c.guestImage()

	start := time.Now()
	i := c.place(h.name, image, nil, nil)
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
	t.Logf("placed to ACTIVE: %v", time.Since(start).Round(10*time.Millisecond))
	console := c.waitConsole(i.UUID, "gostack-guest: ready", boot)
	t.Logf("placed to the ready line in the controller's console tail: %v", time.Since(start).Round(10*time.Millisecond))
	for _, want := range []string{
		"gostack-guest: metadata from config drive: uuid " + i.UUID,
		"gostack-guest: hostname vm-agent-1",
		"gostack-guest: ssh keys 1",
		"user-data-ran-42",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console tail lacks %q:\n%s", want, console)
		}
	}
	if n := c.images.downloads(image); n != 1 {
		t.Errorf("%d downloads of the image", n)
	}
	checkDisk(t, h, i.UUID, image)

	c.action(i.UUID, "stop")
	c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 2*time.Minute)
	if !strings.Contains(c.waitConsole(i.UUID, "powering off", time.Minute), "gostack-guest: power button: powering off") {
		t.Error("the stop was not the guest's own shut-down")
	}
	c.action(i.UUID, "start")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	c.action(i.UUID, "reboot_hard")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	c.action(i.UUID, "pause")
	c.waitState(i.UUID, compute.Paused, compute.PowerPaused, time.Minute)
	c.action(i.UUID, "unpause")
	c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)
	c.action(i.UUID, "suspend")
	c.waitState(i.UUID, compute.Suspended, compute.PowerSuspended, time.Minute)
	c.action(i.UUID, "resume")
	before := c.waitState(i.UUID, compute.Active, compute.PowerRunning, time.Minute)

	t.Run("restart adopts", func(t *testing.T) {
		pid := qemuPid(h.qemuDir, i.UUID)
		if pid == 0 {
			t.Fatal("no QEMU runs the guest")
		}
		h.stop()
		mark := c.reqs.mark()
		restart := time.Now()
		h.start()
		h.waitFirstSync()
		t.Logf("restart to the first sync: %v", time.Since(restart).Round(time.Millisecond))
		time.Sleep(3 * time.Second) // a few more syncs
		if p := qemuPid(h.qemuDir, i.UUID); p != pid {
			t.Fatalf("QEMU pid %d after the restart, was %d", p, pid)
		}
		if r := c.reqs.since(mark, "PUT", "/instances/"); len(r) > 0 {
			for _, req := range r {
				if !strings.HasSuffix(req, "/console") {
					t.Errorf("the restarted agent reported %s", req)
				}
			}
		}
		after, err := c.instance(i.UUID)
		if err != nil || after.Revision != before.Revision {
			t.Fatalf("the instance changed with the restart: revision %d, was %d (%v)", after.Revision, before.Revision, err)
		}
	})

	t.Run("power sync", func(t *testing.T) {
		// The guest goes off behind the agent's back: the periodic sync
		// reports it and the controller stops the instance.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.driver.PowerOff(ctx, i.UUID, false); err != nil {
			t.Fatal(err)
		}
		c.waitState(i.UUID, compute.Stopped, compute.PowerShutdown, 30*time.Second)
	})

	c.action(i.UUID, "delete")
	c.waitGone(i.UUID, time.Minute)
	for _, dir := range []string{filepath.Join(h.dir, "instances", i.UUID), filepath.Join(h.qemuDir, i.UUID)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s left after the delete (%v)", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "images", image)); err != nil {
		t.Errorf("the cached image went with the instance: %v", err)
	}
}

// waitConsole waits until the controller's console tail of id contains
// want, and returns it.
func (c *controller) waitConsole(id, want string, limit time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := c.console(id)
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("console tail of %s lacks %q after %v:\n%s", id, want, limit, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkDisk: the root disk is a qcow2 overlay of the flavor's 1 GiB on
// the cached image, declared raw.
func checkDisk(t *testing.T, h *host, id, image string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "--output=json", "-U", filepath.Join(h.dir, "instances", id, "disk")).Output()
	if err != nil {
		t.Fatalf("qemu-img info: %v", err)
	}
	var info struct {
		Format        string `json:"format"`
		VirtualSize   int64  `json:"virtual-size"`
		Backing       string `json:"full-backing-filename"`
		BackingFormat string `json:"backing-filename-format"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 1<<30 || info.Backing != filepath.Join(h.dir, "images", image) || info.BackingFormat != "raw" {
		t.Errorf("root disk: %s", out)
	}
}
