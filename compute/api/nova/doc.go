// Package nova serves the Compute API v2.1 (Nova's, port 8774) over a
// compute.Store: version discovery with microversions 2.1 to 2.93 (Nova
// 26, Zed), Nova's error bodies and Nova's default policies (generated
// from python3-nova by scripts/nova-policy).
//
// Served: servers, their power actions, os-resetState and console
// output, their instance actions with events, flavors
// (with extra specs and access lists), key pairs, server groups, host
// aggregates, availability zones, services and hypervisors (see
// docs/compatibility.md for each call and the differences), and under
// /internal/compute the API of the compute host agents.
package nova
