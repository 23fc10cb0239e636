package dns

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// TLD is one of the operator's top-level domains (Designate's tlds
// table). While there are none, a zone may have any name; once there is
// one, every new zone must lie below a TLD and may not be one (see
// CreateZone). Name is lowercase, without the final dot, and may have
// more than one label ("co.uk").
type TLD struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

const tldCols = "id, name, description, version, created_at, updated_at"

func tldNotFound() error { return notFound("Tld", "tld_not_found") }

// TLDName checks a TLD's name as Designate's TldField does
// (constants.RE_TLDNAME) and returns it in lowercase: labels of 1 to 63
// letters, digits, '_' or '-' (no '-' at either end) joined by dots, no
// final dot, fewer than 255 characters. Designate keeps the case it was
// given; here TLDs are lowercase, as zone names are, so "COM" and "com"
// are one TLD.
func TLDName(name string) (string, error) {
	lower := strings.ToLower(name)
	if name == "" || len(name) >= 255 {
		return "", invalid("name", "%s is not a TLD", name)
	}
	for _, label := range strings.Split(lower, ".") {
		if checkLabel(label) != "" {
			return "", invalid("name", "%s is not a TLD", name)
		}
	}
	return lower, nil
}

func checkTLD(t *TLD) error {
	var err error
	if t.Name, err = TLDName(t.Name); err != nil {
		return err
	}
	return checkDescription(t.Description)
}

func scanTLD(r scanner) (TLD, error) {
	var t TLD
	var created, updated int64
	err := r.Scan(&t.ID, &t.Name, &t.Description, &t.Version, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, err
}

func getTLD(ctx context.Context, tx *sqlstore.Tx, id string) (TLD, error) {
	rows, err := tx.Query(ctx, "SELECT "+tldCols+" FROM dns_tlds WHERE id = ?", id)
	if err != nil {
		return TLD{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return TLD{}, err
		}
		return TLD{}, tldNotFound()
	}
	return scanTLD(rows)
}

// CreateTLD stores a new TLD; ID may be preset. Names are unique (409
// duplicate_tld). TLDs are admin-only: the API checks that.
func (s *Store) CreateTLD(ctx context.Context, t TLD) (TLD, error) {
	if err := checkTLD(&t); err != nil {
		return TLD{}, err
	}
	if t.ID == "" {
		t.ID = newID()
	}
	now := s.now()
	t.Version, t.CreatedAt, t.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		// Zone creates check the TLDs under this lock.
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO dns_tlds ("+tldCols+") VALUES (?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, t.Description, t.Version, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_tld", "Duplicate Tld")
		} else if err != nil {
			return err
		}
		return s.record(ctx, tx, "tld", t.ID, "", watch.Create, t)
	})
	if err != nil {
		return TLD{}, err
	}
	return t, nil
}

// GetTLD returns a TLD (404 tld_not_found).
func (s *Store) GetTLD(ctx context.Context, id string) (TLD, error) {
	var t TLD
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		t, err = getTLD(ctx, tx, id)
		return err
	})
	return t, err
}

// ListTLDs returns every TLD by name.
func (s *Store) ListTLDs(ctx context.Context) ([]TLD, error) {
	var out []TLD
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		out, err = listTLDs(ctx, tx)
		return err
	})
	return out, err
}

func listTLDs(ctx context.Context, tx *sqlstore.Tx) ([]TLD, error) {
	rows, err := tx.Query(ctx, "SELECT "+tldCols+" FROM dns_tlds ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TLD{}
	for rows.Next() {
		t, err := scanTLD(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTLD stores t's name and description, provided the TLD is still at
// t.Version (409 otherwise). Zones made under the old name stay.
func (s *Store) UpdateTLD(ctx context.Context, t TLD) (TLD, error) {
	if err := checkTLD(&t); err != nil {
		return TLD{}, err
	}
	var out TLD
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		if _, err := getTLD(ctx, tx, t.ID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "UPDATE dns_tlds SET name = ?, description = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
			t.Name, t.Description, micros(s.now()), t.ID, t.Version)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_tld", "Duplicate Tld")
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return staleVersion("Tld", t.ID, t.Version)
		}
		if out, err = getTLD(ctx, tx, t.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "tld", out.ID, "", watch.Update, out)
	})
	return out, err
}

// DeleteTLD removes a TLD. Zones below it stay, as in Designate; while
// other TLDs remain, new zones under it are refused.
func (s *Store) DeleteTLD(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM dns_tlds WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tldNotFound()
		}
		return s.record(ctx, tx, "tld", id, "", watch.Delete, nil)
	})
}

// CheckTLD applies the TLD rule of Designate's central _is_valid_zone_name
// to a zone name (lowercase FQDN): with no TLD stored every name passes;
// else the name must lie below a TLD (400 invalid_zone_name "Invalid
// TLD") and not be one ("Zone name cannot be the same as a TLD").
// CreateZone applies it to every new zone, administrators' included; the
// API asks it first so that its errors come before the blacklist's, in
// Designate's order.
func (s *Store) CheckTLD(ctx context.Context, name string) error {
	return s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error { return checkZoneTLD(ctx, tx, name) })
}

func checkZoneTLD(ctx context.Context, tx *sqlstore.Tx, name string) error {
	bare := strings.TrimSuffix(strings.ToLower(name), ".")
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM dns_tlds", nil, &n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	labels := strings.Split(bare, ".")
	suffixes := make([]any, len(labels))
	for i := range labels {
		suffixes[i] = strings.Join(labels[i:], ".")
	}
	var found []string
	rows, err := tx.Query(ctx, "SELECT name FROM dns_tlds WHERE name IN (?"+strings.Repeat(", ?", len(suffixes)-1)+")", suffixes...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tld string
		if err := rows.Scan(&tld); err != nil {
			return err
		}
		found = append(found, tld)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(found) == 0 {
		return invalidZoneName("Invalid TLD")
	}
	for _, tld := range found {
		if tld == bare {
			return invalidZoneName("Zone name cannot be the same as a TLD")
		}
	}
	return nil
}
