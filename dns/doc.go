// Package dns is gostack's DNS area: Designate v2's data model — zones,
// recordsets, pools, TSIG keys and quotas — and its Store, on SQLite and
// PostgreSQL, every write in the watch feed (area "dns").
//
// What the Store does:
//
//   - Zones and recordsets with Designate's rules, enforced where the data
//     is: names are lowercase FQDNs; zone names are unique across projects
//     and a project cannot create a zone above or below another project's
//     zone; records are parsed with github.com/miekg/dns and stored in its
//     presentation format; a CNAME is alone at its name and never at the
//     apex; the SOA and apex NS recordsets belong to the zone and its pool;
//     quotas per project. Errors are *fault.Error values with Designate's
//     error type and, for bad input, the field.
//   - Tenancy through Viewer: a project sees its own zones and those
//     shared with it, an admin with AllProjects sees all; another
//     project's zone is not found.
//   - Shared zones (ShareZone and the rest, Designate's 2023.1 shares): a
//     zone shared with another project lets that project see it and
//     manage recordsets of its own in it, under the owner's quotas; a
//     shared zone is deleted only with its shares (DeleteZoneWith), and a
//     share only once the target's recordsets are gone.
//   - Serials that only move forward and never race, as in Designate since
//     it batched them: writes flag a zone, BumpSerials gives every flagged
//     zone its next serial in one transaction, and MarkActive turns the
//     zone ACTIVE once the nameservers answer with that serial.
//   - ServedZones, Served and ServedZone.RRs: what an authoritative server
//     (dns/server) loads, as miekg/dns records.
//   - ReverseName, the PTR name of an address, for floating-IP PTRs.
//   - Zone transfers between projects: a TransferRequest offers a zone to
//     one project or to whoever has its key; AcceptTransfer moves the zone
//     and its recordsets in one transaction (quota checked), serial and
//     content unchanged.
//   - Zone imports (ImportZone: a zone file read with miekg/dns's zone
//     parser, checked as Designate checks it, made in one transaction or
//     an ERROR task with Designate's message) and exports (CreateExport,
//     ExportFile in Designate's template).
//   - Zone names as Designate checks them: more than one label for
//     everyone (ZoneName, in CreateZone); the operator's TLDs (CreateTLD
//     and the rest): once one exists, a new zone must lie below one and
//     not be one, for everyone (CheckTLD, in CreateZone and ImportZone;
//     the reverse zones of floating-IP PTRs too, so an operator with TLDs
//     adds "arpa", as with Designate);
//     and the blacklist rules for the API to apply: the operator's
//     regular expressions (CreateBlacklist and the rest, Blacklisted;
//     read as Python's, see Blacklist) and ReservedNames.Check (public suffixes
//     of the Public Suffix List, private section included, and the
//     operator's reserved names, each covering itself and the names below
//     and above it).
//   - Pools as Designate's pool manager describes them (CreatePool,
//     UpdatePool, DeletePool): NS records, the nameservers asked for a
//     zone's serial, also-notifies and targets (secondaries of the pool's
//     zones); a pool with live zones is not deleted.
//   - Service statuses: the heartbeats of the running services
//     (Heartbeat, Heartbeater), DOWN once a service is silent.
//   - SECONDARY zones with their masters (IP addresses or hostnames):
//     SecondaryZones for the transfer loop, Transferred stores a master's
//     zone (its SOA and records as sent) for the server to serve, and
//     AskTransfer asks the loop for a check now (Designate's xfr).
//   - AbandonZone, Designate's abandon: a zone removed at once, without
//     waiting for its nameservers to drop it as DeleteZone does.
//
// What it does not do: answer DNS queries or send NOTIFY (dns/server and a
// worker do), check API policy beyond tenancy (the API edge does; TSIG keys,
// pools, TLDs and blacklists are admin-only there), CATALOG zones, or
// fetch a SECONDARY zone from its masters (it stores what dns/publish's
// Secondaries fetched).
//
// The rest of the area: dns/server answers queries, dns/publish keeps it
// in step with this Store, dns/api serves Designate v2 over it, and the
// all-in-one daemon (cmd/gostack) composes them: the API on port 9001,
// the server on dns.listen, or in `gostack dns-server` of its own.
package dns
