package identity

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Policy is a policy blob of Keystone's /v3/policies: text of a type
// (a MIME type by convention) that Keystone stores for services to read
// and never enforces itself. Extra holds the other members of its body,
// as Keystone's extra column.
type Policy struct {
	ID    string                     `json:"id"`
	Type  string                     `json:"type"`
	Blob  string                     `json:"blob"`
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

const maxPolicyType = 255 // policy/schema.py type maxLength

// Validate checks p against Keystone's policy schema: a blob and a type
// of at most 255 characters (either may be empty), and extra members
// that are one JSON value each and not named like an attribute.
func (p Policy) Validate() error {
	err := first(
		optionalID("policy.id", p.ID),
		text("policy.type", p.Type, maxPolicyType),
		text("policy.blob", p.Blob, 0),
	)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(p.Extra)) {
		v, field := p.Extra[k], "policy."+k
		switch {
		case k == "id" || k == "type" || k == "blob":
			return fault.Invalid(field, "is an attribute of policies, not an extra property")
		case !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0:
			return fault.Invalid("policy", "has a property name that is not valid UTF-8 or holds NUL")
		case !utf8.Valid(v) || !json.Valid(v):
			return fault.Invalid(field, "is not one valid JSON value")
		}
	}
	return nil
}

func scanPolicy(r interface{ Scan(...any) error }) (Policy, error) {
	var p Policy
	var extra string
	if err := r.Scan(&p.ID, &p.Type, &p.Blob, &extra); err != nil {
		return p, err
	}
	p.Extra = map[string]json.RawMessage{}
	json.Unmarshal([]byte(extra), &p.Extra)
	return p, nil
}

func policyExtra(p Policy) string {
	if p.Extra == nil {
		return "{}"
	}
	return jsonText(p.Extra)
}

// CreatePolicy stores a policy blob.
func (s *Store) CreatePolicy(ctx context.Context, p Policy) (Policy, error) {
	if p.ID == "" {
		p.ID = NewID()
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	err := s.write(ctx, "policy", p.ID, watch.Create, p, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_policies (id, type, blob, extra) VALUES (?, ?, ?, ?)", p.ID, p.Type, p.Blob, policyExtra(p))
		return err
	})
	return p, err
}

// GetPolicy returns a policy blob: Keystone's "Could not find policy"
// when there is none.
func (s *Store) GetPolicy(ctx context.Context, id string) (Policy, error) {
	ps, err := list(ctx, s.db, "SELECT id, type, blob, extra FROM identity_policies WHERE id = ?", []any{id}, scanPolicy)
	if err != nil {
		return Policy{}, err
	}
	if len(ps) == 0 {
		return Policy{}, notFound("policy", id)
	}
	return ps[0], nil
}

// ListPolicies returns every policy blob.
func (s *Store) ListPolicies(ctx context.Context) ([]Policy, error) {
	return list(ctx, s.db, "SELECT id, type, blob, extra FROM identity_policies ORDER BY type, id", nil, scanPolicy)
}

// UpdatePolicy stores a policy's type, blob and extra members.
func (s *Store) UpdatePolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return p, err
	}
	err := s.write(ctx, "policy", p.ID, watch.Update, p, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_policies SET type = ?, blob = ?, extra = ? WHERE id = ?", p.Type, p.Blob, policyExtra(p), p.ID)
		if err != nil {
			return err
		}
		return affected(res, "policy", p.ID)
	})
	return p, err
}

// DeletePolicy deletes a policy blob.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	return s.write(ctx, "policy", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_policies WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "policy", id)
	})
}
