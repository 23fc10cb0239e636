package storage

import (
	"context"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// DefaultType is a project's default volume type (Cinder's default type
// override, 3.62): what its volumes created without a type get.
type DefaultType struct {
	ProjectID    string `json:"project_id"`
	VolumeTypeID string `json:"volume_type_id"`
}

// SetDefaultType makes the type named ident (a name or an id, any type
// whatever its access, as Cinder's admin lookup finds it) project's
// default type; an unknown type is Cinder's 400 (VolumeTypeNotFound's
// words).
func (s *Store) SetDefaultType(ctx context.Context, project, ident string) (DefaultType, error) {
	if err := checkText("project_id", project, maxText); err != nil {
		return DefaultType{}, err
	}
	var out DefaultType
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		t, err := typeByNameOrID(ctx, tx, adminViewer, ident, false)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return cinderError(fault.BadRequest, "VolumeTypeNotFound", "%s", fault.Message(err))
			}
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_default_types WHERE project_id = ?", project); err != nil {
			return fmt.Errorf("storage: default type of %s: %w", project, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO storage_default_types (project_id, volume_type_id) VALUES (?, ?)", project, t.ID); err != nil {
			return fmt.Errorf("storage: default type of %s: %w", project, err)
		}
		out = DefaultType{ProjectID: project, VolumeTypeID: t.ID}
		return nil
	})
	return out, err
}

// DefaultTypes lists the projects' default types (of project only when
// it is not ""): Cinder's VolumeTypeProjectDefaultNotFound (404) for a
// project that has none.
func (s *Store) DefaultTypes(ctx context.Context, project string) ([]DefaultType, error) {
	q, args := "SELECT project_id, volume_type_id FROM storage_default_types ORDER BY project_id", []any(nil)
	if project != "" {
		q, args = "SELECT project_id, volume_type_id FROM storage_default_types WHERE project_id = ?", []any{project}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: default types: %w", err)
	}
	defer rows.Close()
	out := []DefaultType{}
	for rows.Next() {
		var d DefaultType
		if err := rows.Scan(&d.ProjectID, &d.VolumeTypeID); err != nil {
			return nil, fmt.Errorf("storage: default types: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if project != "" && len(out) == 0 {
		return nil, cinderError(fault.NotFound, "VolumeTypeProjectDefaultNotFound", "Default type for project %s not found.", project)
	}
	return out, nil
}

// UnsetDefaultType removes project's default type (none is no error, as
// Cinder's).
func (s *Store) UnsetDefaultType(ctx context.Context, project string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM storage_default_types WHERE project_id = ?", project); err != nil {
		return fmt.Errorf("storage: unset the default type of %s: %w", project, err)
	}
	return nil
}

// projectDefaultType is project's default type, nil for none (then the
// configured one applies).
func projectDefaultType(ctx context.Context, tx querier, project string, lock bool) (*VolumeType, error) {
	if project == "" {
		return nil, nil
	}
	rows, err := tx.Query(ctx, "SELECT volume_type_id FROM storage_default_types WHERE project_id = ?", project)
	if err != nil {
		return nil, fmt.Errorf("storage: default type of %s: %w", project, err)
	}
	id := ""
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("storage: default type of %s: %w", project, err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || id == "" {
		return nil, err
	}
	return typeByID(ctx, tx, adminViewer, id, lock)
}

// defaultTypeFor is Cinder's get_default_volume_type for project: its
// override, else the configured default.
func (s *Store) defaultTypeFor(ctx context.Context, tx querier, project string, lock bool) (*VolumeType, error) {
	t, err := projectDefaultType(ctx, tx, project, lock)
	if err != nil || t != nil {
		return t, err
	}
	return s.defaultTypeIn(ctx, tx, lock)
}
