// Package identity will hold gostack's identity area: domains, projects,
// users, groups, roles and assignments, the service catalog, application
// credentials and revocation, with their Store.
//
// Building blocks, each usable alone:
//
//   - identity/fernet: Keystone-compatible Fernet tokens (every payload
//     version, byte-for-byte with Keystone) and Keystone's key repository.
//     Works, tested against Keystone's own formatter.
//   - identity/policy: the oslo.policy rule language and Keystone's default
//     rules (in progress).
//   - planned: identity/middleware (local token validation for any Go HTTP
//     service), password hashing compatible with Keystone, the store-backed
//     model, and identity/api (Keystone v3-compatible).
//
// The identity service itself is not built yet: the all-in-one daemon does
// not open the identity port (5000), and the openrc file it writes cannot
// authenticate until it is.
package identity
