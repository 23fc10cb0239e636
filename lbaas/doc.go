// Package lbaas will hold gostack's load-balancer area: load balancers,
// listeners, pools, members and health monitors, with their Store.
//
// Planned building blocks: lbaas/haproxy (configuration rendering, process
// control, hitless reload), lbaas/amphora (agent and heartbeats), a health
// manager, VRRP, and lbaas/api (Octavia v2-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the load-balancer port (9876).
package lbaas
