// Package libvirt is a compute/virt hypervisor driver on libvirt
// (libvirt.org/go/libvirt): Nova's libvirt driver for gostack. A Driver
// holds one connection (qemu:///system by default) and turns a
// virt.Guest into a domain: uuid the instance id, name
// "instance-<id>", gostack's <metadata> element naming the instance
// (so List returns only gostack's guests and an agent can prove an
// orphan is its own), a virtio root disk, the config drive as a
// read-only virtio disk, Open vSwitch ports as Nova writes them
// (libvirt adds the tap to the bridge and sets external_ids:iface-id),
// and the serial console on a pty logged by virtlogd to
// StateDir/<id>/console.log. <domain type> is kvm where the host's
// capabilities offer it, else qemu (TCG).
//
// Besides virt.Driver it has virt.Pauser, virt.Suspender (libvirt's
// managed save), virt.InterfaceAttacher (NICs added to and removed from
// the definition and, PCI hot-plugged, the running guest),
// virt.VolumeAttacher (iSCSI and RBD volumes the same way) and
// virt.ConsoleLogger. Factory is its virt.DriverFactory.
//
// # Volumes
//
// A volume (Disk.Protocol "iscsi", and a root disk that is one: boot
// from volume) is a network disk as Nova's LibvirtNetVolumeDriver
// writes one for QEMU's own initiator: <disk type='network'> with
// <source protocol='iscsi' name='<iqn>/<lun>'>, the portal as its
// <host>, an <initiator> name (Config.InitiatorName, or QEMU's own per
// guest), <auth> naming a libvirt secret by its usage, a virtio target
// and the volume id as <serial>. The CHAP password is only in that
// secret (usage iscsi "gostack:<guest id>:<volume id>", private, as
// Nova's Host.create_secret makes one: virSecretDefineXML, then
// SetValue), which libvirt hands QEMU encrypted; the secret is
// undefined when the volume is detached or the guest destroyed.
// AttachDeviceFlags and DetachDeviceFlags add and remove the disk as
// they do NICs, and a detach waits for the guest as a NIC's does.
//
// An RBD volume (Disk.Protocol "rbd") is the network disk Nova writes
// for QEMU's own librbd: <source protocol='rbd' name='pool/image'>, a
// <host> per monitor, and <auth> naming the host's ceph secret by the
// connection's secret uuid, a secret shared by the host's guests (as
// operators define it for Nova) that the driver defines, or gives its
// key, from the keyring Config.RBDSecrets names for that uuid, and
// never undefines. Unlike Nova's, the disk names a ceph.conf
// (<config file>: Config.RBDConf, or the driver's own with a client
// mount timeout), so that a cluster that refuses the key fails the
// attach in seconds rather than librados' 300 s.
//
// # cgo and build tags
//
// This is the compute area's only cgo package: the binding is C. It
// builds two ways, both tested:
//
//   - go build (no tag): the binding links libvirt.so through
//     pkg-config, so the build needs Debian's libvirt-dev (and
//     pkg-config), and a binary needs libvirt0 to start.
//   - go build -tags libvirt_dlopen: the binding compiles against the
//     headers it vendors and dlopens libvirt.so.0 at the first call, so
//     the build needs only gcc and libc6-dev, and a binary starts on a
//     host without libvirt (New then fails with the loader's error). Use
//     it for release builds of the compute agent.
//
// Without cgo (CGO_ENABLED=0) the package is a stub with the same API
// whose New returns ErrUnavailable, so the pure build of the repository
// keeps working; internal/guard lists the package as a documented cgo
// driver.
//
// # What it does not do
//
// Network disks other than iscsi and rbd answer virt.ErrNotSupported,
// as do resize, snapshots and migration; volumes are reached by QEMU's
// initiators only (no kernel initiator or krbd, no multipath). It does
// not plug ports: the Open vSwitch bridge must exist (the network
// agent's job), libvirt creates the tap and adds it when the domain
// starts (DriverInfo.PlugsAtStart: a guest spawned with
// virt.Guest.Stopped, only defined, has no port plugged until
// PowerOn), and neither Spawn nor AttachInterface waits for the port to
// be ACTIVE (the compute agent does). A soft
// Reboot asks the guest and returns without waiting for it or falling
// back to a hard one; the compute agent decides that. It keeps no state
// of its own beyond StateDir: libvirt is the record of which guests
// exist.
package libvirt
