// Package identity will hold gostack's identity area: domains, projects,
// users, groups, roles and assignments, the service catalog, application
// credentials and revocation, with their Store.
//
// Planned building blocks, each usable alone: identity/fernet
// (Keystone-compatible Fernet tokens and key repository), identity/policy
// (the oslo.policy rule language), identity/middleware (local token
// validation for any Go HTTP service), password hashing compatible with
// Keystone, and identity/api (Keystone v3-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the identity port (5000), and the
// openrc file it writes cannot authenticate.
package identity
