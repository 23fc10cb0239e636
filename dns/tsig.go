package dns

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// TSIGAlgorithms are the algorithms Designate accepts.
func TSIGAlgorithms() []string {
	return []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}
}

// maxTSIGField is Designate's maxLength of a key's name and secret.
const maxTSIGField = 160

const tsigCols = "id, name, algorithm, secret, scope, resource_id, version, created_at, updated_at"

func scanTSIGKey(r scanner) (TSIGKey, error) {
	var k TSIGKey
	var created, updated int64
	err := r.Scan(&k.ID, &k.Name, &k.Algorithm, &k.Secret, &k.Scope, &k.ResourceID, &k.Version, &created, &updated)
	k.CreatedAt, k.UpdatedAt = fromMicros(created), fromMicros(updated)
	return k, err
}

// feedView is the key as the feed carries it: without its secret, which
// only GetTSIGKey and ListTSIGKeys return.
func (k TSIGKey) feedView() TSIGKey {
	k.Secret = ""
	return k
}

// keyName reports whether name can name a TSIG key on the wire: a domain
// name of letters, digits, '-' and '_' labels, the final dot optional.
func keyName(name string) bool {
	for _, label := range strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".") {
		if checkLabel(label) != "" {
			return false
		}
	}
	return true
}

// checkTSIGKey checks a key's fields and that its pool or zone exists.
func checkTSIGKey(ctx context.Context, tx *sqlstore.Tx, k *TSIGKey) error {
	if k.Name == "" || len(k.Name) > maxTSIGField {
		return invalid("name", "name is required and at most %d characters", maxTSIGField)
	}
	if !keyName(k.Name) {
		// Designate stores any string; the name travels in every signed
		// message, so one that is not a domain name cannot be a TSIG key.
		return invalid("name", "name %q cannot be a TSIG key: a key's name is a domain name (RFC 8945), such as "+
			"\"transfer-key\" or \"key.example.org.\"", k.Name)
	}
	k.Algorithm = strings.ToLower(k.Algorithm)
	if !slices.Contains(TSIGAlgorithms(), k.Algorithm) {
		return invalid("algorithm", "algorithm %q is not one of %s", k.Algorithm, strings.Join(TSIGAlgorithms(), ", "))
	}
	if len(k.Secret) > maxTSIGField {
		return invalid("secret", "secret is longer than %d characters", maxTSIGField)
	}
	if b, err := base64.StdEncoding.DecodeString(k.Secret); err != nil || len(b) == 0 {
		// Designate stores any string, which then fails on every
		// secondary; the secret itself is not repeated in the message.
		return invalid("secret", "secret cannot be a TSIG key: a TSIG secret is base64 (RFC 8945, as in a BIND or Knot "+
			"key statement, e.g. the output of 'tsig-keygen' or 'openssl rand -base64 32'); Designate would store it, "+
			"and every secondary would refuse the key")
	}
	var table string
	switch k.Scope {
	case ScopePool:
		table = "dns_pools"
	case ScopeZone:
		table = "dns_zones"
	default:
		return invalid("scope", "scope must be POOL or ZONE, not %q", k.Scope)
	}
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM "+table+" WHERE id = ?", []any{k.ResourceID}, &n); err != nil {
		return err
	}
	if n == 0 {
		return invalid("resource_id", "no %s with id %q", strings.ToLower(k.Scope), k.ResourceID)
	}
	return nil
}

func getTSIGKey(ctx context.Context, tx *sqlstore.Tx, id string) (TSIGKey, error) {
	rows, err := tx.Query(ctx, "SELECT "+tsigCols+" FROM dns_tsigkeys WHERE id = ?", id)
	if err != nil {
		return TSIGKey{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return TSIGKey{}, err
		}
		return TSIGKey{}, notFound("TsigKey", "tsigkey_not_found")
	}
	return scanTSIGKey(rows)
}

// CreateTSIGKey stores a new key; ID may be preset. Names are unique
// (409 duplicate_tsigkey). Keys are admin-only: the API checks that.
func (s *Store) CreateTSIGKey(ctx context.Context, k TSIGKey) (TSIGKey, error) {
	if k.ID == "" {
		k.ID = newID()
	}
	now := s.now()
	k.Version, k.CreatedAt, k.UpdatedAt = 1, now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := checkTSIGKey(ctx, tx, &k); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO dns_tsigkeys ("+tsigCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.Name, k.Algorithm, k.Secret, k.Scope, k.ResourceID, k.Version, micros(now), micros(now))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_tsigkey", "Duplicate TsigKey")
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, "tsigkey", k.ID, "", watch.Create, k.feedView())
	})
	if err != nil {
		return TSIGKey{}, err
	}
	return k, nil
}

// GetTSIGKey returns a key, secret included.
func (s *Store) GetTSIGKey(ctx context.Context, id string) (TSIGKey, error) {
	var k TSIGKey
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) (err error) {
		k, err = getTSIGKey(ctx, tx, id)
		return err
	})
	if err != nil {
		return TSIGKey{}, err
	}
	return k, nil
}

// ListTSIGKeys returns every key by name; scope and resourceID filter
// when not "".
func (s *Store) ListTSIGKeys(ctx context.Context, scope, resourceID string) ([]TSIGKey, error) {
	rows, err := s.db.Query(ctx, "SELECT "+tsigCols+" FROM dns_tsigkeys WHERE (scope = ? OR ? = '') AND (resource_id = ? OR ? = '') ORDER BY name, id",
		scope, scope, resourceID, resourceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TSIGKey{}
	for rows.Next() {
		k, err := scanTSIGKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UpdateTSIGKey stores k's name, algorithm, secret, scope and resource,
// provided the key is still at k.Version (409 otherwise).
func (s *Store) UpdateTSIGKey(ctx context.Context, k TSIGKey) (TSIGKey, error) {
	var out TSIGKey
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := getTSIGKey(ctx, tx, k.ID); err != nil {
			return err
		}
		if err := checkTSIGKey(ctx, tx, &k); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE dns_tsigkeys SET name = ?, algorithm = ?, secret = ?, scope = ?, resource_id = ?,
			version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
			k.Name, k.Algorithm, k.Secret, k.Scope, k.ResourceID, micros(s.now()), k.ID, k.Version)
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("duplicate_tsigkey", "Duplicate TsigKey")
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return staleVersion("TsigKey", k.ID, k.Version)
		}
		if out, err = getTSIGKey(ctx, tx, k.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "tsigkey", out.ID, "", watch.Update, out.feedView())
	})
	return out, err
}

// DeleteTSIGKey removes a key; one a pool's target signs with is
// refused (400 invalid_operation) until the target stops naming it.
func (s *Store) DeleteTSIGKey(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockZones(ctx, tx); err != nil { // pool writes take it: no target starts naming the key meanwhile
			return err
		}
		pools, err := queryPools(ctx, tx, "")
		if err != nil {
			return err
		}
		for _, p := range pools {
			for _, t := range p.Targets {
				if t.TSIGKeyID == id {
					return invalidOperation("TSIG key %s signs for a target of pool %s: change the target first", id, p.Name)
				}
			}
		}
		res, err := tx.Exec(ctx, "DELETE FROM dns_tsigkeys WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("TsigKey", "tsigkey_not_found")
		}
		return s.record(ctx, tx, "tsigkey", id, "", watch.Delete, nil)
	})
}
