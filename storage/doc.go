// Package storage will hold gostack's block-storage area: volumes,
// snapshots and attachments, their Store, and the backend scheduler.
//
// Planned building blocks: storage/iscsi (tgt targets, CHAP, connection
// info), storage/rbd (Ceph images, snapshots, clones; cgo, isolated), and
// storage/api (Cinder v3-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the volume port (8776).
package storage
