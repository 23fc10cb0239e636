// Package compute will hold gostack's compute area: the server model and
// its state machine, the Store, and the controller that turns desired
// servers into placements and driver calls.
//
// Planned building blocks, each usable alone:
//
//   - compute/scheduler: filters, weighers, allocation ratios and claims;
//     pure Go, no libvirt.
//   - compute/libvirt: a driver on libvirt.org/go/libvirt (cgo, isolated).
//   - compute/qemu: a driver that runs QEMU directly over QMP.
//   - compute/api: the Nova v2.1-compatible REST handler.
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the compute port (8774).
package compute
