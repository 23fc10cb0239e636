// Package store keeps image data: a small Store contract and its
// backends, plus the one-pass hashing Glance records for every image.
//
//   - Store: streaming Put with a size limit, Get with a byte range, Stat,
//     Delete. Put hashes as it writes (Digest) and may tee the stream to
//     an inspector (image/format) so a bad image is refused mid-upload.
//   - Filesystem: objects under a directory; a Put writes a temporary file,
//     fsyncs it and renames it into place, so an object is either whole or
//     absent, never partial.
//   - httpstore (a package of its own, so that this one has no net/http):
//     read-only objects named by URL (Glance's http store and the
//     web-download import), fetched with Range requests, and the guarded
//     client that refuses internal addresses.
//
// An RBD backend lands with the storage area (Ceph); it implements the
// same interface.
//
// What it does not do: it knows nothing of image status, owners or
// quotas; the image service does.
package store
