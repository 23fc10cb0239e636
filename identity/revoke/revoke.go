package revoke

import (
	"slices"
	"sync"
	"time"
)

// Event is a revocation event. Empty fields match anything; IssuedBefore
// bounds it to tokens issued at or before that instant.
type Event struct {
	UserID, ProjectID, DomainID, RoleID, TrustID string
	ConsumerID, AccessTokenID                    string
	AuditID, AuditChainID                        string
	// DomainScopeID matches tokens scoped to the domain. NewEvent moves
	// DomainID here when ExpiresAt is set, as Keystone does.
	DomainScopeID string
	ExpiresAt     time.Time // match only tokens expiring at this second
	IssuedBefore  time.Time
	RevokedAt     time.Time
}

// NewEvent normalizes e as Keystone's RevokeEvent: times to the second,
// RevokedAt defaulting to now, IssuedBefore to RevokedAt, and a domain
// with an expiry turned into a domain scope.
func NewEvent(e Event, now time.Time) Event {
	if e.DomainID != "" && !e.ExpiresAt.IsZero() {
		e.DomainScopeID, e.DomainID = e.DomainID, ""
	}
	e.ExpiresAt = e.ExpiresAt.Truncate(time.Second)
	if e.RevokedAt.IsZero() {
		e.RevokedAt = now.UTC().Truncate(time.Second)
	}
	if e.IssuedBefore.IsZero() {
		e.IssuedBefore = e.RevokedAt
	}
	return e
}

// Token is what a revocation check needs to know about a token.
type Token struct {
	UserID, TrustorID, TrusteeID string
	ProjectID                    string
	IdentityDomainID             string // the user's domain
	AssignmentDomainID           string // the scope's domain (project's domain, or the domain)
	TrustID, ConsumerID          string
	AccessTokenID                string
	AuditID, AuditChainID        string
	Roles                        []string // role ids
	IssuedAt, ExpiresAt          time.Time
}

// Matches is Keystone's rule (SQL prefilter and revoke_model.matches): is
// t revoked by e?
func (e *Event) Matches(t *Token) bool {
	if e.IssuedBefore.Before(t.IssuedAt) {
		return false
	}
	if e.UserID != "" && e.UserID != t.UserID && e.UserID != t.TrustorID && e.UserID != t.TrusteeID {
		return false
	}
	if !eq(e.ProjectID, t.ProjectID) || !eq(e.AuditID, t.AuditID) || !eq(e.AuditChainID, t.AuditChainID) ||
		!eq(e.TrustID, t.TrustID) || !eq(e.ConsumerID, t.ConsumerID) || !eq(e.AccessTokenID, t.AccessTokenID) ||
		!eq(e.DomainScopeID, t.AssignmentDomainID) {
		return false
	}
	if e.DomainID != "" && e.DomainID != t.IdentityDomainID && e.DomainID != t.AssignmentDomainID {
		return false
	}
	if !e.ExpiresAt.IsZero() && !e.ExpiresAt.Equal(t.ExpiresAt.Truncate(time.Second)) {
		return false
	}
	if e.RoleID != "" && !slices.Contains(t.Roles, e.RoleID) {
		return false
	}
	return true
}

// eq: an empty event field matches anything.
func eq(event, token string) bool { return event == "" || event == token }

// Index holds events for fast checks. The zero value is ready; it is safe
// for concurrent use.
type Index struct {
	mu     sync.RWMutex
	by     map[key][]*Event
	others []*Event // events with no indexable field (e.g. expiry only)
	n      int
}

// key is one indexable field value.
type key struct {
	field byte
	value string
}

const (
	fAudit byte = iota
	fChain
	fUser
	fProject
	fTrust
	fDomainScope
	fDomain
	fRole
	fConsumer
	fAccessToken
)

// home is the field an event is filed under: the first set field in order
// of selectivity. Any token the event matches has that value, so looking
// the token's values up under each field finds every candidate.
func home(e *Event) (key, bool) {
	for _, k := range []key{
		{fAudit, e.AuditID}, {fChain, e.AuditChainID}, {fUser, e.UserID}, {fProject, e.ProjectID},
		{fTrust, e.TrustID}, {fAccessToken, e.AccessTokenID}, {fConsumer, e.ConsumerID},
		{fDomainScope, e.DomainScopeID}, {fDomain, e.DomainID}, {fRole, e.RoleID},
	} {
		if k.value != "" {
			return k, true
		}
	}
	return key{}, false
}

// Add files an event; adding an identical event again does nothing.
func (x *Index) Add(e Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.by == nil {
		x.by = map[key][]*Event{}
	}
	p := &e
	k, indexed := home(p)
	bucket := x.others
	if indexed {
		bucket = x.by[k]
	}
	for _, have := range bucket {
		if *have == e {
			return // the same event again (e.g. local add and watch feed)
		}
	}
	if indexed {
		x.by[k] = append(x.by[k], p)
	} else {
		x.others = append(x.others, p)
	}
	x.n++
}

// Len reports the number of events held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// Revoked reports whether any event revokes t.
func (x *Index) Revoked(t *Token) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	check := func(k key) bool {
		if k.value == "" {
			return false
		}
		for _, e := range x.by[k] {
			if e.Matches(t) {
				return true
			}
		}
		return false
	}
	if check(key{fAudit, t.AuditID}) || check(key{fChain, t.AuditChainID}) ||
		check(key{fUser, t.UserID}) || check(key{fUser, t.TrustorID}) || check(key{fUser, t.TrusteeID}) ||
		check(key{fProject, t.ProjectID}) || check(key{fTrust, t.TrustID}) ||
		check(key{fAccessToken, t.AccessTokenID}) || check(key{fConsumer, t.ConsumerID}) ||
		check(key{fDomainScope, t.AssignmentDomainID}) ||
		check(key{fDomain, t.IdentityDomainID}) || check(key{fDomain, t.AssignmentDomainID}) {
		return true
	}
	for _, r := range t.Roles {
		if check(key{fRole, r}) {
			return true
		}
	}
	for _, e := range x.others {
		if e.Matches(t) {
			return true
		}
	}
	return false
}

// Prune drops events that can no longer match a valid token: those whose
// IssuedBefore is before cutoff (pass now minus the longest token lifetime,
// as Keystone's expiration plus its allow_expired window). It returns how
// many it dropped.
func (x *Index) Prune(cutoff time.Time) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	dropped := 0
	keep := func(list []*Event) []*Event {
		out := list[:0]
		for _, e := range list {
			if e.IssuedBefore.Before(cutoff) {
				dropped++
				continue
			}
			out = append(out, e)
		}
		return out
	}
	for k, list := range x.by {
		if list = keep(list); len(list) == 0 {
			delete(x.by, k)
		} else {
			x.by[k] = list
		}
	}
	x.others = keep(x.others)
	x.n -= dropped
	return dropped
}

// Replace makes x hold exactly what other holds (other must not be used
// afterwards). Use it to reload from the store without a moment in which
// the index is empty.
func (x *Index) Replace(other *Index) {
	other.mu.Lock()
	by, others, n := other.by, other.others, other.n
	other.mu.Unlock()
	x.mu.Lock()
	x.by, x.others, x.n = by, others, n
	x.mu.Unlock()
}
