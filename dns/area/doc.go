// Package area plugs the DNS service (Designate v2) into a kit/compose
// daemon: its config section ("dns"), its schema, its API behind the
// identity area's token validation, and, unless dns.server is false, the
// authoritative DNS server with its controllers (the publisher and the
// TSIG key follower). It needs the identity area.
//
// ServeDNS runs the same DNS server as a process of its own beside the
// controllers (`gostack dns-server`).
package area
