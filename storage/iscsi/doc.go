// Package iscsi exports block-storage volumes as iSCSI targets through
// tgtd, the user-space target of the Linux SCSI target framework (tgt),
// the way Cinder's LVM driver with its tgt target helper does: one target
// per volume named <prefix>volume-<id> (Cinder's iqn.2010-10.org.openstack:
// by default), the volume as LUN 1 (LUN 0 is tgt's controller), random
// CHAP credentials bound to the target as its incoming user, and an
// optional ACL of initiator names and addresses (without one, any
// initiator with the credentials may log in, as with Cinder's tgt
// targets). Connection.Info is the connection info Nova and os-brick
// take.
//
// Volumes are files: Files keeps one sparse file per volume, created,
// grown and deleted; any regular file or block device can be exported.
// tgtd opens them with O_DIRECT (bsoflags=direct) unless
// Exporter.Buffered says otherwise or their filesystem refuses it:
// through the page cache, sequential writes larger than its dirty limits
// ran at a fifth of the disk's speed (2 GiB in 1 MiB writes, 8 in
// flight: 5.6-7.3 s buffered, 1.1-1.3 s direct, the backing file with
// O_DIRECT 1.1 s). A tgtd started here runs with glibc malloc tunables
// (GLIBC_TUNABLES) that make it reuse its commands' data buffers instead
// of faulting in fresh memory for each: 1 MiB sequential writes through
// the export went from 0.38 to 0.70-0.79 of the backing file's O_DIRECT
// speed, reads from 0.63 to 0.91-0.95.
//
// An Exporter drives one tgtd, the one on its control port, through
// tgtadm. Start starts tgtd when none runs there, in the foreground of a
// session of its own with its pid in a pid file, so that it outlives the
// caller (as the DHCP block's dnsmasq and Open vSwitch do) and is only
// ever stopped or killed by that pid. tgtd keeps its targets in memory
// only: after it restarts, every volume must be exported again, which is
// what Reconcile is for. It takes the volumes that should be exported
// and makes tgtd's state match, making what is missing (the same target
// name, LUN and credentials as before) and removing the targets of
// volumes that are not wanted (with none wanted it does not start tgtd,
// but a running one still loses them); the volume agent calls it at
// start and periodically. Export and Unexport change one volume. All read tgtd's
// state (tgtadm --mode target --op show) and change only what differs.
//
// Target ids are chosen under a lock (a mutex, and an flock on a file in
// the Exporter's Dir across processes), and a target made meanwhile by
// anyone else (tgt's "this target already exists", a known Cinder race)
// makes the Exporter read tgtd again and take the next id, so exports at
// once never collide. tgtadm shows accounts by user name only; the
// Exporter keeps, in Dir/exports.json, an HMAC of the credentials each
// account was made with (never the password), which accounts it made
// (only those, and accounts bound to its targets alone, are deleted) and
// the size each LUN was made at (tgtd reads it once, so a grown volume's
// LUN is made again).
//
// Passwords are in no log line and no error; they are on tgtadm's
// command line for the moment it runs (as with Cinder's tgt-admin), so
// in the process table then.
//
// What it does not do: make LVM logical volumes (a logical volume can be
// exported as the block device it is, but creating, growing and removing
// them is not here: the kernel of the test machines has no
// device-mapper, without which LVM cannot activate a volume, so that
// code could not be tested); iSER, mutual
// (outgoing) CHAP, multipath portals, discovery authentication; tgt's
// RBD backing store; the kernel's LIO target; a kernel initiator
// (iscsiadm): initiators are QEMU's and libiscsi's, in user space;
// capacity reporting and thin-provisioning accounting (the backend
// scheduler's); volume wiping (sparse files need none).
package iscsi
