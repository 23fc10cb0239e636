package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

const appCredCols = "id, name, user_id, project_id, secret_hash, description, expires_at, unrestricted, roles"

func scanAppCred(r interface{ Scan(...any) error }) (AppCred, error) {
	var a AppCred
	var expires sql.NullInt64
	var roles string
	if err := r.Scan(&a.ID, &a.Name, &a.UserID, &a.ProjectID, &a.SecretHash, &a.Description, &expires, &a.Unrestricted, &roles); err != nil {
		return a, err
	}
	if expires.Valid {
		t := time.UnixMicro(expires.Int64).UTC()
		a.ExpiresAt = &t
	}
	json.Unmarshal([]byte(roles), &a.RoleIDs)
	return a, nil
}

// CreateAppCred stores an application credential (with its secret hash).
func (s *Store) CreateAppCred(ctx context.Context, a AppCred) (AppCred, error) {
	if a.ID == "" {
		a.ID = NewID()
	}
	if a.RoleIDs == nil {
		a.RoleIDs = []string{}
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	err := s.write(ctx, "application_credential", a.ID, watch.Create, a, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_app_creds ("+appCredCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.ID, a.Name, a.UserID, a.ProjectID, a.SecretHash, a.Description, micros(a.ExpiresAt), a.Unrestricted, jsonText(a.RoleIDs))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("application credential", fmt.Sprintf("Duplicate entry found with name %s", a.Name))
		}
		return err
	})
	return a, err
}

// GetAppCred returns an application credential by id.
func (s *Store) GetAppCred(ctx context.Context, id string) (AppCred, error) {
	as, err := list(ctx, s.db, "SELECT "+appCredCols+" FROM identity_app_creds WHERE id = ?", []any{id}, scanAppCred)
	if err != nil {
		return AppCred{}, err
	}
	if len(as) == 0 {
		return AppCred{}, notFound("application credential", id)
	}
	return as[0], nil
}

// GetAppCredByName returns a user's application credential by name.
func (s *Store) GetAppCredByName(ctx context.Context, userID, name string) (AppCred, error) {
	as, err := list(ctx, s.db, "SELECT "+appCredCols+" FROM identity_app_creds WHERE user_id = ? AND name = ?", []any{userID, name}, scanAppCred)
	if err != nil {
		return AppCred{}, err
	}
	if len(as) == 0 {
		return AppCred{}, notFound("application credential", name)
	}
	return as[0], nil
}

// ListAppCreds returns a user's application credentials.
func (s *Store) ListAppCreds(ctx context.Context, userID, name string) ([]AppCred, error) {
	q, args := "SELECT "+appCredCols+" FROM identity_app_creds WHERE user_id = ?", []any{userID}
	if name != "" {
		q, args = q+" AND name = ?", append(args, name)
	}
	return list(ctx, s.db, q+" ORDER BY name", args, scanAppCred)
}

// DeleteAppCred deletes an application credential.
func (s *Store) DeleteAppCred(ctx context.Context, id string) error {
	return s.write(ctx, "application_credential", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_app_creds WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "application credential", id)
	})
}
