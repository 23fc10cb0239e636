package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Both wrap fault kinds, so the API edge maps them to
// 404 and 409 without knowing about SQL.
var (
	// ErrNotFound is returned by Get-style helpers when no row matched.
	ErrNotFound = fmt.Errorf("sqlstore: %w", fault.ErrNotFound)
	// ErrConflict wraps unique and foreign-key violations.
	ErrConflict = fmt.Errorf("sqlstore: %w", fault.ErrConflict)
	// ErrNewerSchema means the database has migrations this binary does not know.
	ErrNewerSchema = errors.New("sqlstore: database schema is newer than this binary")
)

// translate turns engine errors into kit errors, keeping the original in
// the chain for logs.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if isConstraint(err) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func isConstraint(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" || pe.Code == "23503" // unique_violation, foreign_key_violation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return true
		}
	}
	return false
}

// retryable reports whether a transaction failed only because of
// contention and may be run again from the start.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
