// Package dhcp is DHCP for the instance ports of one network, served the
// way Neutron's DHCP agent serves it: one dnsmasq per network, inside the
// network's namespace, handing out static leases only (each port's MAC
// gets its fixed IP) with per-subnet options: router (3), DNS servers
// (6), MTU (26), domain (15), and classless static routes (121, and 249
// for old Windows clients) that end with the default route through the
// gateway, because RFC 3442 clients ignore option 3 once 121 is present.
//
// Server.Apply makes the running service serve a Config. It writes
// dnsmasq's host, addn_hosts and opts files atomically and then does the
// least that makes dnsmasq use them: nothing when dnsmasq already serves
// this Config, SIGHUP when only hosts or options changed (dnsmasq rereads
// those files without dropping anything), a restart only when dnsmasq's
// command line must change (a subnet added or removed, its lease time or
// MTU changed), and a start when it is not running. The running dnsmasq
// is found by its pid file and checked against /proc/<pid>/cmdline, so a
// pid reused by another process is never signalled; the leases file is
// kept across restarts. A new Server value with the same Dir, in a new
// agent process, adopts the dnsmasq it finds there. Last, Apply releases
// the leases of hosts that are gone (a DHCPRELEASE sent to dnsmasq on
// the interface, which is what Neutron's dhcp_release does); otherwise
// dnsmasq would keep a deleted port's address for its old MAC until the
// lease ran out, and a new port given that address would get none.
//
// Why dnsmasq as a separate process and not a DHCP server inside the
// agent: it outlives an agent restart, so leases are renewed and new
// ports are served while the agent is down or upgrading; it is what
// Neutron runs, so operators know how to read its files, leases and logs;
// and it rereads its hosts and options files on SIGHUP, so port changes
// need no restart.
//
// dnsmasq is started daemonized, in the network namespace through setns
// on a locked thread (no ip netns exec), as root; it drops to user nobody
// and reads its hosts and opts files as that user, so Apply keeps Dir and
// its files world-readable and refuses a Dir that user nobody cannot
// reach. DNS is off (--port=0): names are served by the cloud's DNS, and
// each subnet's DNS servers are handed out as option 6, none when it has
// none. The addn_hosts file (IP, FQDN, host name) is written as Neutron
// writes it, for operators and for a later DNS mode, and is not served.
// Host lines carry no set:port-<id> tag: dnsmasq 2.90 crashes on SIGHUP
// when such a host has a lease.
//
// What it does not do: create the namespace or the interface dnsmasq
// listens on, or give the interface its addresses (the agent plugs the
// DHCP port; Apply only sets lo up in the namespace, as the release goes
// through it); IPv6 (DHCPv6, router advertisements); DNS; per-port extra
// DHCP options; the isolated-subnet metadata route (pass it as a Route).
package dhcp
