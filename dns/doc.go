// Package dns will hold gostack's DNS area: zones, recordsets, pools and
// TSIG keys, with serials that only move forward, and their Store.
//
// Planned building blocks: dns/server (an authoritative server on
// github.com/miekg/dns with NOTIFY/AXFR), zone-file import and export, the
// floating-IP PTR hook, and dns/api (Designate v2-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the DNS API port (9001).
package dns
