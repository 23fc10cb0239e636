package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/gostack/gostack/storage/rbd"
)

// Cold moves (resize and migrate) go through the controller: the source
// powers the guest off and sends its disk, flattened into a standalone
// qcow2, to the compute API; the destination fetches it and builds the
// guest with the new flavor; the source keeps its stopped guest until
// the move is confirmed (then its orphan sweep removes it) or reverted
// (then it starts it again). No host talks to another.

// migration is the move under way of instance id, as the last host
// state said.
func (a *Agent) migration(id string) (compute.Migration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.migrations[id]
	return m, ok
}

// moveDiskURL is the compute API's route of instance id's moving disk.
func (a *Agent) moveDiskURL(ctx context.Context, id string) (string, error) {
	return a.hostURL(ctx, "/instances/"+url.PathEscape(id)+"/migration")
}

// migrateOut is resize_migrating, on the source: the guest is turned off
// (cleanly, as Nova's resize powers it off) and its disk sent; the
// guest stays, stopped, for a revert. A failure starts the guest again
// if it ran, and is reported as the task's error: the instance stays
// here as it was.
func (a *Agent) migrateOut(ctx context.Context, i compute.Instance) bool {
	start := time.Now()
	err := a.sendDisk(ctx, i)
	if ctx.Err() != nil {
		return true
	}
	rep := compute.InstanceReport{Task: i.TaskState, VMState: i.VMState}
	if err != nil {
		a.log().Warn("compute agent: the move's source failed; the instance stays", "instance", i.UUID, "err", err)
		rep.Error = "Resize of instance " + i.UUID + " failed on its source: " + err.Error()
		if i.VMState == compute.Active {
			if perr := a.Driver.PowerOn(ctx, i.UUID); perr != nil {
				a.log().Error("compute agent: start the guest again after a failed move", "instance", i.UUID, "err", perr)
			}
		}
	}
	rep.PowerState, _ = a.Driver.State(ctx, i.UUID)
	return a.endTask(ctx, i, rep, "a move's source", "disk sent for a move", start)
}

// endTask reports a task's end, logging the failure to report it as
// what, or done (when the task went well) with the time it took since
// start. It reports false when the report could not be sent.
func (a *Agent) endTask(ctx context.Context, i compute.Instance, rep compute.InstanceReport, what, done string, start time.Time) bool {
	if err := a.reportInstance(ctx, i.UUID, rep); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report "+what, "instance", i.UUID, "err", err)
		}
		return false
	}
	if rep.Error == "" && rep.Fault == nil {
		a.log().Info("compute agent: "+done, "instance", i.UUID, "took", time.Since(start))
	}
	return true
}

func (a *Agent) sendDisk(ctx context.Context, i compute.Instance) error {
	m, ok := a.migration(i.UUID)
	if !ok {
		return errors.New("the controller named no migration for it")
	}
	if p, err := a.Driver.State(ctx, i.UUID); err == nil && p == virt.PowerRunning {
		sctx, cancel := context.WithTimeout(ctx, a.Config.ShutdownTimeout)
		err := a.Driver.PowerOff(sctx, i.UUID, true)
		cancel()
		if err != nil {
			return fmt.Errorf("power off: %w", err)
		}
	}
	crashpoint.Hit("compute.agent.move.off")
	if i.RootVolume() != nil {
		// Booted from a volume: no local disk moves; the destination
		// connects the volumes.
		return nil
	}
	if a.rbdRoot(i) {
		// A disk on RBD stays where it is, shared (Nova's shared
		// storage path): a snapshot taken now is what a revert rolls
		// it back to, the new flavor's size included. One left by an
		// earlier move, or by this one's try before a kill (the guest
		// was off since), is taken again.
		cl, err := a.rbd(ctx)
		if err != nil {
			return err
		}
		name := rbdDiskName(i.UUID)
		if err := cl.RemoveImageSnapshot(ctx, name, resizeSnapshot); err != nil {
			return err
		}
		return cl.SnapshotImage(ctx, name, resizeSnapshot)
	}
	disk := filepath.Join(a.instanceDir(i.UUID), "disk")
	out := filepath.Join(a.instanceDir(i.UUID), "move-"+m.UUID+".qcow2")
	defer os.Remove(out)
	tmp := out + ".part"
	defer os.Remove(tmp)
	if b, err := exec.CommandContext(ctx, a.Config.QemuImg, "convert", "-U", "-f", "qcow2", "-O", "qcow2", disk, tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("qemu-img convert: %v: %s", err, strings.TrimSpace(string(b)))
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	u, err := a.moveDiskURL(ctx, i.UUID)
	if err != nil {
		return err
	}
	resp, err := a.sendFile(ctx, http.MethodPut, u, "application/octet-stream", out)
	if err != nil {
		return err
	}
	resp.Body.Close()
	crashpoint.Hit("compute.agent.move.sent")
	return nil
}

// migrateIn is resize_finish, on the destination: the disk the source
// sent is fetched (grown to the new flavor's root disk), the guest built
// with the new flavor and its ports, and the instance reported resized
// (VERIFY_RESIZE). The guest of an instance that was stopped is defined
// and never started (virt.Guest.Stopped, Nova's finish_migration with
// power_on=False): no boot on the destination. A failure removes what
// was made and sends the move back to its source.
func (a *Agent) migrateIn(ctx context.Context, i compute.Instance) bool {
	start := time.Now()
	m, _ := a.migration(i.UUID)
	var err error
	if m.Source == a.Config.Host {
		err = a.setAside(ctx, i.UUID, m.UUID)
	}
	if err == nil && i.RootVolume() == nil {
		var shared bool
		if shared, err = a.sharedDisk(ctx, i); err == nil && !shared {
			err = a.receiveDisk(ctx, i)
		}
	}
	if err == nil {
		err = a.spawn(ctx, i, m.OldVMState == compute.Stopped)
	}
	if ctx.Err() != nil {
		return true
	}
	rep := compute.InstanceReport{Task: i.TaskState, VMState: compute.Resized}
	if err != nil {
		// What this host made goes (on a resize on this same host, the
		// old disk comes back); the move goes back to the source, whose
		// guest is intact.
		a.log().Warn("compute agent: the move's destination failed; back to its source", "instance", i.UUID, "err", err)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		derr := a.Driver.Destroy(cctx, i.UUID)
		cancel()
		if derr == nil {
			if m.Source == a.Config.Host {
				derr = a.putBack(i.UUID, m.UUID)
			} else {
				derr = os.RemoveAll(a.instanceDir(i.UUID))
			}
		}
		if derr != nil {
			a.log().Warn("compute agent: undo a failed move here; retrying", "instance", i.UUID, "err", derr)
			return false
		}
		rep.Error = fmt.Sprintf("Resize of instance %s failed on its destination: %s", i.UUID, err)
	}
	rep.PowerState, _ = a.Driver.State(ctx, i.UUID)
	return a.endTask(ctx, i, rep, "a move's destination", "moved here", start)
}

// receiveDisk fetches the moving disk into the instance's directory
// (under another name, then renamed: a disk that exists is whole) and
// grows it to the flavor's root disk.
func (a *Agent) receiveDisk(ctx context.Context, i compute.Instance) error {
	dir := a.instanceDir(i.UUID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	disk := filepath.Join(dir, "disk")
	if !exists(disk) {
		u, err := a.moveDiskURL(ctx, i.UUID)
		if err != nil {
			return err
		}
		resp, err := a.send(ctx, http.MethodGet, u, "", nil)
		if err != nil {
			return fmt.Errorf("fetch the disk: %w", err)
		}
		defer resp.Body.Close()
		tmp := disk + ".part"
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return fmt.Errorf("fetch the disk: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := a.checkMovedDisk(ctx, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, disk); err != nil {
			return err
		}
	}
	crashpoint.Hit("compute.agent.move.received")
	size, err := a.virtualSize(ctx, cachedImage{Path: disk, Format: "qcow2"})
	if err != nil {
		return err
	}
	if want := i.Flavor.RootGB << 30; want > size {
		if b, err := exec.CommandContext(ctx, a.Config.QemuImg, "resize", "-f", "qcow2", disk, fmt.Sprint(want)).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img resize: %v: %s", err, strings.TrimSpace(string(b)))
		}
	}
	return nil
}

// sharedDisk reports whether instance i's root disk is where the move
// found it, on RBD (the source kept it there): the destination then
// fetches nothing. A source that keeps local disks sent its disk, which
// stays a local disk here, whatever this host keeps new disks on.
func (a *Agent) sharedDisk(ctx context.Context, i compute.Instance) (bool, error) {
	if !a.rbdRoot(i) {
		return false, nil
	}
	cl, err := a.rbd(ctx)
	if err != nil {
		return false, err
	}
	_, err = cl.ImageInfo(ctx, rbdDiskName(i.UUID))
	if errors.Is(err, rbd.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkMovedDisk refuses a moved disk that is not a standalone qcow2 (a
// backing file or an external data file could name any file of this
// host).
func (a *Agent) checkMovedDisk(ctx context.Context, path string) error {
	out, err := exec.CommandContext(ctx, a.Config.QemuImg, "info", "--output=json", "-f", "qcow2", path).Output()
	if err != nil {
		return fmt.Errorf("qemu-img info of the moved disk: %w", err)
	}
	var info struct {
		Backing  string `json:"backing-filename"`
		Specific struct {
			Data struct {
				DataFile string `json:"data-file"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return err
	}
	if info.Backing != "" || info.Specific.Data.DataFile != "" {
		return errors.New("the moved disk names another file (a backing or data file): refused")
	}
	return nil
}

// revert is resize_reverting: on the destination, its guest and files
// go and the instance goes back to the source; on the source, its
// stopped guest starts again if the instance ran (a server that was
// stopped gets its guest back stopped: one built again, after a resize
// on one host, is defined and never started), and the revert ends.
func (a *Agent) revert(ctx context.Context, i compute.Instance) bool {
	m, ok := a.migration(i.UUID)
	if !ok {
		a.log().Warn("compute agent: a revert with no migration; left as it is", "instance", i.UUID)
		return false
	}
	var err error
	rep := compute.InstanceReport{Task: i.TaskState}
	switch m.Status {
	case compute.MigrationReverting:
		if err = a.Driver.Destroy(ctx, i.UUID); err == nil {
			if m.Source == a.Config.Host {
				err = a.putBack(i.UUID, m.UUID) // a resize on one host: the old disk comes back
			} else {
				err = os.RemoveAll(a.instanceDir(i.UUID))
			}
		}
		rep.VMState, rep.PowerState = compute.Resized, virt.PowerNoState
	case compute.MigrationRevertSource:
		// A disk on RBD goes back to what it was when the move began
		// (its size too); the destination's guest is gone.
		if a.rbdRoot(i) {
			var cl *rbd.Client
			if cl, err = a.rbd(ctx); err == nil {
				err = cl.RollbackImage(ctx, rbdDiskName(i.UUID), resizeSnapshot)
			}
			if err != nil {
				break
			}
		}
		if p, serr := a.Driver.State(ctx, i.UUID); serr == nil && p == virt.PowerNoState {
			// A resize on one host removed the old guest: it is built
			// again on its disk, with the old flavor.
			err = a.spawn(ctx, i, m.OldVMState != compute.Active)
		} else {
			// The guest kept here still has its volumes; their
			// attachments get this host's connector back (the
			// destination's is theirs since the move).
			for _, x := range i.Volumes {
				if err == nil && x.Pending == "" && x.AttachmentID != "" {
					_, err = a.connectVolume(ctx, i, x)
				}
			}
			if p, serr := a.Driver.State(ctx, i.UUID); err == nil && m.OldVMState == compute.Active && (serr != nil || p != virt.PowerRunning) {
				err = a.Driver.PowerOn(ctx, i.UUID)
			}
		}
		rep.VMState = m.OldVMState
		rep.PowerState, _ = a.Driver.State(ctx, i.UUID)
	default:
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		a.log().Warn("compute agent: a revert step failed; retrying at the next sync", "instance", i.UUID, "status", m.Status, "err", err)
		return false
	}
	if err := a.reportInstance(ctx, i.UUID, rep); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report a revert", "instance", i.UUID, "err", err)
		}
		return false
	}
	a.log().Info("compute agent: revert step done", "instance", i.UUID, "status", m.Status)
	return true
}

// asidePrefix names where a resize on one host keeps the old disk until
// the move is confirmed or reverted: disk.resize-<migration uuid>.
const asidePrefix = "disk.resize-"

// setAside makes room for a resize on this same host: the old guest
// goes (its disk stays, set aside for a revert).
func (a *Agent) setAside(ctx context.Context, id, migration string) error {
	if err := a.Driver.Destroy(ctx, id); err != nil {
		return err
	}
	dir := a.instanceDir(id)
	if exists(filepath.Join(dir, asidePrefix+migration)) || !exists(filepath.Join(dir, "disk")) {
		return nil // set aside by an earlier try, or no local disk (booted from a volume)
	}
	return os.Rename(filepath.Join(dir, "disk"), filepath.Join(dir, asidePrefix+migration))
}

// putBack undoes setAside after the new guest is gone: the old disk is
// the instance's again.
func (a *Agent) putBack(id, migration string) error {
	dir := a.instanceDir(id)
	if !exists(filepath.Join(dir, asidePrefix+migration)) {
		return nil // put back by an earlier try
	}
	for _, f := range []string{"disk", "config.iso"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return os.Rename(filepath.Join(dir, asidePrefix+migration), filepath.Join(dir, "disk"))
}

// dropAside removes the old disks of resizes on this host whose move is
// no longer under way (confirmed; a revert has put its disk back).
func (a *Agent) dropAside(want map[string]compute.Instance) {
	for id := range want {
		m, moving := a.migration(id)
		old, _ := filepath.Glob(filepath.Join(a.instanceDir(id), asidePrefix+"*"))
		for _, p := range old {
			if moving && filepath.Base(p) == asidePrefix+m.UUID {
				continue
			}
			if err := os.Remove(p); err == nil {
				a.log().Info("compute agent: removed the old disk of a resize that ended", "instance", id, "file", filepath.Base(p))
			}
		}
	}
}

// keptHere are the instances whose guests stay on this host though the
// instance is elsewhere: the sources of moves not yet confirmed.
func (a *Agent) keptHere() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]bool{}
	for id, m := range a.migrations {
		if m.Source == a.Config.Host {
			out[id] = true
		}
	}
	return out
}
