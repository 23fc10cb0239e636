package identity

import (
	"context"

	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
)

// ChangePassword is a user's own password change, Keystone's POST
// /v3/users/{id}/password (identity/core.py change_password): the
// original password is what authorizes it, whoever asks — no token, no
// policy. A missing user, a wrong original password or a locked-out
// user is the generic 401, after the same hashing work (a wrong one
// counts towards the lockout); a disabled user (one inactive for
// disable_user_account_days_inactive days included) is Keystone's 401
// "The account is disabled for user". An expired password may be
// changed; a change with a password that has not expired is the user's
// activity.
// The new one must match the password_regex, the user must not have
// the lock_password option (Keystone's 400), and (Compliance) a
// password the user set must be minimum_password_age days old and the
// new one none of their last unique_last_password_count, with Keystone's
// 400s. Every token of the user is revoked.
// errPasswordLocked is Keystone's PasswordSelfServiceDisabled.
var errPasswordLocked = fault.New(fault.BadRequest, "You cannot change your password at this time due to password policy disallowing password changes. "+
	"Please contact your administrator to reset your password.")

func (s *Auth) ChangePassword(ctx context.Context, userID, original, newPassword string) error {
	u, err := s.Store.GetUser(ctx, userID)
	if fault.KindOf(err) == fault.NotFound {
		s.Hasher.Verify(original, s.dummyHash())
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	if err := s.verifyPassword(ctx, u, original); err != nil {
		return err
	}
	if !u.Enabled { // for inactivity too: Keystone's driver authenticate
		return unauthorized("The account is disabled for user: %s.", u.ID)
	}
	// The original password authenticated the user (Keystone's
	// change_password calls authenticate): their activity, unless the
	// password has expired (authenticate raised before it records one).
	if !expired(u, s.now()) {
		if err := s.Store.RecordActive(ctx, u); err != nil {
			return err
		}
	}
	if u.FailedAuths > 0 { // Keystone's authenticate forgets them on success
		if err := s.Store.ResetFailedAuth(ctx, u.ID); err != nil {
			return err
		}
	}
	c := &s.Store.Compliance
	if err := c.CheckPassword(newPassword); err != nil {
		return err
	}
	if on(u.Options.LockPassword) {
		return errPasswordLocked
	}
	if err := c.checkMinimumAge(u, s.now()); err != nil {
		return err
	}
	if n := c.UniqueLastPasswordCount; n > 0 {
		prev, err := s.Store.PasswordHistory(ctx, u.ID, n-1)
		if err != nil {
			return err
		}
		for _, h := range append([]string{u.PasswordHash}, prev...) {
			if ok, _ := s.Hasher.Verify(newPassword, h); h != "" && ok {
				return c.historyError()
			}
		}
	}
	hash, err := s.Hasher.Hash(newPassword)
	if err != nil {
		return err
	}
	if _, err := s.Store.SetOwnPassword(ctx, u, hash); err != nil {
		return err
	}
	return s.Revoke(ctx, revoke.Event{UserID: u.ID})
}
