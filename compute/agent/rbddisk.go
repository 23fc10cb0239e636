package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/storage/rbd"
)

// Root disks on Ceph RBD (Config.ImagesType "rbd", Nova's libvirt
// images_type=rbd): instance id's root disk is the RBD image
// "<id>_disk" in Config.RBD.Pool, which the guest reaches through QEMU's
// librbd as a network disk. It is made once, and complete whenever it
// exists: a copy-on-write clone of the image's snapshot when the image
// service keeps the image on the same cluster (Nova's direct clone),
// otherwise the cached image's raw content imported into
// "<id>_disk.partial" and renamed. Every host of the cluster reaches
// it, so a move keeps it where it is (Nova's shared storage path).

// rbdDiskName is instance id's root disk, as Nova's RBD image backend
// names it.
func rbdDiskName(id string) string { return id + "_disk" }

// resizeSnapshot is the snapshot a move takes of the disk on its source
// (Nova's RESIZE_SNAPSHOT_NAME): a revert rolls the disk back to it, a
// confirm removes it.
const resizeSnapshot = "nova-resize"

// imageSnapshotPrefix begins the name of the RBD snapshot of the disk a
// snapshot of the instance (createImage) reads, "nova-snapshot-<image
// id>": taken while the guest is paused, read once it runs again, then
// removed.
const imageSnapshotPrefix = "nova-snapshot-"

// rbdRoot reports whether instance i's root disk is on RBD here: the
// host keeps root disks there, i has no root volume, and no local disk
// of it is there (one made before the host turned to RBD stays used).
func (a *Agent) rbdRoot(i compute.Instance) bool {
	return a.Config.ImagesType == ImagesRBD && i.RootVolume() == nil && !exists(filepath.Join(a.instanceDir(i.UUID), "disk"))
}

// rbd is the root disks' cluster, connected at its first use.
func (a *Agent) rbd(ctx context.Context) (*rbd.Client, error) {
	a.rbdMu.Lock()
	defer a.rbdMu.Unlock()
	if a.rbdc != nil {
		return a.rbdc, nil
	}
	cfg := a.Config.RBD
	if a.RBDConfig != nil {
		var err error
		if cfg, err = a.RBDConfig(ctx); err != nil {
			return nil, fmt.Errorf("root disks on rbd: %w", err)
		}
		if cfg.Pool == "" {
			cfg.Pool = "vms"
		}
	}
	cl, err := rbd.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("root disks on rbd: %w", err)
	}
	a.log().Info("compute agent: connected to the root disks' Ceph cluster", "fsid", cl.FSID(), "pool", cl.Config().Pool, "user", cl.Config().User)
	a.rbdc = cl
	return cl, nil
}

// closeRBD ends the cluster connection, if any.
func (a *Agent) closeRBD() {
	a.rbdMu.Lock()
	defer a.rbdMu.Unlock()
	if a.rbdc != nil {
		a.rbdc.Close()
		a.rbdc = nil
	}
}

// rbdDisk makes instance i's root disk on RBD if it is not there, grows
// it to the flavor's root_gb, and returns it as the guest's disk.
func (a *Agent) rbdDisk(ctx context.Context, i compute.Instance) (virt.Disk, error) {
	cl, err := a.rbd(ctx)
	if err != nil {
		return virt.Disk{}, err
	}
	name := rbdDiskName(i.UUID)
	want := i.Flavor.RootGB << 30
	in, err := cl.ImageInfo(ctx, name)
	if errors.Is(err, rbd.ErrNotFound) {
		if err := a.makeRBDDisk(ctx, cl, i, name); err != nil {
			return virt.Disk{}, err
		}
		in, err = cl.ImageInfo(ctx, name)
	}
	if err != nil {
		return virt.Disk{}, err
	}
	// Made before (a build tried again, a move's destination): whole,
	// as a clone or an import is renamed to the name only once made;
	// only grown, never shrunk.
	if want > in.Size {
		if err := cl.GrowImage(ctx, name, want); err != nil {
			return virt.Disk{}, err
		}
	}
	return a.rbdGuestDisk(ctx, cl, name)
}

// makeRBDDisk makes image name from i's image: a clone of the image's
// RBD snapshot when the image service names one this cluster holds and
// the image is raw, otherwise (or when the clone fails, as Nova falls
// back to a fetch) an import of the cached image (converted to raw
// first when it is qcow2). Either is of the flavor's root_gb when that
// is larger than the image.
func (a *Agent) makeRBDDisk(ctx context.Context, cl *rbd.Client, i compute.Instance, name string) error {
	want := i.Flavor.RootGB << 30
	if loc, size, ok := a.cloneable(ctx, cl, i.ImageRef); ok {
		if i.Flavor.RootGB > 0 && want < size {
			return abortError{fmt.Errorf("flavor's disk is too small for the image: flavor disk is %d bytes, image is %d bytes", want, size)}
		}
		err := cl.CloneImageTo(ctx, name, loc, max(size, want))
		if err == nil {
			a.log().Info("compute agent: root disk cloned from the image", "instance", i.UUID, "image", i.ImageRef, "disk", cl.Config().Pool+"/"+name)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The clone is made as <name>.partial and renamed once whole
		// (librbd makes the child before it attaches its parent), so
		// no half-made clone is under the disk's name: the import
		// removes what is left of it.
		a.log().Warn("compute agent: root disk not cloned; importing the image", "instance", i.UUID, "image", i.ImageRef, "err", err)
	}
	img, err := a.image(ctx, i.ImageRef)
	if err != nil {
		return err
	}
	size, err := a.virtualSize(ctx, img)
	if err != nil {
		return err
	}
	if i.Flavor.RootGB > 0 && want < size {
		return abortError{fmt.Errorf("flavor's disk is too small for the image: flavor disk is %d bytes, image is %d bytes", want, size)}
	}
	src := img.Path
	if img.Format != "raw" {
		// qemu-img writes the raw content next to the instance's files;
		// a file left by a kill is written again.
		src = filepath.Join(a.instanceDir(i.UUID), "disk.raw.part")
		defer os.Remove(src)
		if out, err := exec.CommandContext(ctx, a.Config.QemuImg, "convert", "-q", "-f", img.Format, "-O", "raw", img.Path, src).CombinedOutput(); err != nil {
			return fmt.Errorf("qemu-img convert to raw: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	// A half-made import a killed agent's client still holds (its watch
	// lasts until the OSDs time it out, 30 s) is no failure of this
	// build: it waits for it.
	for {
		err := cl.ImportImage(ctx, name, src, min(fi.Size(), size), max(size, want))
		if err == nil {
			break
		}
		if !errors.Is(err, rbd.ErrLeftover) {
			return fmt.Errorf("import the image: %w", err)
		}
		a.log().Info("compute agent: a half-made root disk is still held; trying again in 2 s", "instance", i.UUID, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	a.log().Info("compute agent: root disk imported from the image", "instance", i.UUID, "image", i.ImageRef, "disk", cl.Config().Pool+"/"+name)
	return nil
}

// cloneable is the rbd:// location of image id a disk can be cloned
// from, with the image's size: the image is raw, and the compute API
// names a location (HEAD of the internal image route, X-Image-Location)
// of this cluster's that the client can open. ok false otherwise (the
// image is then fetched), as Nova's _try_fetch_image_cache tries clone.
func (a *Agent) cloneable(ctx context.Context, cl *rbd.Client, id string) (loc string, size int64, ok bool) {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return "", 0, false // the fetch says why
	}
	base, err := a.computeURL(ctx)
	if err != nil {
		return "", 0, false
	}
	resp, err := a.send(ctx, http.MethodHead, base+"/internal/compute/images/"+id, "", nil)
	if err != nil {
		a.log().Info("compute agent: image not cloned", "image", id, "err", err)
		return "", 0, false
	}
	resp.Body.Close()
	if resp.Header.Get("X-Image-Disk-Format") != "raw" {
		return "", 0, false // Nova clones raw images only
	}
	size, err = strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		size = resp.ContentLength
	}
	if size <= 0 {
		return "", 0, false
	}
	for _, l := range resp.Header.Values("X-Image-Location") {
		if err := cl.Cloneable(ctx, l); err != nil {
			a.log().Info("compute agent: image not cloneable", "image", id, "location", l, "err", err)
			continue
		}
		return l, size, true
	}
	return "", 0, false
}

// rbdGuestDisk is image name as a guest's network disk, in the shape of
// Cinder's RBD connection info (virt.Disk): the monitors, and the cephx
// user with the uuid of its key's libvirt secret. Its volume_id, which
// the drivers key a network disk by, is the image's name: the guest
// sees it as the disk's serial (its first 20 characters, the instance
// uuid's), where Nova gives a root disk on RBD none.
func (a *Agent) rbdGuestDisk(ctx context.Context, cl *rbd.Client, name string) (virt.Disk, error) {
	hosts, ports, err := cl.Monitors(ctx)
	if err != nil {
		return virt.Disk{}, err
	}
	cfg := cl.Config()
	c := map[string]string{"name": cfg.Pool + "/" + name, "hosts": strings.Join(hosts, ","), "ports": strings.Join(ports, ","),
		"cluster_name": cfg.ClusterName, "discard": "true", "volume_id": name}
	if cfg.User != "" {
		c["auth_enabled"], c["auth_username"], c["secret_type"], c["secret_uuid"] = "true", cfg.User, "ceph", cfg.SecretUUID
	}
	return virt.Disk{Protocol: virt.ProtocolRBD, Format: "raw", Connection: c}, nil
}

// removeRBDDisk removes instance id's root disk on RBD with its
// snapshots (and a half-made import): the instance's delete.
func (a *Agent) removeRBDDisk(ctx context.Context, id string) error {
	if a.Config.ImagesType != ImagesRBD {
		return nil
	}
	cl, err := a.rbd(ctx)
	if err != nil {
		return err
	}
	if err := cl.RemoveImage(ctx, rbdDiskName(id)); err != nil {
		return fmt.Errorf("remove the root disk: %w", err)
	}
	return nil
}

// failedDiskWait is how long a failed build tries to remove its RBD
// disk while a client still holds it (a QEMU killed by the clean-up
// leaves its watch until the OSDs time it out, 30 s by default).
const failedDiskWait = 90 * time.Second

// removeFailedRBDDisk removes a failed build's root disk on RBD, trying
// again every 2 s for failedDiskWait while it cannot (a client's watch,
// a half-made import held): the build is rescheduled only once the disk
// is gone, as another host would take a disk there for whole and boot
// the one this build's guest wrote on. A cluster this agent cannot
// reach (its connect timed out or failed) is an error too: an agent
// killed after a spawn and started again while the cluster is away has
// not connected since, yet its guest may have written on the disk.
func (a *Agent) removeFailedRBDDisk(ctx context.Context, id string) error {
	if a.Config.ImagesType != ImagesRBD {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	_, err := a.rbd(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("the cluster not reached: %w", err)
	}
	end := time.Now().Add(failedDiskWait)
	for {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := a.removeRBDDisk(cctx, id)
		cancel()
		if err == nil || time.Now().After(end) {
			return err
		}
		a.log().Info("compute agent: the failed build's root disk is still held; trying again in 2 s", "instance", id, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}

// sweepRBD removes the half-made imports and clones
// ("<id>_disk.partial") of this host's instances, the RBD snapshots a
// killed snapshot task left ("nova-snapshot-<image>"), and the resize
// snapshots of those with no move under way: what a killed agent left. It runs at the first Sync, before
// any worker; what it cannot remove yet (a killed client's watch holds
// it) is tried again at the next. Other hosts' and unknown instances'
// images are never touched.
func (a *Agent) sweepRBD(ctx context.Context, instances []compute.Instance, moving map[string]compute.Migration) bool {
	cl, err := a.rbd(ctx)
	if err != nil {
		a.log().Warn("compute agent: root disks' cluster not reached; sweeping at the next sync", "err", err)
		return false
	}
	done := true
	a.mu.Lock()
	busy := make(map[string]bool, len(a.workers))
	for id := range a.workers {
		busy[id] = true
	}
	a.mu.Unlock()
	for _, i := range instances {
		if busy[i.UUID] {
			continue // a sweep tried again: this one's work is under way
		}
		name := rbdDiskName(i.UUID)
		if err := cl.RemovePartial(ctx, name); err != nil {
			a.log().Warn("compute agent: a half-made root disk is left for the next sync", "instance", i.UUID, "err", err)
			done = false
		}
		if in, err := cl.ImageInfo(ctx, name); err == nil {
			for _, s := range in.Snapshots {
				if !strings.HasPrefix(s, imageSnapshotPrefix) {
					continue
				}
				if err := cl.RemoveImageSnapshot(ctx, name, s); err != nil {
					a.log().Warn("compute agent: the RBD snapshot of a snapshot cut short is left for the next sync", "instance", i.UUID, "snapshot", s, "err", err)
					done = false
				}
			}
		} else if !errors.Is(err, rbd.ErrNotFound) {
			a.log().Warn("compute agent: the root disk's snapshots not read; sweeping at the next sync", "instance", i.UUID, "err", err)
			done = false
		}
		if _, ok := moving[i.UUID]; !ok {
			if err := cl.RemoveImageSnapshot(ctx, name, resizeSnapshot); err != nil && !errors.Is(err, rbd.ErrNotFound) {
				a.log().Warn("compute agent: the resize snapshot of an ended move is left for the next sync", "instance", i.UUID, "err", err)
				done = false
			}
		}
	}
	return done
}

// dropResizeSnapshots removes the resize snapshot of the disks of this
// host's instances whose move ended since the last Sync (confirmed: a
// revert has rolled back and removed it). The first Sync's sweep did
// those that ended while the agent was down.
func (a *Agent) dropResizeSnapshots(ctx context.Context, want map[string]compute.Instance, moving map[string]compute.Migration) {
	for id := range moving {
		a.moved[id] = true
	}
	for id := range a.moved {
		if _, ok := moving[id]; ok {
			continue
		}
		if i, ok := want[id]; ok && a.rbdRoot(i) {
			cl, err := a.rbd(ctx)
			if err == nil {
				err = cl.RemoveImageSnapshot(ctx, rbdDiskName(id), resizeSnapshot)
			}
			if err != nil {
				a.log().Warn("compute agent: the resize snapshot of an ended move is left for the next sync", "instance", id, "err", err)
				continue
			}
		}
		delete(a.moved, id)
	}
}
