package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Trust is Keystone's OS-TRUST trust: the trustor delegates some of the
// roles they hold on a project to the trustee, who may then get
// trust-scoped tokens (as the trustor when Impersonation is set).
// RemainingUses nil is unlimited. Trusts are never redelegated here:
// RedelegationCount is always 0.
type Trust struct {
	ID                string     `json:"id"`
	TrustorUserID     string     `json:"trustor_user_id"`
	TrusteeUserID     string     `json:"trustee_user_id"`
	ProjectID         string     `json:"project_id,omitempty"`
	Impersonation     bool       `json:"impersonation"`
	ExpiresAt         *time.Time `json:"expires_at"`
	RemainingUses     *int       `json:"remaining_uses"`
	RedelegationCount int        `json:"redelegation_count"`
	RoleIDs           []string   `json:"role_ids"`
}

// Usable reports whether the trust may still scope a token at now: not
// expired and with a use left. Keystone's get_trust answers "not found"
// for the others.
func (t Trust) Usable(now time.Time) bool {
	if t.ExpiresAt != nil && now.After(*t.ExpiresAt) {
		return false
	}
	return t.RemainingUses == nil || *t.RemainingUses > 0
}

// Validate checks a trust against Keystone's schema (trust_create) and
// its SQL columns.
func (t Trust) Validate() error {
	err := first(
		optionalID("trust.id", t.ID),
		externalID("trust.trustor_user_id", t.TrustorUserID),
		externalID("trust.trustee_user_id", t.TrusteeUserID),
	)
	if err == nil && t.ProjectID != "" {
		err = id("trust.project_id", t.ProjectID)
	}
	for _, r := range t.RoleIDs {
		if err == nil {
			err = id("trust.roles", r)
		}
	}
	if err == nil && t.RemainingUses != nil && *t.RemainingUses < 1 {
		err = fault.Invalid("trust.remaining_uses", "must be at least 1")
	}
	return err
}

// externalID is Keystone's external_id_string: 1 to 64 characters.
func externalID(field, v string) error {
	if err := text(field, v, 64); err != nil {
		return err
	}
	if v == "" {
		return fault.Invalid(field, "must be 1 to 64 characters")
	}
	return nil
}

const trustCols = "id, trustor_user_id, trustee_user_id, project_id, impersonation, expires_at, remaining_uses, redelegation_count, roles"

func scanTrust(r interface{ Scan(...any) error }) (Trust, error) {
	var t Trust
	var project sql.NullString
	var expires, uses sql.NullInt64
	var roles string
	if err := r.Scan(&t.ID, &t.TrustorUserID, &t.TrusteeUserID, &project, &t.Impersonation, &expires, &uses, &t.RedelegationCount, &roles); err != nil {
		return t, err
	}
	t.ProjectID = project.String
	if expires.Valid {
		e := time.UnixMicro(expires.Int64).UTC()
		t.ExpiresAt = &e
	}
	if uses.Valid {
		n := int(uses.Int64)
		t.RemainingUses = &n
	}
	json.Unmarshal([]byte(roles), &t.RoleIDs)
	return t, nil
}

// CreateTrust stores a trust. The API checks what needs the caller (the
// trustor is the caller, the trustee exists, the trustor holds the
// roles); the store checks the values.
func (s *Store) CreateTrust(ctx context.Context, t Trust) (Trust, error) {
	if t.ID == "" {
		t.ID = NewID()
	}
	if t.RoleIDs == nil {
		t.RoleIDs = []string{}
	}
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt = &e
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	var project any
	if t.ProjectID != "" {
		project = t.ProjectID
	}
	var uses any
	if t.RemainingUses != nil {
		uses = *t.RemainingUses
	}
	err := s.write(ctx, "trust", t.ID, watch.Create, t, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_trusts ("+trustCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.TrustorUserID, t.TrusteeUserID, project, t.Impersonation, micros(t.ExpiresAt), uses, t.RedelegationCount, jsonText(t.RoleIDs))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("trust", "Duplicate entry")
		}
		return err
	})
	return t, err
}

// GetTrust returns a trust by id, whether or not it is still usable.
func (s *Store) GetTrust(ctx context.Context, id string) (Trust, error) {
	ts, err := list(ctx, s.db, "SELECT "+trustCols+" FROM identity_trusts WHERE id = ?", []any{id}, scanTrust)
	if err != nil {
		return Trust{}, err
	}
	if len(ts) == 0 {
		return Trust{}, notFound("trust", id)
	}
	return ts[0], nil
}

// TrustFilter selects trusts by trustor or trustee ("" is any).
type TrustFilter struct {
	TrustorUserID, TrusteeUserID string
}

// ListTrusts returns the trusts f selects, expired and used-up ones
// included (as Keystone's list does).
func (s *Store) ListTrusts(ctx context.Context, f TrustFilter) ([]Trust, error) {
	q, args := "SELECT "+trustCols+" FROM identity_trusts WHERE 1 = 1", []any{}
	if f.TrustorUserID != "" {
		q, args = q+" AND trustor_user_id = ?", append(args, f.TrustorUserID)
	}
	if f.TrusteeUserID != "" {
		q, args = q+" AND trustee_user_id = ?", append(args, f.TrusteeUserID)
	}
	return list(ctx, s.db, q+" ORDER BY id", args, scanTrust)
}

// DeleteTrust deletes a trust.
func (s *Store) DeleteTrust(ctx context.Context, id string) error {
	return s.write(ctx, "trust", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_trusts WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "trust", id)
	})
}

// errTrustUsedUp is Keystone's TrustUseLimitReached.
func errTrustUsedUp(id string) error {
	return forbidden("No remaining uses for trust: %s.", id)
}

// ConsumeTrustUse takes one use of a limited trust (Keystone's
// consume_use): one UPDATE that only matches while a use is left, so
// concurrent callers can never take more uses than there were. An
// unlimited trust is left alone. A trust with no use left is a 403; a
// missing one a 404.
func (s *Store) ConsumeTrustUse(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_trusts SET remaining_uses = remaining_uses - 1 WHERE id = ? AND remaining_uses > 0", id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		var uses sql.NullInt64
		if err := tx.Get(ctx, "SELECT remaining_uses FROM identity_trusts WHERE id = ?", []any{id}, &uses); err != nil {
			if errors.Is(err, sqlstore.ErrNotFound) {
				return notFound("trust", id)
			}
			return err
		}
		if !uses.Valid {
			return nil // unlimited: nothing to record
		}
		if n == 0 {
			return errTrustUsedUp(id)
		}
		return s.record(ctx, tx, "trust", id, watch.Update, map[string]any{"id": id, "remaining_uses": uses.Int64})
	})
}
