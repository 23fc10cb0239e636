// Package virt is the hypervisor driver contract, Nova's virt driver
// interface as Go: Driver, the operations every driver has (spawn,
// destroy, power, reboot, state, and list for adoption after an agent
// restart); small optional interfaces (Pauser, Suspender,
// VolumeAttacher, InterfaceAttacher, ConsoleLogger) whose helpers of
// the same names answer ErrNotSupported for a driver without them; the
// Guest a driver builds, as plain values, its disks local files or
// network volumes (Disk: the iSCSI and RBD connection keys a driver
// reads, Disk.ISCSI, Disk.RBD, VolumeDisk from Cinder's connection
// info, RBDSecrets for the hosts' cephx keys); Nova's power
// states; and Drivers, a registry by name with no global instance.
//
// It is light on purpose (the standard library only), so a driver —
// compute/qemu, compute/libvirt, or an embedder's own — imports it
// without the compute store, and the compute agent consumes drivers
// through it.
package virt
