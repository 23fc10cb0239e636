// Package nova serves the Compute API v2.1 (Nova's, port 8774) over a
// compute.Store: version discovery with microversions 2.1 to 2.93 (Nova
// 26, Zed), Nova's error bodies and Nova's default policies (generated
// from python3-nova by scripts/nova-policy).
//
// What is served so far: flavors (with extra specs and access lists),
// key pairs, availability zones, host aggregates, services, hypervisors,
// server groups and limits. Servers and their actions come with the
// compute agent that builds them; until then /servers is not routed.
package nova
