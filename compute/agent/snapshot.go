package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/kit/crashpoint"
)

// snapshot is the image_snapshot_pending task (Nova's createImage): the
// guest's disk, flattened with its base into a standalone qcow2, is
// sent as the data of the snapshot's image, which the API made queued.
// A running guest is paused while its disk is read (QEMU drains and
// flushes its disks when it stops the guest), so the image is what a
// crash at that instant would leave, and resumed at once: the pause
// lasts the copy, not the upload; for a disk on RBD it lasts only the
// RBD snapshot the copy then reads. The instance keeps its vm_state; a
// failure is reported as the task's error, and the controller deletes
// the image, as Nova's compute manager does.
func (a *Agent) snapshot(ctx context.Context, i compute.Instance) bool {
	start := time.Now()
	err := a.takeSnapshot(ctx, i)
	if ctx.Err() != nil {
		return true
	}
	p, serr := a.Driver.State(ctx, i.UUID)
	if serr != nil {
		p = i.PowerState
	}
	rep := compute.InstanceReport{Task: i.TaskState, VMState: i.VMState, PowerState: p}
	if err != nil {
		a.log().Warn("compute agent: snapshot failed; the instance stays as it was", "instance", i.UUID, "err", err)
		rep.Error = "Snapshot of instance " + i.UUID + " failed: " + err.Error()
	}
	return a.endTask(ctx, i, rep, "a snapshot", "snapshot done", start)
}

func (a *Agent) takeSnapshot(ctx context.Context, i compute.Instance) error {
	a.mu.Lock()
	image := a.snapshots[i.UUID]
	a.mu.Unlock()
	if image == "" {
		return errors.New("the controller named no image for it")
	}
	out := filepath.Join(a.instanceDir(i.UUID), "snapshot-"+image+".qcow2")
	defer os.Remove(out)
	var freeze func(ctx context.Context) error
	var copy func(ctx context.Context, tmp string) error
	if a.rbdRoot(i) {
		// While the guest is paused, only an RBD snapshot of the disk
		// is taken (milliseconds); the guest runs again while the
		// snapshot is read through librbd into a sparse raw file, then
		// made a qcow2 as a local disk's snapshot is (the image the API
		// made is qcow2 whatever holds the disk). The RBD snapshot is
		// removed whatever happens; one a kill left goes at the first
		// sync (sweepRBD).
		cl, err := a.rbd(ctx)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(a.instanceDir(i.UUID), 0o711); err != nil {
			return err
		}
		name, snap := rbdDiskName(i.UUID), imageSnapshotPrefix+image
		// One an earlier try left is older than the disk: not read.
		if err := cl.RemoveImageSnapshot(ctx, name, snap); err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := cl.RemoveImageSnapshot(cctx, name, snap); err != nil {
				a.log().Warn("compute agent: the snapshot's RBD snapshot is left for the first sync after a restart", "instance", i.UUID, "snapshot", name+"@"+snap, "err", err)
			}
		}()
		freeze = func(ctx context.Context) error { return cl.SnapshotImage(ctx, name, snap) }
		copy = func(ctx context.Context, tmp string) error {
			crashpoint.Hit("compute.agent.snapshot.taken")
			raw := tmp + ".raw"
			defer os.Remove(raw)
			if _, err := cl.ExportImageSnapshot(ctx, name, snap, raw); err != nil {
				return err
			}
			return a.qemuImgConvert(ctx, "raw", raw, tmp)
		}
	} else {
		disk := filepath.Join(a.instanceDir(i.UUID), "disk")
		if !exists(disk) {
			return errors.New("the instance has no disk on this host")
		}
		copy = func(ctx context.Context, tmp string) error { return a.qemuImgConvert(ctx, "qcow2", disk, tmp) }
	}
	if err := a.copyDisk(ctx, i, freeze, copy, out); err != nil {
		return err
	}
	crashpoint.Hit("compute.agent.snapshot.copied")
	u, err := a.hostURL(ctx, "/instances/"+url.PathEscape(i.UUID)+"/snapshot")
	if err != nil {
		return err
	}
	resp, err := a.sendFile(ctx, http.MethodPut, u, "application/octet-stream", out)
	if err != nil {
		if msg := apiMessage(err); msg != "" {
			return errors.New(msg) // the image service's words: a refused image
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// copyDisk writes the guest's disk, with its base, as a standalone
// qcow2 at out. The guest, if it runs, is paused while freeze runs (a
// snapshot of the disk, after which copy reads the snapshot with the
// guest running again), or, with no freeze, while copy runs; it is
// resumed after, also if an earlier try paused it and died (the
// instance is active).
func (a *Agent) copyDisk(ctx context.Context, i compute.Instance, freeze func(ctx context.Context) error, copy func(ctx context.Context, tmp string) error, out string) error {
	id := i.UUID
	paused := false
	var pausedAt time.Time
	switch p, err := a.Driver.State(ctx, id); {
	case err == nil && p == virt.PowerRunning:
		pausedAt = time.Now()
		switch err := virt.Pause(ctx, a.Driver, id); {
		case err == nil:
			paused = true
		case !errors.Is(err, virt.ErrNotSupported):
			return fmt.Errorf("pause for the snapshot: %w", err)
		}
	case err == nil && p == virt.PowerPaused && i.VMState == compute.Active:
		paused = true
	}
	tmp := out + ".part"
	defer os.Remove(tmp)
	var err error
	if freeze != nil {
		err = freeze(ctx)
	} else {
		err = copy(ctx, tmp)
	}
	if paused {
		// Resumed whatever the copy did; a cancelled task still resumes.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		uerr := virt.Unpause(uctx, a.Driver, id)
		cancel()
		if uerr != nil {
			a.log().Error("compute agent: resume after a snapshot", "instance", id, "err", uerr)
		} else {
			a.log().Info("compute agent: guest resumed after the snapshot's pause", "instance", id, "paused", time.Since(pausedAt).Round(time.Millisecond))
		}
	}
	if err != nil {
		return err
	}
	if freeze != nil {
		if err := copy(ctx, tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, out)
}

// qemuImgConvert writes the disk at src, of format, flattened with its
// base, as a standalone qcow2 at dst (-U: QEMU holds a local disk's lock
// while the guest exists).
func (a *Agent) qemuImgConvert(ctx context.Context, format, src, dst string) error {
	b, err := exec.CommandContext(ctx, a.Config.QemuImg, "convert", "-U", "-f", format, "-O", "qcow2", src, dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img convert: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}
