package identity

import (
	"context"

	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
)

// ChangePassword is a user's own password change, Keystone's POST
// /v3/users/{id}/password (identity/core.py change_password): the
// original password is what authorizes it, whoever asks — no token, no
// policy. A missing user or a wrong original password is the generic
// 401, after the same hashing work; a disabled user is Keystone's 401
// "The account is disabled for user". Every token of the user is
// revoked.
func (s *Auth) ChangePassword(ctx context.Context, userID, original, newPassword string) error {
	u, err := s.Store.GetUser(ctx, userID)
	if fault.KindOf(err) == fault.NotFound {
		s.Hasher.Verify(original, s.dummyHash())
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummyHash() // no password: nothing matches, at the same cost
	}
	if ok, err := s.Hasher.Verify(original, hash); !ok || err != nil || u.PasswordHash == "" {
		return errUnauthorized
	}
	if !u.Enabled {
		return unauthorized("The account is disabled for user: %s.", u.ID)
	}
	if u.PasswordHash, err = s.Hasher.Hash(newPassword); err != nil {
		return err
	}
	if _, err := s.Store.UpdateUser(ctx, u); err != nil {
		return err
	}
	return s.Revoke(ctx, revoke.Event{UserID: u.ID})
}
