package compute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gostack/gostack/compute/scheduler"
	"github.com/gostack/gostack/kit/fault"
)

// Networks is the network service as compute uses it: ports made (or
// taken) for an instance and bound to its host, their status, and their
// release. The composition passes the network area's; an embedder passes
// its own.
type Networks interface {
	// Allocate makes the ports reqs ask for (a port on a network, with a
	// fixed IP if given; or the user's port), owned by project, with
	// device_id instance, bound to host. All or nothing; ports already
	// made for instance (an earlier try) are taken again, not doubled.
	Allocate(ctx context.Context, project, instance, host string, reqs []NetworkRequest) ([]InstancePort, error)
	// Release deletes the ports made for instance and unbinds the
	// others; ports already gone are not an error.
	Release(ctx context.Context, instance string, ports []InstancePort) error
	// PortStatus is each port's status (ACTIVE once plumbed).
	PortStatus(ctx context.Context, ids []string) (map[string]string, error)
	// Usable are the networks project may make ports on (its own and
	// shared ones, not external ones), for a server that names none.
	Usable(ctx context.Context, project string) ([]string, error)
}

// PortLister is a Networks that also names the ports bound to an
// instance, the ones its record may lack (made by a try that a
// controller's death cut before it recorded them).
type PortLister interface {
	PortsOf(ctx context.Context, instance string) ([]string, error)
}

// SecurityGroupChecker is a Networks that checks security group names
// when a server is asked for (Nova's 400 at the API), not when it is
// built.
type SecurityGroupChecker interface {
	// CheckSecurityGroups is nil when each of names is one security
	// group of project (by name or id), else an error saying which is not.
	CheckSecurityGroups(ctx context.Context, project string, names []string) error
}

// ReleasePorts gives back every port of i: those it records and, when n
// lists them, any other bound to it — deleted if made for it, unbound
// if the user named it.
func ReleasePorts(ctx context.Context, n Networks, i Instance) error {
	if n == nil {
		return nil
	}
	ports := slices.Clone(i.Ports)
	if pl, ok := n.(PortLister); ok {
		ids, err := pl.PortsOf(ctx, i.UUID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if slices.ContainsFunc(ports, func(p InstancePort) bool { return p.ID == id }) {
				continue
			}
			named := slices.ContainsFunc(i.Networks, func(r NetworkRequest) bool { return r.PortID == id })
			ports = append(ports, InstancePort{ID: id, Created: !named})
		}
	}
	if len(ports) == 0 {
		return nil
	}
	return n.Release(ctx, i.UUID, ports)
}

// ImageInfo is what compute needs of a Glance image.
type ImageInfo struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Status          string            `json:"status"`
	DiskFormat      string            `json:"disk_format"`
	ContainerFormat string            `json:"container_format"`
	Size            int64             `json:"size"`
	VirtualSize     int64             `json:"virtual_size"`
	MinDisk         int64             `json:"min_disk"`
	MinRAM          int64             `json:"min_ram"`
	Checksum        string            `json:"checksum"`
	Properties      map[string]string `json:"properties"`
	// Locations are the URLs of the image's data (Open's only, never
	// shown to a project): an agent that keeps root disks on the image
	// store's RBD cluster clones the image at its rbd:// URL.
	Locations []string `json:"-"`
}

// Images is the image service as compute uses it.
type Images interface {
	// Image is image id as project sees it (fault.NotFound otherwise).
	Image(ctx context.Context, project, id string) (ImageInfo, error)
	// Open reads image id's data (for a host building an instance of it).
	Open(ctx context.Context, id string) (io.ReadCloser, ImageInfo, error)
}

// Builder is Nova's conductor for new instances: it schedules the
// instances waiting for a host (vm_state building, task_state
// scheduling), claims their resources, makes their ports on the chosen
// host, and places them there for that host's agent; an instance that
// fits nowhere goes to error with the scheduler's explanation as its
// fault. It picks up what is waiting at start and every Interval, so a
// controller restarted in the middle of a build finishes it.
type Builder struct {
	Store     *Store
	Scheduler *scheduler.Scheduler
	Networks  Networks
	// Volumes makes and reserves the root volumes of servers booted from
	// volumes (nil: such servers fail to build).
	Volumes Volumes
	// DownTime is Nova's service_down_time (60 s when 0).
	DownTime time.Duration
	// Interval is how often waiting instances are looked for besides
	// Poke (10 s when 0).
	Interval time.Duration
	// Host names the builder in the events it records of its own steps
	// (Nova's conductor host); the machine's hostname when "".
	Host string
	// AllowResizeToSameHost lets a resize stay on its host (Nova's
	// allow_resize_to_same_host); a migration never does.
	AllowResizeToSameHost bool
	Log                   *slog.Logger

	poke chan struct{}
}

func (b *Builder) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (b *Builder) host() string {
	if b.Host != "" {
		return b.Host
	}
	h, _ := os.Hostname()
	return h
}

func (b *Builder) init() {
	if b.poke == nil {
		b.poke = make(chan struct{}, 1)
	}
}

// Poke asks Run to look for waiting instances now.
func (b *Builder) Poke() {
	b.init()
	select {
	case b.poke <- struct{}{}:
	default:
	}
}

// Run builds waiting instances until ctx ends.
func (b *Builder) Run(ctx context.Context) error {
	b.init()
	every := b.Interval
	if every == 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := b.BuildWaiting(ctx); err != nil && ctx.Err() == nil {
			b.log().Warn("compute build: waiting instances", "err", err)
		}
		if err := b.MoveWaiting(ctx); err != nil && ctx.Err() == nil {
			b.log().Warn("compute build: moves under way", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.poke:
		case <-t.C:
		}
	}
}

// BuildWaiting schedules every instance waiting for a host, oldest
// first, one at a time (each sees the claims of those before it).
func (b *Builder) BuildWaiting(ctx context.Context) error {
	waiting, err := getInstance(ctx, b.Store.db, "vm_state = ? AND task_state = ? AND deleted_at IS NULL ORDER BY created_at, launch_index, uuid",
		string(Building), string(Scheduling))
	if err != nil {
		return err
	}
	var errs []error
	for _, i := range waiting {
		if err := b.leased(ctx, i.UUID, func() error {
			// Read again under the lease: another controller may have
			// built it since the list was read.
			now, err := b.Store.Instance(ctx, Viewer{Admin: true}, i.UUID)
			if fault.KindOf(err) == fault.NotFound || err == nil && (now.VMState != Building || now.TaskState != Scheduling) {
				return nil
			} else if err != nil {
				return err
			}
			return b.build(ctx, now)
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// leaseTime is how long a builder holds an instance it works on; one
// that dies leaves it to another controller after that (the same
// controller, restarted, takes it back at once: the lease is by Host).
const leaseTime = 30 * time.Second

// leased runs fn holding instance id's lease, or skips it when another
// controller's builder holds it: two controllers sharing a database
// never schedule, claim or place one instance at once.
func (b *Builder) leased(ctx context.Context, id string, fn func() error) error {
	owner := b.host()
	ok, err := b.Store.Lease(ctx, id, owner, leaseTime)
	if err != nil || !ok {
		return err
	}
	defer b.Store.Unlease(context.WithoutCancel(ctx), id, owner)
	return fn()
}

// RootVolumeWait is how long a builder waits for a server's new root
// volume to be made (Nova waits block_device_allocate_retries times
// block_device_allocate_retries_interval, 180 s by default; images
// take longer to copy here than a Cinder backend's clone).
const RootVolumeWait = 10 * time.Minute

// prepareRoot makes sure instance i's root volume exists, is available
// and is reserved for it: the builder makes a volume the create asked
// for (with the id chosen then, so a builder that stopped half-way
// finds it), waits for it, reserves it and records the reservation. It
// reports whether i may be scheduled now; false with no error leaves it
// waiting, and the builder looks again in a second.
func (b *Builder) prepareRoot(ctx context.Context, i Instance) (bool, error) {
	x := *i.RootVolume()
	abort := func(format string, args ...any) (bool, error) {
		return false, b.fail(ctx, i, "", 500, fmt.Sprintf("Build of instance %s aborted: ", i.UUID)+fmt.Sprintf(format, args...), "")
	}
	if b.Volumes == nil {
		return abort("no block-storage service for its root volume %s", x.VolumeID)
	}
	v, err := b.Volumes.Volume(ctx, "", x.VolumeID)
	if fault.KindOf(err) == fault.NotFound && x.Source != nil {
		spec := VolumeSpec{ID: x.VolumeID, Size: x.Source.Size, VolumeType: x.Source.VolumeType}
		if x.Source.Type == "snapshot" {
			spec.SnapshotID = x.Source.ID
		} else {
			spec.ImageID = x.Source.ID
		}
		v, err = b.Volumes.Create(ctx, i.ProjectID, spec)
		if err == nil {
			b.log().Info("root volume made", "instance", i.UUID, "volume", v.ID, "from", x.Source.Type, "id", x.Source.ID)
			// Deleted while the volume was asked for: its delete found no
			// volume to delete; this one goes now.
			if _, ierr := b.Store.Instance(ctx, Viewer{Admin: true}, i.UUID); fault.KindOf(ierr) == fault.NotFound {
				return false, b.dropRoot(ctx, x)
			}
		}
	}
	switch k := fault.KindOf(err); {
	case err == nil:
	case k == fault.BadRequest || k == fault.NotFound || k == fault.Conflict || k == fault.TooLarge || k == fault.Forbidden:
		return abort("%s", fault.Message(err))
	default:
		return false, err
	}
	switch v.Status {
	case "available":
	case "creating", "downloading":
		if b.now().Sub(i.CreatedAt) > RootVolumeWait {
			return abort("Volume %s did not finish being created even after we waited %d seconds. And its status is %s.",
				x.VolumeID, int(RootVolumeWait/time.Second), v.Status)
		}
		time.AfterFunc(time.Second, b.Poke)
		return false, nil
	default:
		return abort("Volume %s did not finish being created. And its status is %s.", x.VolumeID, v.Status)
	}
	att, err := b.Volumes.Reserve(ctx, i.ProjectID, x.VolumeID, i.UUID)
	if k := fault.KindOf(err); err != nil && (k == fault.BadRequest || k == fault.Conflict || k == fault.NotFound) {
		return abort("%s", fault.Message(err))
	} else if err != nil {
		return false, err
	}
	if _, err := b.Store.SetRootAttachment(ctx, i.UUID, x.VolumeID, att); err != nil {
		b.Volumes.Release(context.WithoutCancel(ctx), att)
		if fault.KindOf(err) == fault.NotFound {
			// Deleted meanwhile: its delete could not remove the volume
			// this reserve held.
			return false, b.dropRoot(ctx, x)
		}
		if fault.KindOf(err) == fault.Conflict {
			return false, nil // moved on meanwhile
		}
		return false, err
	}
	return true, nil
}

// dropRoot deletes the root volume x the builder made for an instance
// deleted meanwhile, when the create asked for it to go with the server
// (delete_on_termination); a volume that existed is never deleted here.
func (b *Builder) dropRoot(ctx context.Context, x InstanceVolume) error {
	if x.Source == nil || !x.DeleteOnTermination {
		return nil
	}
	if err := b.Volumes.Delete(context.WithoutCancel(ctx), x.VolumeID); err != nil && fault.KindOf(err) != fault.NotFound {
		return fmt.Errorf("compute build: delete the root volume %s of a deleted instance: %w", x.VolumeID, err)
	}
	return nil
}

func (b *Builder) now() time.Time { return time.Now() }

func (b *Builder) build(ctx context.Context, i Instance) error {
	if x := i.RootVolume(); x != nil && x.AttachmentID == "" {
		ready, err := b.prepareRoot(ctx, i)
		if err != nil || !ready {
			return err
		}
		if i, err = b.Store.Instance(ctx, Viewer{Admin: true}, i.UUID); err != nil {
			return err
		}
	}
	rootGB := i.Flavor.RootGB
	if i.RootVolume() != nil {
		rootGB = 0 // the root disk is a volume: no local disk is claimed (Nova's is_bfv)
	}
	req := &scheduler.Request{InstanceUUIDs: []string{i.UUID}, ProjectID: i.ProjectID, UserID: i.UserID,
		Flavor: scheduler.Flavor{Name: i.Flavor.Name, VCPUs: int64(i.Flavor.VCPUs), MemoryMB: i.Flavor.MemoryMB, RootGB: rootGB,
			EphemeralGB: i.Flavor.EphemeralGB, SwapMB: i.Flavor.SwapMB, ExtraSpecs: i.Flavor.ExtraSpecs},
		Image: scheduler.Image{ID: i.ImageRef}, AvailabilityZone: i.AvailabilityZone}
	if i.ServerGroup != "" {
		// A place an earlier try took in the group is this instance's own:
		// it must not count against the instance it is.
		if _, err := b.Store.RemoveServerGroupMember(ctx, i.ServerGroup, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		g, err := b.Store.ServerGroup(ctx, Viewer{Admin: true}, i.ServerGroup)
		if err != nil {
			return b.fail(ctx, i, "", 500, fmt.Sprintf("Server group %s: %s", i.ServerGroup, fault.Message(err)), "")
		}
		req.Group = g.SchedulerGroup()
	}
	// A claim left by an earlier try (a controller that stopped after
	// claiming) is released first, so the scheduler sees the host free.
	if err := b.Store.DeleteAllocations(ctx, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
		return err
	}
	// A build that failed on hosts before is tried on another (Nova's
	// reschedule); when none is left, the last host's error is the
	// fault, with every failure and the scheduler's reason in details.
	retry, err := b.Store.BuildRetry(ctx, i.UUID)
	if err != nil {
		return err
	}
	req.IgnoreHosts = retry.Hosts
	hosts, err := b.Store.Hosts(ctx, b.DownTime)
	if err != nil {
		return err
	}
	res, err := b.Scheduler.Schedule(ctx, hosts, req)
	var nvh *scheduler.NoValidHost
	switch {
	case errors.As(err, &nvh):
		// Its ports go (those of an earlier try too), as Nova's conductor
		// cleans up the networks of a build it buries; a later delete
		// finds them gone.
		if err := ReleasePorts(ctx, b.Networks, i); err != nil {
			return err
		}
		if retry.Attempts() > 0 {
			return b.fail(ctx, i, "", 500, retry.Faults[len(retry.Faults)-1],
				fmt.Sprintf("Build failures: %s. No other host was found: %s", retry.Summary(), nvh.Explain()))
		}
		return b.fail(ctx, i, "", 500, "No valid host was found. "+nvh.Error(), nvh.Explain())
	case err != nil:
		return err
	case len(res.Placements) != 1:
		return fmt.Errorf("compute build: %s: %d placements", i.UUID, len(res.Placements))
	}
	host := res.Placements[0].Host
	ports := []InstancePort{}
	if len(i.Networks) > 0 {
		if b.Networks == nil {
			b.unclaim(ctx, i, req)
			return b.fail(ctx, i, host.Name, 500, "Build of instance "+i.UUID+" aborted: no network service", "")
		}
		ports, err = b.Networks.Allocate(ctx, i.ProjectID, i.UUID, host.Name, i.Networks)
		if err != nil {
			b.unclaim(ctx, i, req)
			if k := fault.KindOf(err); k == fault.BadRequest || k == fault.NotFound || k == fault.Conflict || k == fault.Forbidden {
				return b.fail(ctx, i, host.Name, 500, "Build of instance "+i.UUID+" aborted: "+fault.Message(err), "")
			}
			return err
		}
	}
	if _, err := b.Store.Place(ctx, i.UUID, host.Name, host.Node, ports); err != nil {
		// Deleted while it was being scheduled: give back what it took.
		if b.Networks != nil && len(ports) > 0 {
			b.Networks.Release(ctx, i.UUID, ports)
		}
		b.unclaim(ctx, i, req)
		if fault.KindOf(err) == fault.NotFound || fault.KindOf(err) == fault.Conflict {
			return nil
		}
		return err
	}
	b.log().Info("instance placed", "instance", i.UUID, "host", host.Name)
	return nil
}

func (b *Builder) unclaim(ctx context.Context, i Instance, req *scheduler.Request) {
	b.Store.DeleteAllocations(ctx, i.UUID)
	if req.Group != nil {
		b.Store.RemoveServerGroupMember(ctx, req.Group.UUID, i.UUID)
	}
}

// fail ends i's build in error. A failure before a host was chosen
// (host "") is the builder's own conductor_schedule_and_build_instances
// event, as Nova's conductor records burying an instance it could not
// schedule; one on the chosen host (its ports, which Nova's compute
// makes while building) is that host's build event.
func (b *Builder) fail(ctx context.Context, i Instance, host string, code int, msg, details string) error {
	event := EventBuild
	if host == "" {
		event, host = EventScheduleAndBuild, b.host()
	}
	_, err := b.Store.FailBuild(ctx, i.UUID, event, host, Fault{Code: code, Message: msg, Details: details})
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	return err
}
