package dns

import (
	"context"
	"errors"
	"time"

	"github.com/gostack/gostack/kit/pyregex"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Blacklist is one of the operator's zone-name patterns (Designate's
// blacklists table): a regular expression searched for, anywhere, in the
// lowercase FQDN of each new zone ("example.org.", final dot included), as
// Designate's re.search does. A zone whose name one matches is
// blacklisted (see Blacklisted); who may create it anyway is the API's
// decision (Designate's use_blacklisted_zone policy).
//
// Patterns are read as Python's re reads them (kit/pyregex): lookarounds
// such as (?!...), backreferences such as \1, (?P<n>...) and (?P=n), (?i)
// and the rest of the common syntax. A search that runs longer than
// BlacklistTimeout counts as a match, as Designate counts one that runs
// over its 20 ms.
type Blacklist struct {
	ID          string    `json:"id"`
	Pattern     string    `json:"pattern"`
	Description string    `json:"description"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// BlacklistTimeout bounds one pattern's search of a zone name
// (Designate's 20 ms).
const BlacklistTimeout = 20 * time.Millisecond

// compilePattern compiles a blacklist pattern as Python's re would read
// it (kit/pyregex).
func compilePattern(p string) (*pyregex.Regexp, error) {
	return pyregex.Compile(p, BlacklistTimeout)
}

// maxPattern is Designate's limit on a pattern (DenylistFields maxLength).
const maxPattern = 255

const blacklistCols = "id, pattern, description, version, created_at, updated_at"

func blacklistNotFound() error { return notFound("Blacklist", "blacklist_not_found") }

// checkBlacklist checks a pattern as Designate's DenylistFields does (not
// empty, at most 255 characters, a valid regular expression) and the
// description.
func checkBlacklist(b Blacklist) error {
	if b.Pattern == "" {
		return invalid("pattern", "%s is not a valid regular expression", b.Pattern)
	}
	if len(b.Pattern) > maxPattern {
		return invalid("pattern", "Value too long for pattern")
	}
	if _, err := compilePattern(b.Pattern); err != nil {
		return invalid("pattern", "%s is not a valid regular expression: %v", b.Pattern, errors.Unwrap(err))
	}
	return checkDescription(b.Description)
}

func scanBlacklist(r scanner) (Blacklist, error) {
	var b Blacklist
	var created, updated int64
	err := r.Scan(&b.ID, &b.Pattern, &b.Description, &b.Version, &created, &updated)
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return b, err
}

func getBlacklist(ctx context.Context, tx *sqlstore.Tx, id string) (Blacklist, error) {
	rows, err := tx.Query(ctx, "SELECT "+blacklistCols+" FROM dns_blacklists WHERE id = ?", id)
	if err != nil {
		return Blacklist{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Blacklist{}, err
		}
		return Blacklist{}, blacklistNotFound()
	}
	return scanBlacklist(rows)
}

// CreateBlacklist stores a new pattern; ID may be preset. Patterns are
// unique (409 duplicate_blacklist). Blacklists are admin-only: the API
// checks that.
func (s *Store) CreateBlacklist(ctx context.Context, b Blacklist) (Blacklist, error) {
	if err := checkBlacklist(b); err != nil {
		return Blacklist{}, err
	}
	if b.ID == "" {
		b.ID = newID()
	}
	now := s.now()
	b.Version, b.CreatedAt, b.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO dns_blacklists ("+blacklistCols+") VALUES (?, ?, ?, ?, ?, ?)",
			b.ID, b.Pattern, b.Description, b.Version, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_blacklist", "Duplicate Blacklist")
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "blacklist", b.ID, "", watch.Create, b)
	})
	if err != nil {
		return Blacklist{}, err
	}
	return b, nil
}

// GetBlacklist returns a pattern (404 blacklist_not_found).
func (s *Store) GetBlacklist(ctx context.Context, id string) (Blacklist, error) {
	var b Blacklist
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		b, err = getBlacklist(ctx, tx, id)
		return err
	})
	return b, err
}

// ListBlacklists returns every pattern, in the order they were created.
func (s *Store) ListBlacklists(ctx context.Context) ([]Blacklist, error) {
	rows, err := s.db.Query(ctx, "SELECT "+blacklistCols+" FROM dns_blacklists ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Blacklist{}
	for rows.Next() {
		b, err := scanBlacklist(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// UpdateBlacklist stores b's pattern and description, provided it is still
// at b.Version (409 otherwise).
func (s *Store) UpdateBlacklist(ctx context.Context, b Blacklist) (Blacklist, error) {
	if err := checkBlacklist(b); err != nil {
		return Blacklist{}, err
	}
	var out Blacklist
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := getBlacklist(ctx, tx, b.ID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE dns_blacklists SET pattern = ?, description = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
			b.Pattern, b.Description, micros(s.now()), b.ID, b.Version)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_blacklist", "Duplicate Blacklist")
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return staleVersion("Blacklist", b.ID, b.Version)
		}
		if out, err = getBlacklist(ctx, tx, b.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "blacklist", out.ID, "", watch.Update, out)
	})
	return out, err
}

// DeleteBlacklist removes a pattern. Patterns only ever refuse new zones:
// adding or removing one changes no zone.
func (s *Store) DeleteBlacklist(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM dns_blacklists WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return blacklistNotFound()
		}
		return s.record(ctx, tx, "blacklist", id, "", watch.Delete, nil)
	})
}

// Blacklisted reports whether one of the stored patterns matches the zone
// name (a lowercase FQDN): nil when none does, else Designate's 400
// invalid_zone_name "Blacklisted zone name" (which names no pattern). It is
// the rule only, like ReservedNames.Check: the API lets callers with
// use_blacklisted_zone through. A stored pattern that no longer compiles
// (a database edited by hand), or whose search runs over
// BlacklistTimeout, counts as a match, as Designate counts a pattern it
// cannot evaluate in time.
func (s *Store) Blacklisted(ctx context.Context, name string) error {
	list, err := s.ListBlacklists(ctx)
	if err != nil {
		return err
	}
	for _, b := range list {
		re, err := compilePattern(b.Pattern)
		if err != nil {
			return invalidZoneName("Blacklisted zone name")
		}
		// re.search: anywhere in the name. An error is the timeout.
		if found, err := re.Search(name); found || err != nil {
			return invalidZoneName("Blacklisted zone name")
		}
	}
	return nil
}
