package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/compute/virt"
	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/kit/crashpoint"
)

// build is the spawning task: the guest is made and started, and the
// instance reported active; or what was made is removed and the
// instance reported in error with Nova's "Build of instance <id>
// aborted: <why>". A build cancelled (the instance moved on, the agent
// stops) reports nothing and leaves what it made to the next task or
// the next agent. It reports false when its report could not be sent.
func (a *Agent) build(ctx context.Context, i compute.Instance) bool {
	select {
	case a.builds <- struct{}{}:
		defer func() { <-a.builds }()
	case <-ctx.Done():
		return true
	}
	start := time.Now()
	err := a.spawn(ctx, i, false)
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		a.log().Warn("compute agent: build failed", "instance", i.UUID, "err", err)
		// The clean-up must not stop half-way for a cancel now.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := a.Driver.Destroy(cctx, i.UUID); derr != nil {
			a.log().Warn("compute agent: clean-up of a failed build", "instance", i.UUID, "err", derr)
		}
		if rerr := os.RemoveAll(a.instanceDir(i.UUID)); rerr != nil {
			a.log().Warn("compute agent: clean-up of a failed build", "instance", i.UUID, "err", rerr)
		}
		// Another host may do better, unless the request itself is at
		// fault.
		var abort abortError
		again := !errors.As(err, &abort)
		f := &compute.Fault{Code: 500, Message: fmt.Sprintf("Build of instance %s aborted: %s", i.UUID, err)}
		if i.RootVolume() == nil {
			if rerr := a.removeFailedRBDDisk(ctx, i.UUID); rerr != nil {
				// Another host would find the disk and boot it as made
				// for it, with what this build's guest wrote on it.
				a.log().Warn("compute agent: clean-up of a failed build; not rescheduled", "instance", i.UUID, "err", rerr)
				again = false
				f.Message += fmt.Sprintf("; its root disk %s was not removed (%v), so it is not rescheduled", rbdDiskName(i.UUID), rerr)
			}
		}
		if err := a.reportInstance(ctx, i.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Error,
			PowerState: virt.PowerNoState, Fault: f, Reschedule: again}); err != nil && ctx.Err() == nil {
			a.log().Error("compute agent: report a failed build", "instance", i.UUID, "err", err)
			return false
		}
		return true
	}
	p, err := a.Driver.State(ctx, i.UUID)
	if err != nil {
		p = virt.PowerRunning // Spawn returned with the guest started
	}
	if err := a.reportInstance(ctx, i.UUID, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: p}); err != nil {
		if ctx.Err() == nil {
			a.log().Error("compute agent: report a build", "instance", i.UUID, "err", err)
			return false
		}
		return true
	}
	a.log().Info("compute agent: built", "instance", i.UUID, "name", i.Name, "took", time.Since(start))
	return true
}

// spawn makes what the guest needs, each piece only if it is missing
// (an earlier try made it), and starts the guest; stopped, the guest is
// defined and left off (virt.Guest.Stopped: a stopped server's move).
func (a *Agent) spawn(ctx context.Context, i compute.Instance, stopped bool) error {
	root := i.RootVolume()
	if i.ImageRef == "" && root == nil {
		return abortError{errors.New("no image and no root volume to boot from")}
	}
	md, err := i.GuestMetadata()
	if err != nil {
		return abortError{err}
	}
	dir := a.instanceDir(i.UUID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	// The root disk: the root volume (boot from volume), connected with
	// this host's connector; the RBD image <uuid>_disk (images_type
	// rbd); or a local disk of the image. A disk that exists is whole
	// (written under another name and renamed, or a clone): an earlier
	// try's, or one a move brought.
	var rootDisk virt.Disk
	switch {
	case root != nil:
		if rootDisk, err = a.connectVolume(ctx, i, *root); err != nil {
			return err
		}
	case a.rbdRoot(i):
		if rootDisk, err = a.rbdDisk(ctx, i); err != nil {
			return err
		}
	default:
		disk := filepath.Join(dir, "disk")
		if !exists(disk) {
			img, err := a.image(ctx, i.ImageRef)
			if err != nil {
				return err
			}
			if err := a.makeDisk(ctx, img, i.Flavor.RootGB, disk); err != nil {
				return err
			}
		}
		rootDisk = virt.Disk{Path: disk, Format: "qcow2"}
	}
	crashpoint.Hit("compute.agent.disk")
	// A config drive when the server asked for one or the host forces
	// them (Nova's force_config_drive); otherwise the guest reads the
	// metadata service.
	iso := ""
	if i.ConfigDrive || a.Config.ForceConfigDrive {
		iso = filepath.Join(dir, "config.iso")
		if !exists(iso) {
			d := metadata.Drive{MetaData: md.MetaData, UserData: md.UserData, NetworkData: md.NetworkData}
			if err := metadata.ConfigDrive(ctx, iso, d); err != nil {
				return fmt.Errorf("config drive: %w", err)
			}
		}
	}
	g := virt.Guest{ID: i.UUID, Name: i.Name, VCPUs: i.Flavor.VCPUs, MemoryMB: i.Flavor.MemoryMB,
		Disk: rootDisk, ConfigISO: iso, UserData: md.UserData, Ports: a.guestPorts(i),
		Stopped: stopped}
	if err := a.Driver.Spawn(ctx, g); err != nil {
		return err
	}
	crashpoint.Hit("compute.agent.spawned")
	// The instance's other volumes (a guest moved here, or built again
	// on a revert): connected with this host's connector and attached (a
	// running guest gets them hot-plugged, a stopped one at its start).
	for _, x := range i.Volumes {
		if x.Root || x.Pending != "" {
			continue
		}
		d, err := a.connectVolume(ctx, i, x)
		if err != nil {
			return err
		}
		if err := virt.AttachVolume(ctx, a.Driver, i.UUID, d); err != nil {
			return fmt.Errorf("attach volume %s: %w", x.VolumeID, err)
		}
	}
	// A driver that plugs its own ports (libvirt) has not waited for
	// them: the instance is active only once they are. It plugs them as
	// the guest starts, so a guest left stopped has none to wait for
	// (Nova's finish_migration with power_on=False waits for no
	// vif-plugged event). A driver that plugs at Spawn (compute/qemu,
	// whose Config.Plug is Agent.Plug) has waited; this finds them
	// ACTIVE at once.
	if stopped && a.Driver.Info().PlugsAtStart {
		return nil
	}
	for _, p := range g.Ports {
		if err := a.waitActive(ctx, p.ID); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) guestPorts(i compute.Instance) []virt.GuestPort {
	out := make([]virt.GuestPort, 0, len(i.Ports))
	for _, p := range i.Ports {
		out = append(out, virt.GuestPort{ID: p.ID, MAC: p.MAC, Bridge: a.Config.Bridge, MTU: p.MTU})
	}
	return out
}

// abortError is a build failure the request is at fault for, which no
// other host would avoid (Nova's BuildAbortException): the build is not
// rescheduled. Any other failure is the host's, and is.
type abortError struct{ error }

func (e abortError) Unwrap() error { return e.error }

// makeDisk makes the root disk at path: a qcow2 overlay on the cached
// image, of the flavor's root_gb when that is larger than the image (0
// keeps the image's size, as Nova's). It is written under another name
// and renamed, so a disk that exists is whole.
func (a *Agent) makeDisk(ctx context.Context, img cachedImage, rootGB int64, path string) error {
	size, err := a.virtualSize(ctx, img)
	if err != nil {
		return err
	}
	want := rootGB << 30
	if rootGB > 0 && want < size {
		return abortError{fmt.Errorf("flavor's disk is too small for the image: flavor disk is %d bytes, image is %d bytes", want, size)}
	}
	tmp := path + ".part"
	os.Remove(tmp)
	args := []string{"create", "-q", "-f", "qcow2", "-F", img.Format, "-b", img.Path, tmp}
	if want > size {
		args = append(args, strconv.FormatInt(want, 10))
	}
	if out, err := exec.CommandContext(ctx, a.Config.QemuImg, args...).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("qemu-img create: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// virtualSize is the image's size as a disk, read by qemu-img in the
// image's declared format (never probed: a raw image with a qcow2
// header must stay raw). An image of another format than raw is
// inspected first (image/format, the image service's and the volume
// agent's checks, CVE-2024-32498): one that is not what it is declared
// to be, or that is unsafe, is refused before qemu-img opens it — a
// qcow2 with a backing file or an external data file could name any
// file of the host, which an overlay on it or a conversion of it would
// read into the guest's disk.
func (a *Agent) virtualSize(ctx context.Context, img cachedImage) (int64, error) {
	if img.Format != format.Raw {
		res, err := format.InspectFile(ctx, img.Path)
		var unsafe *format.SafetyError
		switch {
		case errors.As(err, &unsafe) && unsafe.Check == "backing_file":
			return 0, abortError{fmt.Errorf("image %s has a backing file: refused", img.ID)}
		case errors.As(err, &unsafe) && unsafe.Check == "data_file":
			return 0, abortError{fmt.Errorf("image %s has an external data file: refused", img.ID)}
		case errors.As(err, &unsafe):
			return 0, abortError{fmt.Errorf("image %s refused: %s: %s", img.ID, unsafe.Check, unsafe.Reason)}
		case err != nil:
			return 0, fmt.Errorf("inspect the image: %w", err)
		case res.Format != img.Format:
			return 0, abortError{fmt.Errorf("image %s is declared %s but its content is %s: refused", img.ID, img.Format, res.Format)}
		}
	}
	out, err := exec.CommandContext(ctx, a.Config.QemuImg, "info", "--output=json", "-f", img.Format, img.Path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("qemu-img info: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, fmt.Errorf("qemu-img info: %w", err)
	}
	var info struct {
		VirtualSize     int64  `json:"virtual-size"`
		BackingFilename string `json:"backing-filename"`
		Specific        struct {
			Data struct {
				DataFile string `json:"data-file"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("qemu-img info: %w", err)
	}
	if info.BackingFilename != "" {
		return 0, abortError{fmt.Errorf("image %s has a backing file: refused", img.ID)}
	}
	if info.Specific.Data.DataFile != "" {
		return 0, abortError{fmt.Errorf("image %s has an external data file: refused", img.ID)}
	}
	return info.VirtualSize, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
