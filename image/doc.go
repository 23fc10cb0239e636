// Package image will hold gostack's image area: images, their Glance
// status machine, members and quotas, with their Store.
//
// The model (Store): image records with Glance's status machine as
// compare-and-swap transitions, visibility (public, private, shared with
// members, community, hidden), members, on SQLite and PostgreSQL, every
// write in the watch feed.
//
// Building blocks that work: image/format (streaming format detection and
// safety checks, tested on a qemu-img corpus and hostile images) and
// image/store (filesystem and read-only HTTP stores, one-pass md5 and
// os_hash digests) and image/convert (qemu-img conversion after
// inspection, with the source format explicit and process limits). Still
// to come: the RBD store (with the storage area), quotas, and image/api
// (Glance v2-compatible).
//
// The image service itself is not built yet: the all-in-one daemon does
// not open the image port (9292).
package image
