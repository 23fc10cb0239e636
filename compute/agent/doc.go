// Package agent is the compute host agent, Nova's nova-compute for
// gostack: one runs on every hypervisor host (the all-in-one runs it
// in-process, through the same contract) and keeps the host's guests in
// step with the instances the controller placed there.
//
// It follows kit/agent's contract. It never opens the database: it holds
// a service user's token (kit/agent.Session), follows the controller's
// watch feed of the compute area (the admin port's /v1/watch/compute)
// only as a trigger (kit/agent.Loop), and reads and reports over the
// compute API's internal routes (compute/api/nova):
//
//	GET /internal/compute/hosts/{host}                       the host's instances and their ports' status (compute.HostState)
//	PUT /internal/compute/hosts/{host}/service               heartbeat, node and inventory, every ReportInterval
//	PUT /internal/compute/hosts/{host}/instances/{id}        the end of a task (compute.InstanceReport)
//	PUT /internal/compute/hosts/{host}/instances/{id}/power  the power state of an instance with no task, when it differs
//	PUT /internal/compute/hosts/{host}/instances/{id}/console the console log's tail, when it changed
//	GET /internal/compute/images/{id}                        image data for the host's image cache
//	HEAD /internal/compute/images/{id}                       its disk format, size and rbd:// locations (X-Image-Location)
//
// Each Sync is level-triggered: it reads the whole host state, starts a
// worker for each instance with a task the agent acts on and none under
// way (task_state as Nova's compute manager reads it: spawning,
// deleting, powering-off, powering-on, rebooting, rebooting_hard,
// pausing, unpausing, suspending, resuming), cancels a worker whose
// instance has moved on to another task, reports the power state of
// instances with no task whose guest differs, sends console tails that
// changed, and destroys the driver's guests (and the agent's instance
// directories) of instances the host no longer has. A worker reports the
// task it acted on; a 409 means the instance moved on, and the next Sync
// acts on what it is now.
//
// A build (spawning) fetches the image once into the host's cache
// (StateDir/images/<id>, checked against Content-MD5, written to a
// temporary file and renamed; builds of one image share one download),
// makes the root disk as a qcow2 overlay on it
// (StateDir/instances/<id>/disk), writes a config drive when the server
// asked for one or Config.ForceConfigDrive says so
// (StateDir/instances/<id>/config.iso, compute/metadata; the others read
// the metadata service) and spawns the
// guest with its ports. Ports are plugged into Open vSwitch by Plug,
// which the composition hands to the driver (compute/qemu's
// Config.Plug): it adds the tap to the integration bridge with the
// external_ids Nova's os-vif sets, and returns only once the network
// service says the port is ACTIVE, so the guest never runs before its
// network is plumbed (Nova's vif-plugged wait, vif_plugging_timeout).
// A failed build removes what it made and puts the instance in error
// with Nova's fault "Build of instance <id> aborted: <why>".
//
// Root disks on Ceph RBD (Config.ImagesType "rbd", Nova's libvirt
// images_type=rbd): the root disk is the RBD image "<uuid>_disk" in
// Config.RBD.Pool (images_rbd_pool, "vms"), which the guest reaches
// through QEMU's librbd as a network disk (the driver holds the cephx
// key of Config.RBD.SecretUUID, as for RBD volumes). When the image is
// raw and the compute API names an rbd:// location of it on the same
// cluster (HEAD of the internal image route), the disk is a
// copy-on-write clone of the image's snapshot and the image is never
// downloaded (Nova's direct clone); otherwise the image is cached as
// usual and imported (a qcow2 one converted to raw first). Either is
// made as "<uuid>_disk.partial" and renamed once whole (librbd's clone
// makes the child before it attaches the parent: a kill between the two
// leaves an empty image with no parent), so a disk that exists is
// whole. It is grown to the flavor's root_gb. A delete removes it with
// its snapshots; a failed build removes it too, trying for 90 s while a
// client's watch holds it, and is not rescheduled when it cannot, or
// cannot reach the cluster to try (another host would boot the disk
// this build's guest wrote on); the
// first Sync removes the half-made imports and clones of this host's
// instances (never images of instances the host does not have: a disk
// is shared by every host), and a build waits for one a killed agent's
// client still holds (until the OSDs drop its watch, 30 s) rather than
// fail. A move copies no disk (Nova's shared storage path): the source
// takes the snapshot "nova-resize", the destination grows the same
// image, a revert rolls it back to the snapshot (its size too) and a
// confirm removes it. A
// snapshot (createImage) pauses the guest only while it takes the RBD
// snapshot "nova-snapshot-<image>" of the disk, reads that snapshot
// through librbd into a sparse raw file with the guest running again,
// removes it (failure or not; the first Sync removes one a kill left),
// and sends the copy as qcow2 as for a local disk (not Nova's direct snapshot into the image store's pool: one path
// for every image store). A build without Ceph support (CGO_ENABLED=0,
// no release tag) refuses ImagesType "rbd" at Run. Instances whose local
// disk exists keep it when a host turns to RBD.
//
// Every step is idempotent and keyed by the instance: the image cache,
// the disk and the config drive are kept when they exist, and a driver's
// Spawn leaves an existing guest alone. An agent killed at any point
// (kit/crashpoint's compute.agent.* points) converges when it starts
// again over the same StateDir and driver state, without restarting a
// guest that is already right.
//
// A failed build is reported with Nova's "Build of instance <id>
// aborted: <why>" and, unless the request itself is at fault (no such
// image, an image format refused, a qcow2 image image/format's
// inspection refuses — a backing file, an external data file, content
// that is not qcow2 — a flavor disk too small: Nova's
// BuildAbortException), marked for rescheduling: the
// controller tries another host (compute.Store.MaxBuildAttempts).
//
// A snapshot (image_snapshot_pending, Nova's createImage) pauses a
// running guest while qemu-img copies its disk, flattened with its base,
// into a standalone qcow2 (the pause lasts the copy: 150 ms for the tiny
// image), resumes it, and sends the copy as the image's data through the
// internal API; a failure leaves the instance as it was and is reported
// as the task's error, and the controller deletes the image.
//
// A cold move (resize, migrate) is three tasks: resize_migrating on the
// source (the guest powered off, its disk flattened and sent to the
// compute API; the stopped guest kept for a revert until the move is
// confirmed), resize_finish on the destination (the disk fetched and
// grown, the guest built with the new flavor, left off if the instance
// was stopped), resize_reverting on either (the destination removes its
// guest; the source starts its own again). A resize on one host sets the
// old disk aside and puts it back on a revert.
//
// What it does not do: volumes, rebuild, rescue, shelve and live
// migration (those task states are logged and left);
// pruning unused images from the cache (Nova's image cache manager);
// converting images to raw (Nova's force_raw_images): only raw and qcow2
// images are used, as overlays' backing files, by their declared format
// (or imported into RBD, a qcow2 one as raw); removing the RBD disks of
// instances deleted while no agent of theirs ran (they are no longer
// this host's to know).
package agent
