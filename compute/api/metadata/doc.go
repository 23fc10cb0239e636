// Package metadata serves Nova's metadata API (the service behind
// 169.254.169.254) over a compute.Store, to a metadata proxy that names
// the instance: the network's proxy (network/metadataproxy) finds the
// instance by the network and the fixed IP a request came from, and
// forwards it with X-Instance-ID, X-Tenant-ID and
// X-Instance-ID-Signature, the HMAC-SHA256 of the instance id under the
// secret both share (Nova's metadata_proxy_shared_secret).
//
// What it serves: GET and HEAD of the EC2-style tree ("/" lists its
// versions without a proxy's headers, as Nova does; "/latest/meta-data/…",
// "/latest/user-data") and of openstack/ (its dated versions and latest:
// meta_data.json, user_data, network_data.json, vendor_data.json,
// vendor_data2.json, password), as compute/metadata builds them. Errors
// are Nova's: 400 for a missing header, 403 for a signature that does
// not match ("Invalid proxy request signature."), 404 for an instance
// that does not exist, is deleted or is another project's than the
// proxy says, and for a path the tree does not hold; webob's text/plain
// bodies.
//
// What it does not do: find an instance by the request's own address
// (Nova without service_metadata_proxy), load balancer providers
// (X-Metadata-Provider), keep a password a guest POSTs (the password
// document is always empty), vendor data providers (both vendor
// documents are empty), a cache of instances (each request reads the
// store).
package metadata
