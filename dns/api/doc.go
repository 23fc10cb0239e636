// Package api serves Designate's v2 DNS API over dns.Store, on the wire
// exactly as Designate answers (designate/api/v2 and the API_v2 object
// adapters): the same fields, {"self": ...} links, collections written
// in render_list's order — the items under the collection's name first,
// then "links" (with "next" while more items follow) and, for the lists
// Designate pages in storage (zones, recordsets, imports, exports,
// transfer accepts), "metadata": {"total_count": N}; 202 with the PENDING object
// for zone and recordset writes and deletes; errors as Designate's
// FaultWrapperMiddleware renders them ({"code","type","message",
// "request_id"}), the offending field named in the message.
//
// Routes: version discovery (GET / and GET /v2, no token); zones
// (create, list with Designate's filters, sort_key, sort_dir, marker and
// limit, show, PATCH, delete) and their nameservers; recordsets per zone
// (create, list, show, PUT, delete) and across zones (GET /v2/recordsets,
// and /v2/recordsets/{id} redirecting to its canonical URL as Designate
// does); TSIG keys (CRUD, secret included as Designate returns it); pools
// and service statuses (below); quotas (GET /v2/quotas, GET/PATCH/DELETE
// /v2/quotas/{project_id}); limits; reverse floating IPs; zone transfers
// between projects (transfer requests and accepts), zone imports and
// exports, the zone tasks abandon and xfr, and shared zones (below).
//
// Every call is checked against Designate's default policies (Defaults),
// the project-scoped secure-RBAC rules Designate enforces since 17.0
// (2023.2), with identity/policy; another project's zone is 404, as in
// Designate. X-Auth-All-Projects (or ?all_projects=) needs all_tenants and
// X-Auth-Sudo-Project-ID (or -Tenant-ID) needs use_sudo, both admin-only;
// a caller without them gets 403. The handler expects identity/middleware
// in front of it: it reads the caller from the request context.
//
// Zone names are checked as Designate's central does, in its order, for
// creates and imports: a single label ("org.") is refused for everyone
// (400 invalid_zone_name, "More than one label is required"); once the
// operator stored a TLD (/v2/tlds), the name must lie below one ("Invalid
// TLD") and not be one ("Zone name cannot be the same as a TLD"), for
// everyone too; a blacklisted name needs use_blacklisted_zone (admin by
// default), and anyone else gets 400 invalid_zone_name "Blacklisted zone
// name". A name is blacklisted when one of the operator's patterns
// (/v2/blacklists) matches it, or when it is a public suffix ("co.uk.",
// "github.io.") or one of API.Reserved (dns.ReservedNames; that message
// goes on to say why). A transfer accept checks no name, as in Designate.
//
// TLDs (/v2/tlds) and blacklists (/v2/blacklists) are Designate's
// operator APIs: create (201), list (filter name or pattern, sort keys
// and paging as Designate's, no "metadata" as in Designate), show, PATCH
// and delete (204), admin-only by Designate's default policies (create_tld
// ... delete_blacklist), 409 duplicate_tld and duplicate_blacklist for a
// name or pattern taken. Differences: TLD names are kept in lowercase
// (Designate keeps the case given and compares it as is). Patterns are
// read as Python's re reads them (lookarounds, backreferences, (?P<n>...))
// and searched, as re.search, in the lowercase name with its final dot; a
// search over 20 ms counts as a match, as in Designate; a pattern that is
// not an expression is a 400 invalid_object. The engine is .NET's syntax
// (regexp2), so a few patterns Python refuses are taken (a lookbehind of
// variable width), and \Z also matches before a final newline, which no
// zone name has.
//
// Where it differs from Designate, on purpose: "next" links only while
// more items follow (Designate also links an empty page after a full
// last one); limit above max_limit_v2 (1000) is capped; total_count is
// counted by listing every match (see OpenStack-DNS-Hide-Counts); a
// caller refused X-Auth-All-Projects or sudo gets Designate's error body
// (Designate's context middleware answers an empty 403); GET /v2 answers
// the version list as GET / does; integers in bodies must be JSON
// numbers (Designate's objects also take "600"); besides the operator's
// patterns, the Public Suffix List and API.Reserved, fixed when the API
// is built, are blacklisted too (a reserved name covers the names above
// and below it), with a message that says why after Designate's
// "Blacklisted zone name"; the zone-name check comes before the quota
// check (Designate checks the quota first); a record repeated in a
// recordset is kept once when it is the same record in any spelling
// ("2001:DB8::1" and "2001:db8::1"; Designate keeps a set of the strings
// given); a secondary zone's master must be an IP address or a hostname
// with an optional port from 1 to 65535, and a TSIG key's name a domain
// name and its secret base64 (Designate stores any string, which then
// fails on the secondaries); Designate reads a request body of any size
// and answers it by its content, while gostack stops reading at 4 MiB
// (32 MiB for a zone file) — above anything Designate's default quotas
// accept — with a 413 request_body_too_large.
//
// As in Designate: a zone's TTL may be 0 (null or absent is
// default_ttl, 3600); a TXT record ending with a backslash is refused
// (quote the text to end it with an escaped one); an NS recordset cannot
// have a wildcard name.
//
// Reverse DNS of floating IPs (/v2/reverse/floatingips) lists the
// project's floating IPs of the network service (API.FloatingIPs) with
// their PTR records; PATCH sets a PTR recordset in the deepest zone that
// holds the address's reverse name, or in a zone made for its /24 (/64)
// under dns.ManagedProject, and ptrdname null removes it; the write is
// checked as update_recordset of the project's own primary zone.
// dns.PTRFollower removes the PTR of a floating IP the network service
// deletes.
//
// Zone transfers between projects: POST
// /v2/zones/{zone_id}/tasks/transfer_requests offers a zone to one
// project (target_project_id) or to any project that has the key; the
// request (list, show, PATCH, delete under
// /v2/zones/tasks/transfer_requests) shows its key, projects and times to
// the owner's readers and admins only (get_zone_transfer_request_detailed),
// and is listed to its owner and its target; POST
// /v2/zones/tasks/transfer_accepts with the request's id and key moves
// the zone and its recordsets to the caller's project in one transaction
// (its zones quota checked; nothing changes on any error) and makes the
// request COMPLETE; the zone keeps its serial and content, so the
// nameservers serve it as before. Differences: a request targeted at
// another project is 404 to a caller who is neither its owner nor its
// target (Designate answers 403, so its existence shows); the request
// belongs to the zone's project, also when an admin makes it (Designate
// gives it the caller's project); target_project_id must look like a
// Keystone project id.
//
// Zone import and export: POST /v2/zones/tasks/imports takes an RFC 1035
// zone file (text/dns, or application/json {"zonefile": ...}) and makes
// the zone within the request, so the 202 answers it already COMPLETE
// (with zone_id) or ERROR (with Designate's message: $ORIGIN missing,
// malformed file, no SOA, duplicate zone, quota, or "An undefined error
// occurred. ..." for the zone's own checks, the blacklist included);
// Designate answers PENDING and imports in the background. POST
// /v2/zones/{zone_id}/tasks/export is likewise COMPLETE at once (over
// api_export_size it is a 413), and GET
// /v2/zones/tasks/exports/{id}/export renders the zone as it is then, in
// Designate's export-zone template, as text/dns. Imports and exports are
// listed, shown and deleted under /v2/zones/tasks/imports and
// /v2/zones/tasks/exports, each project's own only. $INCLUDE is refused
// (malformed). Recordsets of the same creation time are exported SOA, NS,
// then by name (Designate: by creation time only).
//
// Pools (/v2/pools[/{id}]): Designate's pool writes (POST 201, PATCH
// 202, DELETE 204; deprecated in Designate in favour of designate-manage
// and pools.yaml), admin-only by its policies, taking besides the API
// adapter's fields (name, description, attributes, ns_records, and
// project_id on create) the ones pools.yaml gives its pool manager:
// nameservers and also_notifies ([{"host", "port"}]) and targets
// ([{"type", "description", "masters", "options", "tsigkey_id"}]); views
// show them too. The publisher follows a change at once: also-notifies
// and targets get the NOTIFYs of the pool's zones, targets may transfer
// them (from options host, with tsigkey_id's key when set), and a zone is
// ACTIVE once the pool's nameservers (none: gostack's DNS server) have
// its serial. Refused as in Designate: deleting a pool with zones (400
// invalid_operation "pool must not contain zones"; zones being deleted
// move to the default pool), removing a pool's last NS record (400
// last_server_delete_not_allowed). Differences: the one target type is
// "secondary" (a DNS server that transfers the pool's zones; gostack
// drives no backend such as bind9's rndc), with options host (an IP
// address) and port only; the default pool is never deleted, nor a pool
// with TSIG keys of scope POOL, nor a key a target signs with; the
// default pool's ns_records and also_notifies come from the daemon's
// configuration (API.PinnedPool) and are refused here (400
// invalid_operation).
//
// SECONDARY zones are created with their masters (IP addresses or
// hostnames, with an optional port) and transferred in from them, as
// Designate's worker does: at once, on a master's NOTIFY and every SOA
// refresh (AXFR, or IXFR applied as a diff), signed with the zone's TSIG
// key (scope ZONE) when it has one; the zone takes the master's SOA
// (serial, email, TTL, timers), its recordsets are the master's (read
// here, never written), and it is ACTIVE once the DNS server serves the
// master's serial. A zone no master answers for stays as it was (PENDING
// before its first transfer); it never expires.
//
// TSIG keys (admin-only) take effect on the DNS server without a
// restart: a key lets its holder transfer (AXFR, IXFR) what it is scoped
// to, from any address, as Designate's mini-DNS does — a ZONE key its
// zone, a POOL key its pool's zones — and a pool target or the daemon's
// allow_transfer and also_notify may name one.
//
// Service statuses (GET /v2/service_statuses[/{id}], admin-only): the
// heartbeats of the services that run (dns.Heartbeater: "api",
// "publisher", "dns-server"), rendered as Designate's, filtered by
// hostname, service_name and status. A status is the service's own (UP,
// or WARNING when something it does fails) and reads DOWN once the
// service stopped or has been silent for three heartbeat intervals
// (Designate shows a dead service's last status for ever). Sort keys and
// limit are applied (Designate checks them and returns every status).
//
// Zone tasks abandon and xfr. POST /v2/zones/{zone_id}/tasks/abandon
// (abandon_zone: admins) removes the zone from the database at once and
// answers 204 with no body. Designate's abandon deletes the zone in its
// storage without telling its backends, which keep serving it; gostack's
// own DNS server has no copy of its own but serves what the database
// holds, so it stops answering for the zone at once (at the publisher's
// next rebuild), while secondaries that transferred the zone (a pool's
// targets and also-notifies) are told nothing and keep their copy until
// its SOA expire runs out. To hand a zone over to other servers, let them
// transfer it first (a TSIG key of scope ZONE allows them), then abandon
// it. A zone being deleted may be abandoned (its deletion no longer
// waits for the nameservers); a zone with subzones is refused (400
// zone_has_sub_zone), as in Designate. POST
// /v2/zones/{zone_id}/tasks/xfr (xfr_zone: the zone's members) has a
// SECONDARY zone's masters asked for its serial at once and the zone
// transferred when one has a newer one (dns/publish Secondaries), and
// answers 202 with the JSON empty string, as Designate does; a PRIMARY
// zone is Designate's 400 "Can't XFR a non Secondary zone.". Differences:
// a zone being deleted is refused too (400; Designate's worker would try
// a transfer anyway), and the masters are asked after the answer, by the
// transfer loop, where Designate asks one of them within the request.
//
// Shared zones (Designate 2023.1, API 2.1): POST /v2/zones/{zone_id}/shares
// {"target_project_id"} (share_zone: the zone's members; 201) shares a
// zone with another project, which then sees the zone ("shared": true, in
// its zone list too) and every recordset of it, and creates recordsets
// of its own in it (they carry its project_id and count against the
// zone owner's quotas) and changes and deletes those, never the zone
// itself, its other recordsets, nameservers, exports, transfers, shares
// or xfr; the owner manages every recordset. GET .../shares (filter
// target_project_id, sort keys created_at and updated_at, no "metadata")
// and GET .../shares/{id} show the shares the caller may see (the
// owner's and the target's; another project's list is empty, its show a
// 404 shared_zone_not_found), under Designate's policies: a list needs
// find_project_zone_share on the project filtered on (the caller's own
// without a filter: members, not readers), a show get_zone_share on the
// zone's owner (so the target gets 403 there). DELETE .../shares/{id}
// (unshare_zone: the owner; 204) is refused while the target owns
// recordsets in the zone (400 shared_zone_has_recordsets). A shared zone
// is deleted or abandoned only with X-Designate-Delete-Shares: true,
// which removes its shares (else 400 zone_is_shared). As in Designate:
// sharing with the zone's owner is a 400 "Cannot share the zone with the
// zone owner.", sharing twice a 409 duplicate_shared_zone; the target's
// readers may create recordsets in the zone too (Designate's
// create_recordset checks no role for a shared zone); GET /v2/recordsets
// lists the recordsets the caller's project owns, so an owner finds the
// target's recordsets under the zone's own list. Differences: a share
// belongs to the zone's owner (Designate records the caller's project, so
// an admin's share is one the owner can neither see nor remove) and
// follows the zone through a transfer, a share with the project accepting
// it being dropped; a recordset an admin creates in another project's
// zone belongs to the zone's owner (Designate: to the admin's project);
// target_project_id must look like a Keystone project id (Designate asks
// Keystone whether the project exists, and takes it when it cannot ask);
// a zone being deleted cannot be shared.
//
// Zone task pool_move. POST /v2/zones/{zone_id}/tasks/pool_move
// {"pool_id"} moves a zone to another pool (dns.Store.MoveZone), checked
// in PoolMoveController's order: the zone id (400 invalid_uuid), the body
// (400 invalid_json), get_zone (404), a zone being deleted, a pool_id
// naming the zone's own pool (400 "Target pool must be different for
// zone pool move", before the policy, so a member is told so), the body's
// keys as the zone adapter reads them and pool_id a UUID (400
// invalid_object), then the policy pool_move_zone (admins: 403), a pool
// that does not exist (400 "Target pool does not exist", as Designate's
// central answers it: not a 404), and a pool_id absent or null, which
// moves the zone to the default pool, as Designate's default scheduler
// picks it (400 "No valid pool selected" when the zone is there). 202
// with the JSON empty string. The publisher follows the zone's pool at
// once. Differences: a PRIMARY zone's serial is bumped (Designate keeps
// it, so its secondaries would not see the new NS records), and a target
// pool without NS records is 400 no_servers_configured (Designate: 500).
//
// What it does not do. Not served: json-patch bodies (501, as in
// Designate), except on pool_move, whose controller reads them as JSON. The
// X-Designate-Edit-Managed-Records and X-Designate-Hard-Delete headers are
// checked against their policies but change nothing: managed recordsets
// (the SOA and apex NS) stay read-only, and a zone is always deleted from
// its nameservers. Zone attributes are accepted and not kept, except
// "pool_id" which, for admins (zone_create_forced_pool), picks the pool as
// Designate's pool_id_attribute scheduler filter does.
package api
