package identity

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the identity schema, to apply with watch.Migrations().
func Migrations() sqlstore.Migrations {
	return sqlstore.Migrations{Area: "identity", FS: migrationFS, Dir: "migrations"}
}

// Store keeps the identity model in a sqlstore database. Every change is
// appended to the watch feed (area "identity") in the same transaction.
type Store struct {
	// MaxProjectTreeDepth is Keystone's max_project_tree_depth: how many
	// levels of projects a domain may hold (0: DefaultMaxProjectTreeDepth).
	MaxProjectTreeDepth int
	// Compliance is Keystone's [security_compliance]; call its Validate
	// before setting it.
	Compliance Compliance
	// Now is the clock of password expiry and lockout (time.Now if nil).
	Now func() time.Time
	// AuthMethods is Keystone's [auth] methods (nil: its default,
	// fernet.DefaultMethods, which has no totp): the ones gostack
	// implements are served (ServedMethods), and users' multi-factor
	// rules may name only those. The token Formatter's Methods must be
	// the same list, whose order gives the tokens' method bits.
	AuthMethods []string

	db   *sqlstore.DB
	feed *watch.Log
}

// NewStore returns a store over db, whose schema must include Migrations()
// and watch.Migrations().
func NewStore(db *sqlstore.DB, feed *watch.Log) *Store { return &Store{db: db, feed: feed} }

// DB returns the database.
func (s *Store) DB() *sqlstore.DB { return s.db }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewID returns a Keystone-style id: 32 lowercase hex digits.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// write runs fn in a transaction and records the change in the feed.
func (s *Store) write(ctx context.Context, kind, id string, op watch.Op, v any, fn func(tx *sqlstore.Tx) error) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.record(ctx, tx, kind, id, op, v)
	})
}

func (s *Store) record(ctx context.Context, tx *sqlstore.Tx, kind, id string, op watch.Op, v any) error {
	_, err := s.feed.AppendValue(ctx, tx, watch.Change{Area: "identity", Kind: kind, ID: id, Op: op}, v)
	return err
}

// affected turns "no row changed" into a not-found error.
func affected(res interface{ RowsAffected() (int64, error) }, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
