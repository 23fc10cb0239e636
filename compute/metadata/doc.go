// Package metadata is what a guest learns about itself: Nova's
// OpenStack metadata documents (meta_data.json, user_data,
// network_data.json) and the config drive that carries them, an ISO 9660
// image labelled config-2 laid out as Nova lays it out, so cloud-init
// and the tiny guest image (compute/guestimage) read it unchanged.
//
// The metadata service at 169.254.169.254, which serves the same
// documents over HTTP, is not here yet.
package metadata
