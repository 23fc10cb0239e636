// Package image is gostack's image area: image records with Glance's
// status machine, visibility, members (Store), and the service that moves
// data in and out of them (Service).
//
// Store keeps records on SQLite or PostgreSQL, every transition a
// compare-and-swap on the old status, every write in the watch feed.
// Service uploads (inspection by image/format and hashing by image/store
// while the data streams, bounded by the size cap and the owner's byte
// quota), stages and imports (glance-direct, web-download), downloads,
// deletes, and recovers writes a restart interrupted. image/api is the
// Glance v2 HTTP API on top; image/convert converts after inspection.
//
// Not here: image locations and multiple stores, Glance's tasks and cache
// APIs, metadefs, and the RBD store (it comes with the storage area).
package image
