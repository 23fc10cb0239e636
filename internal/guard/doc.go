// Package guard holds repository-wide tests that keep the architecture's
// promises: the pure packages build without cgo and never pull in the
// cgo-only libraries (libvirt, go-ceph), and no production code imports
// test helpers. It has no code of its own.
package guard
