package compute

import (
	"context"
	"errors"
	"slices"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// ResourceClasses lists the standard classes, then the custom ones by
// name.
func (s *Store) ResourceClasses(ctx context.Context) ([]string, error) {
	custom, err := s.names(ctx, `SELECT name FROM compute_resource_classes ORDER BY name`)
	return append(placement.StandardClasses(), custom...), err
}

// ResourceClassExists reports whether a class is standard or created.
func (s *Store) ResourceClassExists(ctx context.Context, name string) (bool, error) {
	return classExists(ctx, s.db, name)
}

// classExists is ResourceClassExists through g (a transaction's own
// connection when called inside one).
func classExists(ctx context.Context, g getter, name string) (bool, error) {
	if placement.IsStandardClass(name) {
		return true, nil
	}
	var n string
	err := g.Get(ctx, `SELECT name FROM compute_resource_classes WHERE name = ?`, []any{name}, &n)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CreateResourceClass creates a custom class. It reports whether the
// class is new; an existing one is a Conflict when mustBeNew (POST) and
// fine otherwise (PUT, Placement 1.7).
func (s *Store) CreateResourceClass(ctx context.Context, name string, mustBeNew bool) (bool, error) {
	if placement.IsStandardClass(name) {
		if mustBeNew {
			return false, placementError(fault.Conflict, CodeDuplicateName, "Conflicting resource class already exists: %s", name)
		}
		return false, placementError(fault.BadRequest, CodeDefault, "Cannot update standard resource class %s", name)
	}
	if err := checkCustom(name); err != nil {
		return false, err
	}
	return s.createName(ctx, "compute_resource_classes", "resource_class", name, mustBeNew,
		"Conflicting resource class already exists: %s")
}

// DeleteResourceClass deletes a custom class no inventory uses.
func (s *Store) DeleteResourceClass(ctx context.Context, name string) error {
	if placement.IsStandardClass(name) {
		return placementError(fault.BadRequest, CodeDefault, "Cannot delete standard resource class %s: Cannot delete a standard resource class.", name)
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var n int64
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM compute_inventories WHERE resource_class = ?`, []any{name}, &n); err != nil {
			return err
		}
		if n > 0 {
			return placementError(fault.Conflict, CodeDefault, "Unable to delete resource class %s. Class is in use in inventory.", name)
		}
		return s.deleteName(ctx, tx, "compute_resource_classes", "resource_class", name, "No such resource class %s.")
	})
}

// Traits lists the standard and custom traits by name; prefix ("CUSTOM_")
// and associated (only those some provider has, or only those none has)
// narrow the list.
func (s *Store) Traits(ctx context.Context, prefix string, associated *bool) ([]string, error) {
	custom, err := s.names(ctx, `SELECT name FROM compute_traits ORDER BY name`)
	if err != nil {
		return nil, err
	}
	used, err := s.names(ctx, `SELECT DISTINCT trait FROM compute_provider_traits ORDER BY trait`)
	if err != nil {
		return nil, err
	}
	all := append(placement.StandardTraits(), custom...)
	slices.Sort(all)
	out := all[:0]
	for _, t := range all {
		if prefix != "" && !hasPrefix(t, prefix) {
			continue
		}
		if associated != nil && slices.Contains(used, t) != *associated {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// TraitExists reports whether a trait is standard or created.
func (s *Store) TraitExists(ctx context.Context, name string) (bool, error) {
	if placement.IsStandardTrait(name) {
		return true, nil
	}
	m, err := s.missingTraits(ctx, s.db, []string{name})
	return len(m) == 0, err
}

// CreateTrait creates a custom trait; it reports whether it is new.
func (s *Store) CreateTrait(ctx context.Context, name string) (bool, error) {
	if placement.IsStandardTrait(name) {
		return false, nil
	}
	if err := checkCustom(name); err != nil {
		return false, err
	}
	return s.createName(ctx, "compute_traits", "trait", name, false, "")
}

// DeleteTrait deletes a custom trait no provider has.
func (s *Store) DeleteTrait(ctx context.Context, name string) error {
	if placement.IsStandardTrait(name) {
		return placementError(fault.BadRequest, CodeDefault, "Cannot delete standard trait %s.", name)
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var n int64
		if err := tx.Get(ctx, `SELECT COUNT(*) FROM compute_provider_traits WHERE trait = ?`, []any{name}, &n); err != nil {
			return err
		}
		if n > 0 {
			return placementError(fault.Conflict, CodeDefault, "The trait %s is in use by a resource provider.", name)
		}
		return s.deleteName(ctx, tx, "compute_traits", "trait", name, "No such trait(s): %s.")
	})
}

type getter interface {
	Get(ctx context.Context, q string, args []any, dest ...any) error
}

// missingTraits are the names that are neither standard nor created.
func (s *Store) missingTraits(ctx context.Context, g getter, names []string) ([]string, error) {
	var out []string
	for _, t := range names {
		if placement.IsStandardTrait(t) {
			continue
		}
		var n string
		err := g.Get(ctx, `SELECT name FROM compute_traits WHERE name = ?`, []any{t}, &n)
		if errors.Is(err, sqlstore.ErrNotFound) {
			out = append(out, t)
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) names(ctx context.Context, q string) ([]string, error) {
	rows, err := s.db.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *Store) createName(ctx context.Context, table, kind, name string, mustBeNew bool, conflict string) (bool, error) {
	created := false
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var n string
		err := tx.Get(ctx, `SELECT name FROM `+table+` WHERE name = ?`, []any{name}, &n)
		if err == nil {
			if mustBeNew {
				return placementError(fault.Conflict, CodeDuplicateName, conflict, name)
			}
			return nil
		} else if !errors.Is(err, sqlstore.ErrNotFound) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (name, created_at) VALUES (?, ?)`, name, s.now().UnixMicro()); err != nil {
			return err
		}
		created = true
		return s.record(ctx, tx, kind, name, "", watch.Create, map[string]string{"name": name})
	})
	return created, err
}

func (s *Store) deleteName(ctx context.Context, tx *sqlstore.Tx, table, kind, name, missing string) error {
	res, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return placementError(fault.NotFound, CodeDefault, missing, name)
	}
	return s.record(ctx, tx, kind, name, "", watch.Delete, nil)
}
