// Package rbdstore is an image store on a Ceph RBD pool, Glance's rbd
// store: an image's data is the RBD image named by the image's id in the
// images pool, with a protected snapshot "snap" of it, and its location
// is rbd://<fsid>/<pool>/<id>/snap. Volumes on the same cluster are then
// copy-on-write clones of that snapshot (see storage/rbd).
//
// Put writes into "<id>.uploading" (blocks of zeros skipped, so the
// image stays thin), snapshots and protects it, and renames it into
// place: an image named by its id is always whole. Clean removes the
// uploads a crash left. Delete unprotects and removes the snapshot and
// the image; while clones hold the snapshot it is store.ErrInUse and
// nothing changes.
//
// The Ceph client is cgo (go-ceph): the store is built with cgo and a
// Ceph release tag (go build -tags $(scripts/cephtag)), as storage/rbd
// is; other builds have a stub whose Open returns ErrUnavailable.
package rbdstore
