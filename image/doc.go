// Package image will hold gostack's image area: images, their Glance
// status machine, members and quotas, with their Store.
//
// Planned building blocks: image/format (streaming format detection and
// safety checks), image/store (filesystem, HTTP and RBD object stores),
// streaming hashes, conversion with qemu-img, and image/api (Glance
// v2-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the image port (9292).
package image
