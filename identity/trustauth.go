package identity

import (
	"context"
	"slices"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/revoke"
)

// usableTrust returns the trust id names if it can still scope a token:
// it exists, has not expired and has a use left. Anything else is
// Keystone's 401 "Could not find trust".
func (s *Auth) usableTrust(ctx context.Context, id string) (Trust, error) {
	tr, err := s.Store.GetTrust(ctx, id)
	if err != nil || !tr.Usable(s.now()) {
		return Trust{}, unauthorized("Could not find trust: %s.", id)
	}
	return tr, nil
}

// TrustUsable reports whether tr may still scope a token now (Keystone's
// get_trust finds it): not expired, with a use left.
func (s *Auth) TrustUsable(tr Trust) bool { return tr.Usable(s.now()) }

// trustScope scopes p to a trust u is the trustee of (scope
// "OS-TRUST:trust"): the token is the trustee's, on the trust's project.
func (s *Auth) trustScope(ctx context.Context, u User, id string, p *fernet.Payload) error {
	tr, err := s.usableTrust(ctx, id)
	if err != nil {
		return err
	}
	if tr.TrusteeUserID != u.ID {
		return forbidden("User is not a trustee.")
	}
	if tr.ProjectID == "" {
		return forbidden("A trust without a project cannot scope a token.")
	}
	p.TrustID, p.ProjectID = tr.ID, tr.ProjectID
	return nil
}

// expandTrust finishes expand for a trust-scoped token (t has its
// trustee, project and project domain): the trust must still exist and
// not have expired, the token's user must be its trustee, the trustor
// and their domain enabled, and the trustor must still hold every role
// the trust delegates (with the roles they imply) on the project. The
// token's roles are those, but domain-specific ones; its user is the
// trustor when the trust impersonates. Keystone's messages.
func (s *Auth) expandTrust(ctx context.Context, t Token) (Token, error) {
	p := t.Payload
	tr, err := s.Store.GetTrust(ctx, p.TrustID)
	if err != nil || (tr.ExpiresAt != nil && s.now().After(*tr.ExpiresAt)) {
		return Token{}, unauthorized("Could not find trust: %s.", p.TrustID)
	}
	if tr.TrusteeUserID != p.UserID || tr.ProjectID != p.ProjectID {
		return Token{}, unauthorized("User is not a trustee.")
	}
	trustor, err := s.Store.GetUser(ctx, tr.TrustorUserID)
	if err != nil {
		return Token{}, unauthorized("Could not find user: %s.", tr.TrustorUserID)
	}
	trustorDomain, err := s.usable(ctx, trustor)
	if err != nil {
		return Token{}, unauthorized("Trustor is disabled.")
	}
	held, err := s.Store.HeldRoleIDs(ctx, trustor.ID, TargetProject, tr.ProjectID)
	if err != nil {
		return Token{}, err
	}
	delegated, err := s.Store.expand(ctx, tr.RoleIDs)
	if err != nil {
		return Token{}, err
	}
	for _, id := range delegated {
		if !slices.Contains(held, id) {
			return Token{}, unauthorized("Trustee has no delegated roles.")
		}
		r, err := s.Store.GetRole(ctx, id)
		if err != nil {
			return Token{}, unauthorized("Trustee has no delegated roles.")
		}
		if r.DomainID == "" {
			t.Roles = append(t.Roles, r)
		}
	}
	if len(t.Roles) == 0 {
		return Token{}, unauthorized("Trustee has no delegated roles.")
	}
	t.Trust = &tr
	if tr.Impersonation {
		t.User, t.UserDomain = trustor, trustorDomain
	}
	return t, nil
}

// DeleteTrust deletes a trust and revokes its tokens (Keystone's trust
// callback: a revocation event by trust id).
func (s *Auth) DeleteTrust(ctx context.Context, id string) error {
	if err := s.Store.DeleteTrust(ctx, id); err != nil {
		return err
	}
	return s.Revoke(ctx, revoke.Event{TrustID: id})
}
