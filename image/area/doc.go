// Package area plugs the image service (Glance v2) into a kit/compose
// daemon: its config section ("image"), its schema, and its API behind
// the identity area's token validation. It needs the identity area.
//
// Image data lives in files under image.dir (<data_dir>/images by
// default): data/ for active images, staging/ for interrupted and
// staged uploads, which the start recovers.
package area
