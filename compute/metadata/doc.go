// Package metadata is what a guest learns about itself: Nova's
// OpenStack metadata documents (meta_data.json, user_data,
// network_data.json) and the config drive that carries them, an ISO 9660
// image labelled config-2 laid out as Nova lays it out, so cloud-init
// and the tiny guest image (compute/guestimage) read it unchanged.
//
// Instance.Lookup is the tree the metadata service at 169.254.169.254
// serves (compute/api/metadata over HTTP): the EC2-style versions and
// meta-data/user-data, and openstack/ with its dated versions, each
// document with the fields its version had, as Nova's
// InstanceMetadata.lookup answers.
package metadata
