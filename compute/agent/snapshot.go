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
// lasts the copy, not the upload. The instance keeps its vm_state; a
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
	var copy func(ctx context.Context, tmp string) error
	if a.rbdRoot(i) {
		// The RBD disk read through librbd into a sparse raw file,
		// then made a qcow2 as a local disk's snapshot is: the image
		// the API made is qcow2 whatever holds the disk.
		cl, err := a.rbd(ctx)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(a.instanceDir(i.UUID), 0o711); err != nil {
			return err
		}
		copy = func(ctx context.Context, tmp string) error {
			raw := tmp + ".raw"
			defer os.Remove(raw)
			if _, err := cl.ExportImage(ctx, rbdDiskName(i.UUID), raw); err != nil {
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
	if err := a.copyDisk(ctx, i, copy, out); err != nil {
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
// qcow2 at out, the guest paused meanwhile if it runs (or resumed after,
// if an earlier try paused it and died: the instance is active).
func (a *Agent) copyDisk(ctx context.Context, i compute.Instance, copy func(ctx context.Context, tmp string) error, out string) error {
	id := i.UUID
	paused := false
	switch p, err := a.Driver.State(ctx, id); {
	case err == nil && p == virt.PowerRunning:
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
	err := copy(ctx, tmp)
	if paused {
		// Resumed whatever the copy did; a cancelled task still resumes.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		uerr := virt.Unpause(uctx, a.Driver, id)
		cancel()
		if uerr != nil {
			a.log().Error("compute agent: resume after a snapshot", "instance", id, "err", uerr)
		}
	}
	if err != nil {
		return err
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
