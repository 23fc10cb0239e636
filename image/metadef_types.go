package image

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// insertAssociation ties n to a.Name, creating the resource type when
// missing (protected when seeded from definitions files).
func insertAssociation(ctx context.Context, tx *sqlstore.Tx, n nsRow, a Association, now time.Time, seeded bool) error {
	if err := checkMetadefName("name", a.Name); err != nil {
		return err
	}
	var exists int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM image_md_resource_types WHERE name = ?", []any{a.Name}, &exists); err != nil {
		return err
	}
	if exists == 0 {
		if _, err := tx.Exec(ctx, "INSERT INTO image_md_resource_types (name, protected, created_at, updated_at) VALUES (?, ?, ?, ?)",
			a.Name, seeded, now.UnixMicro(), now.UnixMicro()); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO image_md_associations (namespace_id, resource_type, prefix, properties_target, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.id, a.Name, a.Prefix, a.PropertiesTarget, a.CreatedAt.UnixMicro(), a.UpdatedAt.UnixMicro())
	if errors.Is(err, sqlstore.ErrConflict) {
		return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("The metadata definition resource-type association of resource-type=%s to namespace=%s already exists.", a.Name, n.Namespace.Namespace)}
	}
	return err
}

// ResourceTypes returns every resource type, by name.
func (s *Store) ResourceTypes(ctx context.Context) ([]ResourceType, error) {
	rows, err := s.db.Query(ctx, "SELECT name, protected, created_at, updated_at FROM image_md_resource_types ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ResourceType{}
	for rows.Next() {
		var rt ResourceType
		var created, updated int64
		if err := rows.Scan(&rt.Name, &rt.Protected, &created, &updated); err != nil {
			return nil, err
		}
		rt.CreatedAt, rt.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, rt)
	}
	return out, rows.Err()
}

// Associations returns the resource type associations of the namespace
// name, oldest first.
func (s *Store) Associations(ctx context.Context, v Viewer, name string) ([]Association, error) {
	n, err := namespaceRow(ctx, s.db, v, name)
	if err != nil {
		return nil, err
	}
	return associations(ctx, s.db, n.id)
}

func associations(ctx context.Context, db querier, nsID string) ([]Association, error) {
	rows, err := db.Query(ctx, `SELECT resource_type, prefix, properties_target, created_at, updated_at FROM image_md_associations
		WHERE namespace_id = ? ORDER BY created_at, resource_type`, nsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Association{}
	for rows.Next() {
		var a Association
		var created, updated int64
		if err := rows.Scan(&a.Name, &a.Prefix, &a.PropertiesTarget, &created, &updated); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// Associate ties the namespace name to a resource type (created,
// unprotected, when missing); an existing association is a 409.
func (s *Store) Associate(ctx context.Context, v Viewer, name string, a Association) (Association, error) {
	now := s.stamp()
	a.CreatedAt, a.UpdatedAt = now, now
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		if err := insertAssociation(ctx, tx, n, a, now, false); err != nil {
			return err
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
	return a, err
}

// Dissociate removes the namespace's association with a resource type,
// unless the namespace is protected (403); the resource type stays.
func (s *Store) Dissociate(ctx context.Context, v Viewer, name, resourceType string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		n, err := namespaceRow(ctx, tx, v, name)
		if err != nil {
			return err
		}
		var found int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM image_md_associations WHERE namespace_id = ? AND resource_type = ?",
			[]any{n.id, resourceType}, &found); err != nil {
			return err
		}
		if found == 0 {
			return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Failed to find resource type %s to delete", resourceType)}
		}
		if n.Protected {
			return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Metadata definition resource-type-association %s is protected and cannot be deleted.", resourceType)}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM image_md_associations WHERE namespace_id = ? AND resource_type = ?", n.id, resourceType); err != nil {
			return err
		}
		return s.recordNS(ctx, tx, watch.Update, n)
	})
}
