// Package httpstore is a read-only image store over http(s) URLs, for
// Glance's web-download, and GuardedClient, the HTTP client that refuses
// to connect to loopback, link-local (the metadata service), unspecified
// and multicast addresses, checked on the address actually dialed.
//
// What it does not do: write or delete (store.ErrReadOnly), or fetch from
// anywhere without an Allow hook or a GuardedClient: the URL is the
// user's choice.
package httpstore
