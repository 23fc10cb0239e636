package virt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// PowerState is the hypervisor's view of a guest, Nova's power_state
// numbers.
type PowerState int

// Nova's power states (nova/compute/power_state.py).
const (
	PowerNoState   PowerState = 0
	PowerRunning   PowerState = 1
	PowerPaused    PowerState = 3
	PowerShutdown  PowerState = 4
	PowerCrashed   PowerState = 6
	PowerSuspended PowerState = 7
)

// ErrNotSupported is what a driver returns for an operation it does not
// have; the API turns it into Nova's 409 or 400 for the action.
var ErrNotSupported = errors.New("compute/virt: not supported by this driver")

// Driver is a hypervisor driver as the compute agent drives it: the
// operations every driver has. Optional ones are the small interfaces
// below (Pauser, Suspender, VolumeAttacher, ...), found at run time;
// the helpers of the same names return ErrNotSupported when a driver
// lacks them.
type Driver interface {
	// Info says what the driver is and can do.
	Info() DriverInfo
	// Spawn creates and starts a guest, or with Guest.Stopped defines
	// it without starting it. It is idempotent for one Guest.ID: a
	// guest that exists already is left as it is, and one a crash left
	// half-made (defined, never started) is finished: started, or for a
	// Stopped guest left defined and off.
	Spawn(ctx context.Context, g Guest) error
	// Destroy stops and removes a guest; a guest that does not exist is
	// not an error.
	Destroy(ctx context.Context, id string) error
	PowerOn(ctx context.Context, id string) error
	// PowerOff asks the guest to shut down cleanly (ACPI) when clean is
	// set, and turns it off otherwise or when it has not stopped by the
	// context's deadline.
	PowerOff(ctx context.Context, id string, clean bool) error
	Reboot(ctx context.Context, id string, hard bool) error
	// State is the guest's power state (PowerNoState if it does not
	// exist).
	State(ctx context.Context, id string) (PowerState, error)
	// List is every guest the driver runs for this host: what an agent
	// adopts after a restart.
	List(ctx context.Context) ([]GuestState, error)
}

// DriverInfo is a driver's description and capabilities, plain values.
type DriverInfo struct {
	Name              string // "libvirt", "qemu"
	HypervisorType    string // Nova's hypervisor_type: "QEMU", "KVM"
	HypervisorVersion int64  // Nova's encoding: major*1000000 + minor*1000 + micro
	// What the optional interfaces add, for Nova's capabilities and the
	// API's early refusals.
	Pause, Suspend, AttachVolume, AttachInterface, ConsoleLog, Resize, Snapshot bool
	// PlugsAtStart: the guest's ports are plugged when the guest
	// starts, not by Spawn (libvirt makes the tap and puts it on the
	// bridge as the domain starts, and removes it when the domain
	// stops), so a guest spawned Stopped has none plugged until
	// PowerOn. Without it Spawn plugs them whether or not it starts the
	// guest, and they stay plugged while it is off (compute/qemu's
	// persistent taps and Config.Plug).
	PlugsAtStart bool
}

// Guest is what Spawn builds.
type Guest struct {
	ID       string // the instance uuid
	Name     string
	VCPUs    int
	MemoryMB int64
	// Disk is the root disk: a local image file or a network volume
	// (Protocol "iscsi" or "rbd": Nova's boot from volume), the guest's
	// first disk either way.
	Disk       Disk
	Ports      []GuestPort
	ConfigISO  string // config drive image, "" for none
	UserData   []byte
	Properties map[string]string // image properties the driver honours (hw_disk_bus, hw_vif_model...)
	// Stopped: Spawn defines the guest and plugs its ports (unless the
	// driver plugs them only as a guest starts: DriverInfo.PlugsAtStart)
	// but does not start it: no boot, its power state is shutdown, and a
	// later PowerOn starts it. A Spawn again of the same stopped guest
	// leaves it stopped. It is Nova's finish_migration with
	// power_on=False: the cold move of a stopped server.
	Stopped bool
}

// Disk is one guest disk: a local file, or a network disk (a volume).
//
// A network disk has Protocol ("iscsi" or "rbd") and Connection, the
// "data" of the connection info the volume service gave (Cinder's
// initialize_connection, as Nova receives it; VolumeDisk makes a Disk
// of it), its values as strings. For "iscsi" a driver reads:
//
//	target_portal  "host:port" ("[v6]:port"); 3260 when it has no port
//	target_iqn     the target's name
//	target_lun     the LUN, a number
//	auth_method    "CHAP", or "" or "None" for no authentication
//	auth_username  CHAP's user name
//	auth_password  CHAP's secret, which no driver logs or puts in an error
//	volume_id      the volume id, when Serial is empty
//
// and nothing else (target_discovered, encrypted and the multipath
// lists are not read). For "rbd" (Ceph RBD, reached with QEMU's own
// librbd) it reads:
//
//	name           "pool/image" (Cinder's "<pool>/volume-<id>")
//	hosts, ports   the monitors, comma-separated (VolumeDisk joins
//	               Cinder's lists), one port per host
//	auth_enabled   "true" for cephx, with:
//	auth_username  the cephx user (without "client.")
//	secret_uuid    the uuid the host's key of that user has (RBDSecrets;
//	               the key is never in the connection)
//	secret_type    "ceph", if given
//	cluster_name   checked, not used (as Nova)
//	discard        "true": the guest's discards reach the image
//	volume_id      the volume id, when Serial is empty
//
// The format of a network disk is raw.
type Disk struct {
	Path   string // a local file
	Format string // "qcow2", "raw"
	// A network disk instead of Path.
	Protocol   string
	Connection map[string]string
	// Serial is the volume id the guest sees (virtio-blk keeps its first
	// 20 characters); "" for a local disk: no serial.
	Serial string
	// Shareable is a multiattach volume's disk, which other guests
	// (on this host or others) may have attached and write at the same
	// time: a driver lets them (libvirt's <shareable/>, QEMU's
	// share-rw=on) and caches nothing on the host (cache none).
	Shareable bool `json:",omitempty"`
	// QoS is a volume's front-end I/O limits (the connection info's
	// qos_specs, Cinder's consumer front-end or both), by the keys
	// Nova's libvirt driver applies (QoSKeys: total_bytes_sec,
	// read_iops_sec, ...); nil for none. A driver throttles the disk to
	// them.
	QoS map[string]int64 `json:",omitempty"`
}

// QoSKeys are the qos_specs keys a driver applies, as Nova's libvirt
// driver does (its <iotune> elements); others are not read.
var QoSKeys = []string{"total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec"}

// GuestPort is a NIC on the integration bridge, keyed by its Neutron
// port id (what the network agent matches in external_ids:iface-id).
type GuestPort struct {
	ID     string
	MAC    string
	Bridge string
	MTU    int
}

// GuestState is a guest as List finds it.
type GuestState struct {
	ID    string
	Name  string
	Power PowerState
	// Unknown: the guest exists but its state could not be read just
	// now (a QEMU still starting); Power says nothing then.
	Unknown bool
}

// Optional abilities of a driver.
type (
	Pauser interface {
		Pause(ctx context.Context, id string) error
		Unpause(ctx context.Context, id string) error
	}
	Suspender interface {
		Suspend(ctx context.Context, id string) error
		Resume(ctx context.Context, id string) error
	}
	// VolumeAttacher adds volumes to a guest and takes them away (Nova's
	// os-volume_attachments), each known by its volume id
	// (Disk.VolumeID). Both are idempotent, and both change the guest's
	// definition, so what they did holds across power off and on, hard
	// reboots and adoption after a restart. A guest that runs gets the
	// change now (PCI hot-plug); a paused one gets an attach now, and a
	// driver may refuse its detach (a paused guest cannot let a disk go,
	// and the request could not be taken back); a stopped one gets it at
	// its next start (its target is first logged in to then); a
	// suspended one refuses (its saved memory describes the devices it
	// had).
	//
	// A volume is a network disk: Disk.Protocol "iscsi" or "rbd" (see
	// Disk for the connection keys a driver reads), reached by the
	// guest's QEMU with its own initiator (libiscsi, librbd), not the
	// host's kernel. The guest sees a
	// virtio-blk disk whose serial is the volume id — its first 20
	// characters, virtio-blk's limit — so it finds it as
	// /dev/disk/by-id/virtio-<those 20>; its name (vdb, vdc...) is the
	// guest kernel's, given in the order it finds disks, not the
	// driver's. The CHAP password, and an rbd volume's cephx key (the
	// host's, by the connection's secret_uuid: RBDSecrets), go to the
	// hypervisor's secret store only (a file only root reads, a private
	// libvirt secret): never to a log, an error or a command line. An rbd
	// volume whose key the host lacks is refused (ErrNoKey); one the
	// cluster refuses (a wrong key, no such image) fails the attach,
	// which leaves the guest as it was. The volume a guest boots from (its
	// root Disk) is neither attached nor detached: both refuse it with
	// ErrNotSupported.
	VolumeAttacher interface {
		// AttachVolume adds volume d to the guest. An attach the target
		// refuses (a wrong CHAP password, an unknown target) is an error
		// that says so and leaves the guest as it was.
		AttachVolume(ctx context.Context, id string, d Disk) error
		// DetachVolume removes the volume volumeID, waiting, up to ctx's
		// deadline, for a running guest to let its disk go (an error
		// then leaves the volume attached), and forgets its credentials.
		DetachVolume(ctx context.Context, id, volumeID string) error
	}
	// VolumeResizer tells a guest that one of its volumes grew (Nova's
	// extend_volume, after Cinder's volume-extended event): the guest's
	// QEMU re-reads the volume's capacity from its target, which must
	// have grown to size bytes already, and the guest sees the new size
	// (virtio-blk's capacity change). A guest that does not run reads
	// the size at its next start: nothing is done. A volume the guest
	// does not have is an error.
	VolumeResizer interface {
		ResizeVolume(ctx context.Context, id, volumeID string, size int64) error
	}
	// InterfaceAttacher adds NICs to a guest and takes them away (Nova's
	// os-interface). Both are idempotent, and both change the guest's
	// definition, so what they did holds across power off and on, hard
	// reboots and adoption after a restart. A guest that runs gets the
	// change now (PCI hot-plug); a paused one gets an attach now, and a
	// driver may refuse its detach (a paused guest cannot let a NIC go,
	// and the request could not be taken back); a stopped one gets it at
	// its next start; a suspended one refuses (its saved memory
	// describes the devices it had).
	InterfaceAttacher interface {
		// AttachInterface plugs the port (the driver's plug hook, so it
		// waits for the network as Spawn does) and adds its NIC.
		AttachInterface(ctx context.Context, id string, p GuestPort) error
		// DetachInterface removes the port's NIC, waiting, up to ctx's
		// deadline, for a running guest to let it go (an error then
		// leaves the NIC attached), and unplugs the port.
		DetachInterface(ctx context.Context, id, portID string) error
	}
	ConsoleLogger interface {
		ConsoleLog(ctx context.Context, id string) ([]byte, error)
	}
)

// Pause pauses a guest if the driver can.
func Pause(ctx context.Context, d Driver, id string) error {
	if p, ok := d.(Pauser); ok {
		return p.Pause(ctx, id)
	}
	return notSupported(d, "pause")
}

// Unpause is Pause's undo.
func Unpause(ctx context.Context, d Driver, id string) error {
	if p, ok := d.(Pauser); ok {
		return p.Unpause(ctx, id)
	}
	return notSupported(d, "unpause")
}

// Suspend saves a guest's memory and stops it, if the driver can.
func Suspend(ctx context.Context, d Driver, id string) error {
	if s, ok := d.(Suspender); ok {
		return s.Suspend(ctx, id)
	}
	return notSupported(d, "suspend")
}

// Resume is Suspend's undo.
func Resume(ctx context.Context, d Driver, id string) error {
	if s, ok := d.(Suspender); ok {
		return s.Resume(ctx, id)
	}
	return notSupported(d, "resume")
}

// AttachVolume adds volume v to guest id, if the driver can.
func AttachVolume(ctx context.Context, d Driver, id string, v Disk) error {
	if a, ok := d.(VolumeAttacher); ok {
		return a.AttachVolume(ctx, id, v)
	}
	return notSupported(d, "attach volume")
}

// ResizeVolume tells guest id that volume volumeID grew to size bytes,
// if the driver can.
func ResizeVolume(ctx context.Context, d Driver, id, volumeID string, size int64) error {
	if r, ok := d.(VolumeResizer); ok {
		return r.ResizeVolume(ctx, id, volumeID, size)
	}
	return notSupported(d, "resize volume")
}

// DetachVolume is AttachVolume's undo.
func DetachVolume(ctx context.Context, d Driver, id, volumeID string) error {
	if a, ok := d.(VolumeAttacher); ok {
		return a.DetachVolume(ctx, id, volumeID)
	}
	return notSupported(d, "detach volume")
}

// AttachInterface adds port p's NIC to guest id, if the driver can.
func AttachInterface(ctx context.Context, d Driver, id string, p GuestPort) error {
	if a, ok := d.(InterfaceAttacher); ok {
		return a.AttachInterface(ctx, id, p)
	}
	return notSupported(d, "attach interface")
}

// DetachInterface is AttachInterface's undo.
func DetachInterface(ctx context.Context, d Driver, id, portID string) error {
	if a, ok := d.(InterfaceAttacher); ok {
		return a.DetachInterface(ctx, id, portID)
	}
	return notSupported(d, "detach interface")
}

// ConsoleLog is the guest's serial console output, if the driver keeps it.
func ConsoleLog(ctx context.Context, d Driver, id string) ([]byte, error) {
	if c, ok := d.(ConsoleLogger); ok {
		return c.ConsoleLog(ctx, id)
	}
	return nil, notSupported(d, "console log")
}

func notSupported(d Driver, op string) error {
	return fmt.Errorf("%s: %s: %w", d.Info().Name, op, ErrNotSupported)
}

// DriverFactory makes a driver from its settings.
type DriverFactory func(ctx context.Context, settings map[string]string) (Driver, error)

// Drivers is a registry of drivers by name. It has no global instance:
// the daemon (or an embedder) makes one and registers what it links.
type Drivers struct {
	mu sync.Mutex
	by map[string]DriverFactory
}

// Register adds a driver; a name registered twice is an error.
func (r *Drivers) Register(name string, f DriverFactory) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]DriverFactory{}
	}
	if _, dup := r.by[name]; dup {
		return fmt.Errorf("compute/virt: driver %q registered twice", name)
	}
	r.by[name] = f
	return nil
}

// Names lists the registered drivers, sorted.
func (r *Drivers) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.by))
	for n := range r.by {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Open makes the driver called name.
func (r *Drivers) Open(ctx context.Context, name string, settings map[string]string) (Driver, error) {
	r.mu.Lock()
	f, ok := r.by[name]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("compute/virt: no driver %q (have %v)", name, r.Names())
	}
	return f(ctx, settings)
}
