// Package compute is gostack's compute area: the Placement model kept in
// a Store on kit/sqlstore (every write appended to the watch feed, area
// "compute") and the Nova objects the scheduler needs.
//
// What works today:
//
//   - Placement (placement_*.go): resource providers in trees,
//     inventories with their usage kept beside them, custom resource
//     classes and traits (os-traits' standard ones built in),
//     aggregates, consumers and allocations. Claim and ClaimAll write a
//     consumer's allocations atomically: the consumer generation is
//     compared and bumped, every amount is checked against its inventory
//     by a conditional UPDATE while the row is held, and every provider
//     touched gets a new generation, all in one transaction; no provider
//     exceeds its capacity whatever the number of schedulers, processes
//     or controllers claiming. ReportHost applies allocation ratios as
//     Nova meant them (Ratios: initial once, override always, otherwise
//     whatever an admin set). AllocationCandidates searches trees a chunk
//     at a time until the limit. Errors carry Placement's codes
//     (CodeConcurrentUpdate...).
//
//   - Nova's host aggregates (with metadata and availability zones),
//     server groups (a member is placed under the group's row lock, so
//     the late affinity check cannot be raced) and services (heartbeats,
//     Nova's up rule).
//
//   - The instance lifecycle as Nova's (lifecycle.go): vm_state,
//     task_state and power_state, the API status derived from them
//     (Status, checked against Nova's own status_from_state for every
//     pair), and each server action's allowed starting states with the
//     task_state it sets (Actions; Check refuses with Nova's 409 naming
//     the state). The servers that use them come with the compute issue.
//
//   - The driver contract lives in compute/virt (see below);
//     PowerState here is its type.
//
// Building blocks, each usable alone:
//
//   - compute/placement: Placement's resource model as plain values
//     (Inventory and its capacity rule, Provider, Candidates).
//   - compute/scheduler: filters, weighers and the scheduling framework;
//     pure Go.
//   - compute/virt: the hypervisor driver contract (Driver, optional
//     abilities answering ErrNotSupported, a registry with no global).
//   - compute/guestimage: the tiny cloud guest image, built offline from
//     Debian packages.
//   - compute/metadata: Nova's metadata documents and the config drive.
//   - compute/api/placement: the Placement API v1 handler.
//   - compute/qemu, compute/libvirt: the hypervisor drivers.
//   - compute/agent: the compute host agent.
//   - compute/api/nova: the Compute API v2.1.
//
// Servers: Instance, the builder (Builder: Nova's conductor for new
// instances), key pairs, flavors and compute nodes are in this package's
// Store; Networks and Images are what it needs of the network and image
// services.
package compute
