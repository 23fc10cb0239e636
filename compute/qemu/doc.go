// Package qemu is a virt.Driver that runs each guest as a
// qemu-system-x86_64 process of its own and controls it over QMP, with
// no libvirt in between. It is pure Go.
//
// StateDir holds ceph.conf, the driver's own (Config.RBDConf empty:
// librbd's client mount timeout), and each guest has a directory,
// StateDir/<id>:
//
//	guest.json          its definition: the virt.Guest it was spawned with, the ports and volumes attached and detached since, each NIC's and volume's PCI slot (written atomically; no password)
//	root.secret         the CHAP password (iscsi) or cephx key (rbd) of a root disk that is a volume (boot from volume), 0600
//	vol<slot>.secret    the CHAP password or cephx key of the volume in PCI slot <slot>, 0600
//	qemu.pid            QEMU's -pidfile
//	qmp.sock            the QMP socket
//	console.log         the serial console, appended to across restarts
//	console.sock        the serial console, interactive (one client)
//	qemu.log            QEMU's messages of its last start (-D keeps them after it daemonizes)
//	memory.state        the saved memory of a suspended guest
//
// QEMU daemonizes (-daemonize: its own session), so guests outlive the
// agent: a Driver made over the same StateDir after a restart finds them
// (List). A guest's process is the pid in qemu.pid only if
// /proc/<pid>/cmdline carries -uuid <id>; the driver then holds it by a
// pidfd, so a signal or a wait never reaches a process that reused the
// pid. Nothing is ever killed by name.
//
// Power states are Nova's. QEMU runs without -no-shutdown: a guest that
// powers itself off ends its QEMU, and the guest is PowerShutdown (off,
// its directory and taps kept) until PowerOn starts it again from
// guest.json — what Nova expects of a guest that shut down, and no idle
// QEMU holds its memory meanwhile. A guest spawned Stopped
// (virt.Guest.Stopped, a stopped server's cold move) is in that state
// from the start: guest.json and its plugged taps, no QEMU, no boot. A
// suspended guest (off, with memory.state) is PowerSuspended. A running QEMU's state is QMP's
// query-status, mapped by powerState.
//
// QMP: the driver speaks it with its own small client (qmp.go): request
// ids matched to replies, events skipped, every exchange bounded by the
// caller's context and at most 30 s, and file descriptors passed with
// SCM_RIGHTS for getfd. Each operation opens its own connection, sends
// its commands and closes it, and a per-guest lock lets one operation at
// a time act on a guest. QEMU serves one QMP client at a time, so a
// connection held open would shut out every other process (a second
// agent, an operator's tool, the agent after a restart); a fresh
// connection also has no state that a crash, a timeout or a restarted
// QEMU could leave out of step — an exchange cut short by a deadline
// just closes its connection. Waits (for a guest to shut down, for a
// migration) poll with a new connection each time, or wait on the
// pidfd, so that State can read the guest meanwhile. go-qemu's qmp
// package was not used: it links go-libvirt, a module gostack does not
// require, its Connect cannot be bounded by a deadline, and its replies
// are not matched by id.
//
// NICs: each port has a persistent tap named as Nova names it ("tap" and
// the port id's first 11 characters), made before QEMU starts with the
// port's MTU and up, and handed to Config.Plug (the composition puts it
// on the integration bridge). Destroy calls Config.Unplug and deletes
// the taps. A NIC's QEMU id is the port's ("net-<port id>") and its PCI
// slot is chosen once and kept in guest.json, so NICs come and go
// (AttachInterface, DetachInterface: ACPI PCI hot-plug on the i440fx
// machine) without moving the others: a restart builds the machine the
// guest had, and a suspended guest's saved state, which names devices by
// PCI address, loads into the same devices.
//
// Volumes (AttachVolume, DetachVolume, and a root disk that is one:
// boot from volume) are iSCSI targets that QEMU logs in to with its own
// initiator (libiscsi, Debian's qemu-block-extra): a block node of
// QEMU's iscsi driver under a virtio-blk disk whose serial is the
// volume id, in a PCI slot kept in guest.json as NICs keep theirs. The
// CHAP password is never on QEMU's command line, in guest.json, a log
// or an error: it is written to a file of its own in the guest's
// directory, which a secret object reads (-object secret,file= at
// start, object-add with the file's path for a hot-plug). A hot-plug is
// object-add, blockdev-add (the login: a target that refuses fails the
// attach here, and the attach is undone) and device_add; a detach is
// device_del (waited for as a NIC's), blockdev-del (the logout) and
// object-del. The initiator name is Config.InitiatorName, or QEMU's own
// per guest.
//
// Ceph RBD volumes (Protocol "rbd") go the same way through QEMU's own
// librbd (qemu-block-extra): a block node of QEMU's rbd driver with the
// connection's pool, image, monitors (server) and cephx user, its key
// read by a secret object (format base64) from the volume's secret
// file, where the driver copied it from the keyring file that
// Config.RBDSecrets names for the connection's secret uuid (at attach,
// and again at a start when the keyring's key changed) — Nova's hosts
// hold that key as a libvirt secret of that uuid. librbd reads
// Config.RBDConf, by default the driver's own ceph.conf whose client
// mount timeout (10 s) bounds a connection the cluster refuses or does
// not answer: blockdev-add holds QEMU until librados gives up, 300 s
// by default.
//
// What it does not do: network disks other than iscsi and rbd
// (virt.ErrNotSupported), a volume as anything but a raw virtio-blk
// disk, multipath, resize, snapshots, live migration, CPU models and
// pinning, hugepages, vhost-net, and the image properties of Guest.Properties (hw_disk_bus,
// hw_vif_model...: disks and NICs are virtio). It does not make the
// config drive or fetch images: Guest.Disk.Path and Guest.ConfigISO are
// files someone else made.
package qemu
