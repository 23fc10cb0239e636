// Package publish keeps an authoritative DNS server (dns/server) in step
// with the zone store (package dns): it serves a snapshot of every live
// primary zone, follows the watch feed to rebuild it when anything
// changes, bumps serials in batches (Designate's producer), and marks a
// zone ACTIVE once every nameserver of its pool (or Servers) answers its
// SOA query with the new serial (Designate's PollForZone). A zone being
// deleted leaves the index at once; when none of those nameservers
// answers for it any more, the publisher ends the deletion
// (FinishDelete), which frees the name; PurgeAfter later removes the row.
// Every rebuild reads the pools too, so the server's NOTIFY targets and
// per-zone transfer ACLs (NotifyTargets, ZoneTransfer: the pool's
// also-notifies and targets) follow a pool change without a restart.
//
// It rebuilds the whole index on a change, which is simple and correct;
// for very large deployments a per-zone rebuild is the upgrade path.
//
// Secondaries transfers SECONDARY zones in from their masters (AXFR,
// IXFR applied as a diff), at once when a zone appears, a master sends
// NOTIFY (the server's Config.Notified) or a transfer is asked for
// (dns.Store.AskTransfer, the API's xfr task), and then every SOA
// refresh; the Publisher serves what it stored like any zone.
//
// What it does not do: answer queries or send NOTIFY (the dns/server
// Server that serves Target does both, to the secondaries NotifyTargets
// names), expire a SECONDARY zone no master answers for (it keeps being
// served), or write zones and recordsets (the Store's callers do). A
// Publisher runs once: one per Target.
package publish
