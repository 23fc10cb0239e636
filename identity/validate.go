package identity

import (
	"context"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/revoke"
)

// Validate checks a token as Keystone does: its keys and expiry, then that
// it is not revoked, that its user, the user's domain and its scope are
// still enabled and exist, and that the user still holds a role on the
// scope. Any failure is a 401 whose message says what failed.
func (s *Auth) Validate(ctx context.Context, tok string) (Token, error) {
	p, err := s.Tokens.Parse(tok)
	if err != nil {
		return Token{}, errUnauthorized
	}
	if !s.now().Before(p.ExpiresAt) {
		return Token{}, unauthorized("The token has expired.")
	}
	t, err := s.expand(ctx, tok, p)
	if err != nil {
		return Token{}, err
	}
	if s.revoked.Revoked(revokeView(&t)) {
		return Token{}, unauthorized("The token has been revoked.")
	}
	return t, nil
}

// expand loads what a payload refers to and checks it is all still usable.
func (s *Auth) expand(ctx context.Context, tok string, p fernet.Payload) (Token, error) {
	t := Token{ID: tok, Payload: p}
	u, err := s.Store.GetUser(ctx, p.UserID)
	if err != nil {
		return Token{}, unauthorized("Could not find user: %s.", p.UserID)
	}
	if t.UserDomain, err = s.usable(ctx, u); err != nil {
		return Token{}, unauthorized("User %s or their domain is disabled.", u.ID)
	}
	t.User = u
	var targetType, targetID string
	switch {
	case p.ProjectID != "":
		proj, err := s.Store.GetProject(ctx, p.ProjectID)
		if err != nil || !proj.Enabled {
			return Token{}, unauthorized("Unable to validate token because project %s is disabled or gone.", p.ProjectID)
		}
		pd, err := s.Store.GetDomain(ctx, proj.DomainID)
		if err != nil || !pd.Enabled {
			return Token{}, unauthorized("Unable to validate token because domain %s is disabled.", proj.DomainID)
		}
		t.Project, t.ProjectDomain = &proj, &pd
		targetType, targetID = TargetProject, proj.ID
	case p.DomainID != "":
		d, err := s.Store.GetDomain(ctx, p.DomainID)
		if err != nil || !d.Enabled {
			return Token{}, unauthorized("Unable to validate token because domain %s is disabled.", p.DomainID)
		}
		t.Domain = &d
		targetType, targetID = TargetDomain, d.ID
	case p.System != "":
		t.System = true
		targetType, targetID = TargetSystem, p.System
	default:
		return t, nil // unscoped: no roles
	}
	if p.TrustID != "" {
		return s.expandTrust(ctx, t)
	}
	ids, err := s.Store.EffectiveRoleIDs(ctx, u.ID, targetType, targetID)
	if err != nil {
		return Token{}, err
	}
	if p.AppCredID != "" {
		if ids, err = s.appCredRoles(ctx, p.AppCredID, ids, &t); err != nil {
			return Token{}, err
		}
	}
	if len(ids) == 0 {
		return Token{}, unauthorized("User %s has no access to %s %s.", u.ID, targetType, targetID)
	}
	for _, id := range ids {
		r, err := s.Store.GetRole(ctx, id)
		if err != nil {
			continue // deleted between the two reads
		}
		t.Roles = append(t.Roles, r)
	}
	return t, nil
}

// appCredRoles narrows the user's roles to those delegated to the
// credential (all of them, after implied roles, that the user still has).
func (s *Auth) appCredRoles(ctx context.Context, id string, userRoles []string, t *Token) ([]string, error) {
	ac, err := s.Store.GetAppCred(ctx, id)
	if err != nil {
		return nil, unauthorized("Could not find application credential: %s.", id)
	}
	if ac.ExpiresAt != nil && !s.now().Before(*ac.ExpiresAt) {
		return nil, unauthorized("The application credential has expired.")
	}
	t.AppCred = &ac
	delegated, err := s.Store.expand(ctx, ac.RoleIDs)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range userRoles {
		for _, d := range delegated {
			if id == d {
				out = append(out, id)
				break
			}
		}
	}
	return out, nil
}

// revokeView is what the revocation check needs of a token.
func revokeView(t *Token) *revoke.Token {
	v := &revoke.Token{
		UserID: t.User.ID, IdentityDomainID: t.User.DomainID, IssuedAt: t.Payload.IssuedAt, ExpiresAt: t.Payload.ExpiresAt,
		AuditID: t.Payload.AuditIDs[0], AccessTokenID: t.Payload.AccessTokenID, TrustID: t.Payload.TrustID,
	}
	if t.Trust != nil {
		v.TrustorID, v.TrusteeID = t.Trust.TrustorUserID, t.Trust.TrusteeUserID
	}
	if len(t.Payload.AuditIDs) > 1 {
		v.AuditChainID = t.Payload.AuditIDs[1]
	} else {
		v.AuditChainID = v.AuditID
	}
	if t.Project != nil {
		v.ProjectID, v.AssignmentDomainID = t.Project.ID, t.Project.DomainID
	}
	if t.Domain != nil {
		v.AssignmentDomainID = t.Domain.ID
	}
	for _, r := range t.Roles {
		v.Roles = append(v.Roles, r.ID)
	}
	return v
}

// MaxTokenAge bounds how long revocation events are kept: tokens live
// TokenTTL, plus Keystone's 48 h allow_expired window.
func (s *Auth) maxTokenAge() time.Duration { return s.TokenTTL + 48*time.Hour }

// Revoke stores a revocation event, adds it to the index, and prunes both.
func (s *Auth) Revoke(ctx context.Context, e revoke.Event) error {
	cutoff := s.now().Add(-s.maxTokenAge())
	e, err := s.Store.AddRevocation(ctx, e, cutoff)
	if err != nil {
		return err
	}
	s.revoked.Add(e)
	s.revoked.Prune(cutoff)
	s.Changed()
	return nil
}

// RevokeToken revokes one token (and only it) by its audit id, as
// DELETE /v3/auth/tokens does.
func (s *Auth) RevokeToken(ctx context.Context, tok string) error {
	t, err := s.Validate(ctx, tok)
	if err != nil {
		return err
	}
	return s.Revoke(ctx, revoke.Event{AuditID: t.Payload.AuditIDs[0]})
}

// LoadRevocations fills the in-memory index from the store (at start, and
// after a watch-feed resync).
func (s *Auth) LoadRevocations(ctx context.Context) error {
	evs, err := s.Store.Revocations(ctx)
	if err != nil {
		return err
	}
	var fresh revoke.Index
	for _, e := range evs {
		fresh.Add(e)
	}
	s.revoked.Replace(&fresh)
	s.Changed()
	return nil
}

// AddRevocationEvent adds an event another controller stored (it arrives
// through the watch feed).
func (s *Auth) AddRevocationEvent(e revoke.Event) {
	s.revoked.Add(e)
	s.Changed()
}
