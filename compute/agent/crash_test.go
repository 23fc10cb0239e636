package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/crashpoint"
)

// The agent killed at each point of a build and of a delete — the image
// cached, the disk made, the guest spawned but not reported, the guest
// destroyed but not reported — converges when it starts again over the
// same directories: the build ends ACTIVE without a second QEMU, the
// delete ends with nothing left.
func TestCrashPoints(t *testing.T) {
	c := newController(t)
	h := c.newHost("cmp1")
	image := c.guestImage()
	// crash runs the agent as a process with point armed, does act, and
	// waits for the process to kill itself there.
	crash := func(t *testing.T, point string, act func()) {
		t.Helper()
		exited := h.startProcess(crashpoint.Env + "=" + point)
		act()
		h.waitKilled(t, exited, point)
	}
	instanceDir := func(id string) string { return filepath.Join(h.dir, "instances", id) }
	// build crashes at point, then checks what the restarted agent makes
	// of it.
	build := func(t *testing.T, point string, check func(compute.Instance)) compute.Instance {
		var i compute.Instance
		crash(t, point, func() { i = c.place(h.name, image, nil, nil) })
		if got, err := c.instance(i.UUID); err != nil || got.TaskState != compute.Spawning {
			t.Fatalf("after the crash: %s %v", brief(got), err)
		}
		check(i)
		mark := c.reqs.mark()
		restart := time.Now()
		h.start()
		c.waitState(i.UUID, compute.Active, compute.PowerRunning, boot)
		t.Logf("restart to ACTIVE: %v", time.Since(restart).Round(time.Millisecond))
		// One report, the build's (console tails aside).
		var reports []string
		for _, r := range c.reqs.since(mark, "PUT", "/instances/"+i.UUID) {
			if !strings.HasSuffix(r, "/console") {
				reports = append(reports, r)
			}
		}
		if len(reports) != 1 || reports[0] != "PUT /internal/compute/hosts/cmp1/instances/"+i.UUID {
			t.Errorf("reports after the restart: %v", reports)
		}
		return i
	}
	remove := func(t *testing.T, i compute.Instance) {
		c.action(i.UUID, "delete")
		c.waitGone(i.UUID, time.Minute)
		h.stop()
	}

	t.Run("compute.agent.image", func(t *testing.T) {
		i := build(t, "compute.agent.image", func(compute.Instance) {
			if !exists(filepath.Join(h.dir, "images", image)) {
				t.Fatal("the image is not cached")
			}
		})
		if n := c.images.downloads(image); n != 1 {
			t.Errorf("%d downloads of the image", n)
		}
		remove(t, i)
	})
	t.Run("compute.agent.disk", func(t *testing.T) {
		i := build(t, "compute.agent.disk", func(i compute.Instance) {
			if !exists(filepath.Join(instanceDir(i.UUID), "disk")) || exists(filepath.Join(h.qemuDir, i.UUID)) {
				t.Fatal("want a disk and no guest")
			}
		})
		remove(t, i)
	})
	var spawned compute.Instance
	t.Run("compute.agent.spawned", func(t *testing.T) {
		var pid int
		spawned = build(t, "compute.agent.spawned", func(i compute.Instance) {
			if pid = qemuPid(h.qemuDir, i.UUID); pid == 0 {
				t.Fatal("no QEMU after the spawn")
			}
		})
		if p := qemuPid(h.qemuDir, spawned.UUID); p != pid {
			t.Fatalf("QEMU pid %d, was %d at the crash: the guest was started again", p, pid)
		}
		h.stop()
	})
	t.Run("compute.agent.destroyed", func(t *testing.T) {
		if spawned.UUID == "" {
			t.Skip("no guest from the previous step")
		}
		id := spawned.UUID
		crash(t, "compute.agent.destroyed", func() { c.action(id, "delete") })
		if got, err := c.instance(id); err != nil || got.TaskState != compute.Deleting {
			t.Fatalf("after the crash: %s %v", brief(got), err)
		}
		if qemuPid(h.qemuDir, id) != 0 || !exists(instanceDir(id)) {
			t.Fatal("want the guest gone and its files there")
		}
		restart := time.Now()
		h.start()
		c.waitGone(id, time.Minute)
		t.Logf("restart to deleted: %v", time.Since(restart).Round(time.Millisecond))
		if _, err := os.Stat(instanceDir(id)); !os.IsNotExist(err) {
			t.Errorf("the instance's files are left (%v)", err)
		}
		h.stop()
	})
}
