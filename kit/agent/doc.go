// Package agent is the client side of the contract between a gostack
// controller and its host agents (network, and later compute, volume and
// load balancer): the one way an agent talks to the cloud.
//
// The contract:
//
//   - An agent never opens the database. A hypervisor holds no database
//     credentials, only a service user's (Credentials).
//   - It authenticates to Keystone as that user (Session: a token scoped
//     to the service project, renewed before it expires and after a 401).
//   - It follows the controller's watch feed over HTTP (the admin port's
//     /v1/watch/<area>, which needs the service or admin role) only as a
//     trigger, and reads its host's whole desired state from its area's
//     internal API, a snapshot that names the feed revision it was read
//     at (Loop).
//   - It reports what it observed (agent liveness, a port plumbed) back
//     over that API, with the same token.
//   - It is level-triggered: every Sync compares the full desired state
//     with what the host really has and changes only the difference.
//     Killed at any point, it converges when it starts again, and it does
//     not disturb what is already right.
//
// The all-in-one daemon runs its agents in-process through this same
// contract, over loopback HTTP, so the single-host path is the
// multi-host path.
package agent
