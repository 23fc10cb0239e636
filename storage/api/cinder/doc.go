// Package cinder is the Block Storage API v3 (Cinder 21's, Zed) over a
// storage.Store, as an http.Handler: version discovery, microversions
// 3.0 to 3.70 (OpenStack-API-Version: volume 3.x), Cinder's URLs with
// and without the project id after /v3, Cinder's error bodies, its
// request body reading and JSON-schema messages, and its default
// policies (generated from python3-cinder by scripts/cinder-policy).
//
// What it does not do: it keeps no state of its own and talks to no
// backend (the Store and the volume agents do, through the internal
// API); it authenticates no one (identity/middleware puts the caller in
// the request's context). docs/compatibility.md lists what is served,
// what is not yet, and the differences on purpose.
package cinder
