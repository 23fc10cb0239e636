// Package server is an authoritative DNS server built on
// github.com/miekg/dns, usable on its own as a library.
//
// It answers from zones held in memory: Build checks a set of Zones and
// indexes them (owner name to RRsets by type, empty non-terminals,
// wildcards, delegation points and additional-section records all worked
// out once), and a Source hands the index to each query. *Zones is a
// fixed Source; Dynamic swaps whole indexes atomically, so the query path
// takes no lock and a reload never blocks a query.
//
// What it does, matched against Knot DNS by a differential test (see
// testdata/differences.md for where NSD differs and why we follow Knot):
//
//   - UDP and TCP on listeners the caller opened (Serve), or as a
//     dns.Handler mounted on the caller's own dns.Server; a UDP socket
//     bound to a specific address is served in batches (recvmmsg and
//     sendmmsg, one worker per GOMAXPROCS, no goroutine per query), any
//     other through miekg/dns's server, with the same answers;
//   - many zones, longest-suffix match, REFUSED (with EDE 20) outside them;
//   - NXDOMAIN and NODATA with the SOA at TTL min(TTL, MINIMUM) (RFC 2308);
//   - wildcards per RFC 4592, empty non-terminals, CNAME chains inside a
//     zone (five links, as Knot), referrals with glue and AA clear, DS at a
//     cut answered by the parent, A/AAAA for NS, MX, SRV, SVCB and HTTPS
//     targets in the additional section;
//   - ANY answered with one RRset (RFC 8482), the lowest type at the name;
//   - the query name's spelling kept in the question and the first answer;
//   - EDNS: OPT echoed with our buffer size (default 1232) and DO, UDP
//     answers cut to the client's size (at least 512) with TC set when an
//     answer or authority RRset does not fit, BADVERS for versions other
//     than 0, FORMERR for two OPT records;
//   - NOTIMP for opcodes other than QUERY and NOTIFY; REFUSED for classes
//     other than IN and ANY; malformed packets get FORMERR or are dropped;
//   - AXFR, and IXFR answered with the whole zone (RFC 1995 4), over TCP
//     to clients allowed by address prefix and/or TSIG key (Config.Transfer,
//     and per zone Config.ZoneTransfer), signed with
//     TSIG (RFC 8945) across every message; the keys can be replaced on
//     a running server (SetKeys);
//   - TCP bounded (Serve): an idle timeout per query and per answer
//     message written (Config.TCPIdleTimeout, a transfer is not cut while
//     it streams) and a cap on connections served at once, beyond which
//     new ones are closed at once (Config.MaxTCPConns);
//   - NOTIFY (RFC 1996), by Server.Notify or automatically when a Watcher
//     source (Dynamic) replaces a zone with a new serial, signed when the
//     target has a key, retried a bounded number of times; a NOTIFY
//     received is handed to Config.Notified (a secondary zone's master
//     announcing a change) and acknowledged when it takes it.
//
// What it does not do: recursion or forwarding, DNSSEC signing or NSEC
// proofs (records such as DS and RRSIG are served as plain data), DNAME,
// incremental IXFR from a journal, dynamic UPDATE, transferring zones in
// (dns/publish's Secondaries does, and hands the zones back to serve),
// response-rate limiting, DNS cookies, the edns-tcp-keepalive option (RFC
// 7828), evicting idle TCP connections when at the cap, per-client TCP
// limits, or classes other than IN. It keeps
// no state on disk: the caller loads zones (ParseZone reads master files)
// and calls Build again for every change.
package server
