package identity

import (
	"context"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// keepPassword records the password old is leaving in its history, and
// keeps only the last ones unique_last_password_count needs (one at
// least), as Keystone's password setter truncates its list.
func (s *Store) keepPassword(ctx context.Context, tx *sqlstore.Tx, old User) error {
	created := old.PasswordCreatedAt
	if created == nil {
		now := s.now()
		created = &now
	}
	if _, err := tx.Exec(ctx, "INSERT INTO identity_password_history (user_id, seq, password_hash, created_at) "+
		"SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ? FROM identity_password_history WHERE user_id = ?",
		old.ID, nullString(old.PasswordHash), micros(created), old.ID); err != nil {
		return err
	}
	keep := max(s.Compliance.UniqueLastPasswordCount, 1)
	_, err := tx.Exec(ctx, "DELETE FROM identity_password_history WHERE user_id = ? AND seq NOT IN "+
		"(SELECT seq FROM identity_password_history WHERE user_id = ? ORDER BY seq DESC LIMIT ?)", old.ID, old.ID, keep)
	return err
}

// PasswordHistory returns the hashes of a user's last n passwords before
// the current one, newest first ("" for a time without a password).
func (s *Store) PasswordHistory(ctx context.Context, userID string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	return list(ctx, s.db, "SELECT COALESCE(password_hash, '') FROM identity_password_history WHERE user_id = ? ORDER BY seq DESC LIMIT ?",
		[]any{userID, n}, func(r interface{ Scan(...any) error }) (string, error) {
			var h string
			err := r.Scan(&h)
			return h, err
		})
}

// SetOwnPassword stores a password a user set themselves (a self-service
// change: minimum_password_age counts from it, and it does not expire at
// once under change_password_upon_first_use), keeping the one it
// replaces in the history. u is the user as read when the change was
// checked: if meanwhile the password was locked (Keystone's 400), the
// user disabled (401) or the password changed (ErrUserChanged), nothing
// is written.
func (s *Store) SetOwnPassword(ctx context.Context, u User, hash string) (User, error) {
	old := u
	u.PasswordHash = hash
	s.newPassword(&u, true)
	u.FailedAuths, u.LastFailedAuth = 0, nil
	err := s.write(ctx, "user", u.ID, watch.Update, u, func(tx *sqlstore.Tx) error {
		// What the change was checked against still holds: an
		// administrator who locked the password, disabled the user or
		// reset the password meanwhile wins (Keystone checks
		// lock_password in the driver's write session).
		cur, err := s.lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		switch {
		case on(cur.Options.LockPassword):
			return errPasswordLocked
		case !cur.Enabled:
			return unauthorized("The account is disabled for user: %s.", u.ID)
		case cur.PasswordHash != old.PasswordHash:
			return ErrUserChanged
		}
		if err := s.keepPassword(ctx, tx, old); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE identity_users SET password_hash = ?, password_expires_at = ?, password_created_at = ?, password_self_service = ?, "+
			"failed_auth_count = 0, failed_auth_at = NULL WHERE id = ?",
			nullString(u.PasswordHash), micros(u.PasswordExpiresAt), micros(u.PasswordCreatedAt), u.PasswordSelfService, u.ID)
		if err != nil {
			return err
		}
		return affected(res, "user", u.ID)
	})
	return u, err
}

// RecordFailedAuth counts a failed password authentication of a user
// (Keystone's _record_failed_auth). Bookkeeping, not a change of the
// user: it is not in the feed.
func (s *Store) RecordFailedAuth(ctx context.Context, userID string) error {
	_, err := s.db.Exec(ctx, "UPDATE identity_users SET failed_auth_count = failed_auth_count + 1, failed_auth_at = ? WHERE id = ?",
		s.now().UnixMicro(), userID)
	return err
}

// RecordActive stamps today as u's last activity (Keystone's
// set_last_active_at, after a successful password authentication) while
// Compliance.DisableUserAccountDaysInactive is on. It keeps a date, so it
// writes at most once a day per user (not when u, as read, was active
// today already); bookkeeping, not a change of the user: it is not in the
// feed.
func (s *Store) RecordActive(ctx context.Context, u User) error {
	today := s.Compliance.activeToday(s.now())
	if today == nil || (u.LastActiveAt != nil && !u.LastActiveAt.Before(*today)) {
		return nil
	}
	_, err := s.db.Exec(ctx, "UPDATE identity_users SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at < ?)",
		today.UnixMicro(), u.ID, today.UnixMicro())
	return err
}

// ResetFailedAuth forgets a user's failed authentications (Keystone's
// _reset_failed_auth), after a success or a lockout that ran out.
func (s *Store) ResetFailedAuth(ctx context.Context, userID string) error {
	_, err := s.db.Exec(ctx, "UPDATE identity_users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = ? AND failed_auth_count <> 0", userID)
	return err
}
