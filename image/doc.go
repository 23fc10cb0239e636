// Package image will hold gostack's image area: images, their Glance
// status machine, members and quotas, with their Store.
//
// Building blocks that work: image/format (streaming format detection and
// safety checks, tested on a qemu-img corpus and hostile images) and
// image/store (filesystem and read-only HTTP stores, one-pass md5 and
// os_hash digests). Still to come: conversion with qemu-img, the RBD
// store (with the storage area), the image model and status machine, and
// image/api (Glance v2-compatible).
//
// The image service itself is not built yet: the all-in-one daemon does
// not open the image port (9292).
package image
