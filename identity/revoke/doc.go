// Package revoke decides whether a token is revoked, by Keystone's rules,
// in time independent of the number of revocation events.
//
// Keystone stores revocation events (revoke this audit id, this user's
// tokens, tokens of this project, with this role, under this trust, ...)
// and checks every validation against them: a SQL prefilter then a linear
// match, which slows validation as events pile up. Index keeps the events
// in memory under the one field that any token they match must share (its
// audit id, audit chain, user, project, trust, domain or role), so a check
// looks at a handful of map entries and then applies Keystone's full rule
// to the few candidates found.
//
// The identity service persists events in its store and feeds them to an
// Index (and, through the watch feed, to every other controller's).
//
// Differences from Keystone, on purpose: trust, OAuth1 consumer and access
// token conditions are applied to every event (Keystone's SQL backend
// drops them when it reads events back, so such an event revokes more
// than it names).
package revoke
