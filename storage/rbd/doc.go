// Package rbd keeps Cinder's volumes as Ceph RBD images, as Cinder's RBD
// driver (cinder/volume/drivers/rbd.py) does: volume id's image is
// "volume-<id>" in the configured pool, snapshot id is the RBD snapshot
// "snapshot-<id>" of its volume, made and protected so that volumes can
// be cloned from it.
//
//   - Create: an empty image of the size (object size 2^22, Cinder's
//     rbd_store_chunk_size of 4 MB; the cluster's rbd_default_features).
//   - CreateSnapshot, DeleteSnapshot: create and protect; unprotect and
//     remove. A snapshot that has clones is not removed: DeleteSnapshot
//     answers a *BusyError naming them (Cinder's SnapshotIsBusy).
//   - CreateFromSnapshot: a copy-on-write clone of the snapshot (Cinder's
//     _clone), flattened when Config.FlattenFromSnapshot says so, grown
//     to its size. Every clone (CloneVolume, CloneImage too) has the
//     cluster's rbd_default_features, not its parent's, as Cinder's.
//   - Multiattach: Cinder's _enable_multiattach — the image loses
//     exclusive-lock, object-map, fast-diff and journaling, so clients on
//     several hosts may write at once. SingleWriter is Cinder's
//     _disable_multiattach, for a retype to a type that is not
//     multiattach: the cluster's rbd_default_features among them are put
//     back (what the image was made with: Cinder keeps the saved features
//     in provider_location, here every image is made with the defaults).
//   - CloneVolume: Cinder's create_cloned_volume — a snapshot
//     "volume-<new>.clone_snap" of the source, protected, cloned; when
//     the source's clone chain is already Config.MaxCloneDepth long
//     (Cinder's rbd_max_clone_depth, 5), the new volume is flattened and
//     the snapshot removed; a negative depth makes full copies.
//   - Delete: Cinder's delete_volume. A volume with snapshots of its own
//     is refused with a *BusyError (the snapshots go first), one that a
//     client has open too (Cinder's VolumeIsBusy). A volume that only its
//     clones hold (through its .clone_snap snapshots) is renamed
//     "volume-<id>.deleted" — gone for the volume's owner, removed when
//     its last clone goes, as Cinder's silent volumes; deleting a clone
//     removes its .clone_snap on the parent and walks up the chain.
//   - Resize (grow only), Flatten, Depth, Info, List (every image of the
//     pool, classified, for reconciling and for orphans), Sweep (what
//     work cut short or failed left: half-filled images, unused
//     .clone_snap snapshots, backups' .backup_snap snapshots, deleted
//     volumes nothing holds any more).
//     What such a leftover blocks — a killed client's watch holds it
//     until the OSDs time it out — is ErrLeftover, never ErrBusy: an
//     import or a copy waits for it, a delete is done without it.
//   - Import writes a raw file into a new volume (a volume from an
//     image), skipping runs of zeros so the image stays thin (Cinder runs
//     "rbd import" for the same reason); Export writes a volume into a
//     sparse raw file (an upload to an image, Cinder's "rbd export").
//   - OpenVolume, OpenSnapshot, OpenBackupSnapshot: a *Handle on a
//     volume's data (a restore writes it; a backup reads it), on a
//     snapshot's, or on an in-use volume's at a backup's temporary
//     snapshot "backup-<id>.backup_snap" (made again over one left by a
//     kill, removed at Close, by Sweep and by the volume's Delete):
//     ReadAt, WriteAt, Extents (the objects that exist, DiffIterate),
//     Zero (a discard, so a restore keeps the volume thin).
//   - Capacity: the pool's, by Cinder's arithmetic (df and the pool's
//     quota; total = free + used). Connection: Cinder's connection info
//     — name "pool/volume-<id>", the monitors' hosts and ports from "mon
//     dump", cluster_name, auth_enabled, auth_username, secret_type
//     "ceph", secret_uuid (the cluster's fsid unless configured),
//     volume_id, discard.
//
// Images by name, for a pool's other users (the compute agent's root
// disks on RBD, Nova's "<instance uuid>_disk" in its images_rbd_pool):
// ImageInfo, CloneImageTo (a clone of an image service's rbd://
// location, as CloneImage, through "<name>.partial"), ImportImage (as
// Import, through "<name>.partial"), GrowImage, ExportImage,
// ExportImageSnapshot (a snapshot's content, read while the image's user
// writes on), RemoveImage (with its snapshots and a half-made import or
// clone; a clone's parent is not touched), RemovePartial, and
// SnapshotImage, RollbackImage, RemoveImageSnapshot (an unprotected
// snapshot to roll back to, as Nova's resize snapshot, or to read).
// A name is letters, digits, '-' and '_'.
//
// Every operation is idempotent, because the volume agent does its work
// again after a crash: a create finds the image it made (with the size
// and parent it would give it) and finishes what is left (the resize,
// the flatten, the temporary snapshot's removal); a copy or an import
// fills "volume-<id>.partial" and renames it into place only when whole;
// so does every clone — of an image service's image (CloneImage,
// CloneImageTo), of a snapshot (CreateFromSnapshot) and of a volume
// (CloneVolume), each flattened (when it must be) and grown before the
// rename: librbd's clone makes the child before it attaches the parent,
// so a kill between the two leaves an empty image with no parent, under
// the half-made name, which the next try, Sweep or Delete removes, never
// under the final name, where it would pass for a clone flattened
// before a crash; crash point storage.rbd.cloned is after the clone,
// before its flatten, grow and rename. A clone of a volume's
// ".clone_snap" snapshot is still named by the final name; removing
// what is gone is no error.
//
// # go-ceph, not the rbd CLI
//
// The package talks to the cluster through librados and librbd with
// github.com/ceph/go-ceph (v0.34.0, the last release that lists Ceph 16
// "pacific", Debian 12's, as supported). A Client holds one cluster
// connection and one I/O context for its life, as Cinder's driver does
// through its RADOSClient: an operation is a few library calls on a
// connection already authenticated and holding the cluster maps, about
// a millisecond of work, where the rbd CLI would start a process per
// call that reads the configuration, authenticates with the monitors and
// fetches the maps (tens of milliseconds each, and a create from a
// volume is five calls). The library also gives what the CLI only gives
// as text to parse — errno values (EBUSY, ENOENT, EEXIST) that make the
// typed errors, snapshot lists, parents, children, watchers — and reads
// and writes image data in-process for Import and Export. Mon commands
// ("df", "mon dump", "osd pool get-quota") go over the same connection.
//
// # cgo and build tags
//
// go-ceph is cgo against librados and librbd, and needs the build tag of
// the installed Ceph release: go-ceph v0.34.0 built without one uses
// librbd functions of Ceph 18 and does not compile against Ceph 16's
// headers. So the real client is built with cgo and one of the release
// tags pacific, quincy, reef or squid (the Makefile and scripts/test
// pass the installed one, found by scripts/cephtag from librbd-dev's
// version), and needs Debian's librados-dev and librbd-dev (a binary
// needs librados2 and librbd1). Any other build — CGO_ENABLED=0, or a
// plain "go build ./..." without a tag — gets a stub with the same API
// whose New returns ErrUnavailable, so the repository builds and vets
// everywhere; internal/guard lists the package as a documented cgo
// driver.
package rbd
