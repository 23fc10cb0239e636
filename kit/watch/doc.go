// Package watch is gostack's replacement for OpenStack's message broker: an
// ordered change feed stored next to the data it describes.
//
// Every stored resource change is appended, in the same transaction as the
// change itself, to a log under one global, gapless, monotonic revision.
// Agents (compute, network, volume, amphora, DNS) long-poll the feed of
// their area with ?since=REV, apply what changed, and remember the last
// revision they applied. Because the log lives in the same database
// transaction as the state, there is no dual-write problem: a change is in
// the feed if and only if it committed.
//
// Old entries are compacted away. A watcher whose revision is older than
// the compaction horizon gets ErrCompacted (HTTP 410 "resync needed"): it
// must list the full state, then watch from the revision returned with the
// list. Follow implements that loop for agents.
//
// Waking: in-process writers wake waiters after commit; on PostgreSQL a
// LISTEN/NOTIFY channel wakes waiters in other controllers; and every
// waiter re-checks the database at a poll interval, so a lost wake-up only
// delays, never loses, a change.
//
// The feed over HTTP (the long-poll handler and its client) is in
// kit/watch/watchhttp, its Prometheus metrics in kit/watch/watchprom: this
// package has neither net/http nor Prometheus, so a domain package that
// writes to the feed stays free of both.
//
// What it does not do: it carries no payload guarantees beyond "the
// resource's state after the change" and is not a general message queue.
// There is no fan-out of commands; agents reconcile desired state.
package watch
