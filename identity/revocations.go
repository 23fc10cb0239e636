package identity

import (
	"context"
	"time"

	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// AddRevocation stores a revocation event (normalized by revoke.NewEvent)
// and prunes events older than pruneBefore in the same transaction.
func (s *Store) AddRevocation(ctx context.Context, e revoke.Event, pruneBefore time.Time) (revoke.Event, error) {
	e = revoke.NewEvent(e, time.Now())
	id := NewID()
	err := s.write(ctx, "revocation", id, watch.Create, e, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO identity_revocations (id, user_id, project_id, domain_id, domain_scope_id, role_id, trust_id,
			consumer_id, access_token_id, audit_id, audit_chain_id, expires_at, issued_before, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, e.UserID, e.ProjectID, e.DomainID, e.DomainScopeID, e.RoleID, e.TrustID, e.ConsumerID, e.AccessTokenID,
			e.AuditID, e.AuditChainID, unixOrZero(e.ExpiresAt), e.IssuedBefore.UnixMicro(), e.RevokedAt.UnixMicro())
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM identity_revocations WHERE revoked_at < ?", pruneBefore.UnixMicro())
		return err
	})
	return e, err
}

// Revocations returns every stored event, oldest first.
func (s *Store) Revocations(ctx context.Context) ([]revoke.Event, error) {
	return list(ctx, s.db, `SELECT user_id, project_id, domain_id, domain_scope_id, role_id, trust_id, consumer_id,
		access_token_id, audit_id, audit_chain_id, expires_at, issued_before, revoked_at FROM identity_revocations ORDER BY revoked_at`, nil,
		func(r interface{ Scan(...any) error }) (revoke.Event, error) {
			var e revoke.Event
			var exp, issued, revoked int64
			err := r.Scan(&e.UserID, &e.ProjectID, &e.DomainID, &e.DomainScopeID, &e.RoleID, &e.TrustID, &e.ConsumerID,
				&e.AccessTokenID, &e.AuditID, &e.AuditChainID, &exp, &issued, &revoked)
			if exp != 0 {
				e.ExpiresAt = time.UnixMicro(exp).UTC()
			}
			e.IssuedBefore, e.RevokedAt = time.UnixMicro(issued).UTC(), time.UnixMicro(revoked).UTC()
			return e, err
		})
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
