package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// VolumeType is a Cinder volume type: a name users pick, public or
// shared with a list of projects, with extra specs the scheduler
// matches against backends (volume_backend_name, capabilities:...) and
// the volume rules read (provisioning:min_vol_size, multiattach, ...).
type VolumeType struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description *string           `json:"description"` // nil for none
	IsPublic    bool              `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	QoSSpecsID  string            `json:"qos_specs_id"` // "" for none
	// Projects may use the type when it is private (sorted).
	Projects  []string   `json:"projects"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"` // nil until the first update
}

// Extra specs the Store reads, as Cinder names them.
const (
	SpecMinVolSize        = "provisioning:min_vol_size"
	SpecMaxVolSize        = "provisioning:max_vol_size"
	SpecMultiattach       = "multiattach"
	SpecCacheable         = "cacheable"
	SpecBackendName       = "volume_backend_name"
	SpecAvailabilityZones = "RESKEY:availability_zones"
	SpecProvisioningType  = "provisioning:type"
)

// specKey is the key pattern of Cinder's extra specs schema.
var specKey = regexp.MustCompile(`^[a-zA-Z0-9-_:. /]{1,255}$`)

func typeNotFound(id string) error {
	return cinderError(fault.NotFound, "VolumeTypeNotFound", "Volume type %s could not be found.", id)
}

func typeNotFoundByName(name string) error {
	return cinderError(fault.NotFound, "VolumeTypeNotFoundByName", "Volume type with name %s could not be found.", name)
}

// checkSpecs is Cinder's extra specs schema on keys and values.
func checkSpecs(specs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if !specKey.MatchString(strings.TrimSuffix(k, "\n")) { // Python's $ matches before a final newline
			return fault.Invalid("extra_specs", "Invalid input received: extra spec key %q must be 1 to 255 of 'a-zA-Z0-9-_:. /'.", k)
		}
		if err := checkText("extra_specs", specs[k], maxText); err != nil {
			return err
		}
	}
	return nil
}

// checkTypeName is Cinder's 'name' format on a type's name.
func checkTypeName(name string) error {
	if err := checkText("name", name, maxText); err != nil {
		return err
	}
	if strings.TrimFunc(name, unicode.IsSpace) == "" {
		reason := "The 'name' can not be empty."
		if name == "" {
			reason = "The 'name' can not be None."
		}
		return cinderError(fault.BadRequest, "InvalidName", "An invalid 'name' value was provided. %s", reason)
	}
	return nil
}

const typeCols = `t.id, t.name, t.description, t.is_public, t.qos_specs_id, t.created_at, t.updated_at`

// visibleTypes is the condition (on alias t) of the types v may see: all
// for an admin, else the public ones and those shared with v's project
// (Cinder's _volume_type_get_query).
func visibleTypes(v Viewer) (string, []any) {
	if v.Admin {
		return "1 = 1", nil
	}
	return `(t.is_public = ? OR EXISTS (SELECT 1 FROM storage_volume_type_projects p
		WHERE p.type_id = t.id AND p.project_id = ?))`, []any{true, v.Project}
}

// queryTypes reads the types of a query selecting typeCols, with their
// extra specs and projects.
func queryTypes(ctx context.Context, q querier, query string, args ...any) ([]VolumeType, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: read volume types: %w", err)
	}
	defer rows.Close()
	out := []VolumeType{}
	for rows.Next() {
		var t VolumeType
		var created int64
		var updated *int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Description, &t.IsPublic, &t.QoSSpecsID, &created, &updated); err != nil {
			return nil, fmt.Errorf("storage: read volume types: %w", err)
		}
		t.CreatedAt = time.UnixMicro(created).UTC()
		if updated != nil {
			u := time.UnixMicro(*updated).UTC()
			t.UpdatedAt = &u
		}
		t.ExtraSpecs, t.Projects = map[string]string{}, []string{}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: read volume types: %w", err)
	}
	rows.Close()
	return out, fillTypes(ctx, q, out)
}

// fillTypes reads the extra specs and projects of ts in one query.
func fillTypes(ctx context.Context, q querier, ts []VolumeType) error {
	if len(ts) == 0 {
		return nil
	}
	at := make(map[string]int, len(ts))
	ids := make([]any, len(ts))
	for i, t := range ts {
		at[t.ID], ids[i] = i, t.ID
	}
	in := placeholders(len(ids))
	rows, err := q.Query(ctx, `SELECT type_id, 0, spec_key, spec_value FROM storage_volume_type_extra_specs WHERE type_id IN (`+in+`)
		UNION ALL SELECT type_id, 1, project_id, '' FROM storage_volume_type_projects WHERE type_id IN (`+in+`)
		ORDER BY 1, 2, 3`, slices.Concat(ids, ids)...)
	if err != nil {
		return fmt.Errorf("storage: read volume type specs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		var part int
		if err := rows.Scan(&id, &part, &k, &v); err != nil {
			return fmt.Errorf("storage: read volume type specs: %w", err)
		}
		t := &ts[at[id]]
		if part == 0 {
			t.ExtraSpecs[k] = v
		} else {
			t.Projects = append(t.Projects, k)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storage: read volume type specs: %w", err)
	}
	return nil
}

// typeByID reads type id as v sees it (nil when there is none). On
// PostgreSQL, share locks the row when lock: a volume being made with
// the type keeps it from being deleted or changed until it commits.
func typeByID(ctx context.Context, tx querier, v Viewer, id string, lock bool) (*VolumeType, error) {
	cond, args := visibleTypes(v)
	q := "SELECT " + typeCols + " FROM storage_volume_types t WHERE t.id = ? AND " + cond
	if t, ok := tx.(*sqlstore.Tx); ok && lock && t.Dialect() == sqlstore.Postgres {
		q += " FOR SHARE"
	}
	ts, err := queryTypes(ctx, tx, q, append([]any{id}, args...)...)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return &ts[0], nil
}

func typeByName(ctx context.Context, tx querier, v Viewer, name string, lock bool) (*VolumeType, error) {
	cond, args := visibleTypes(v)
	q := "SELECT " + typeCols + " FROM storage_volume_types t WHERE t.name = ? AND " + cond
	if t, ok := tx.(*sqlstore.Tx); ok && lock && t.Dialect() == sqlstore.Postgres {
		q += " FOR SHARE"
	}
	ts, err := queryTypes(ctx, tx, q, append([]any{name}, args...)...)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return &ts[0], nil
}

// typeByNameOrID is Cinder's get_by_name_or_id: a UUID-like identity is
// an id, then a name; anything else a name.
func typeByNameOrID(ctx context.Context, tx querier, v Viewer, ident string, lock bool) (*VolumeType, error) {
	if err := checkText("volume_type", ident, len(ident)); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(ident); err == nil {
		t, err := typeByID(ctx, tx, v, ident, lock)
		if err != nil || t != nil {
			return t, err
		}
		if t, err = typeByName(ctx, tx, v, ident, lock); err != nil || t != nil {
			return t, err
		}
		return nil, typeNotFound(ident)
	}
	t, err := typeByName(ctx, tx, v, ident, lock)
	if err == nil && t == nil {
		err = typeNotFoundByName(ident)
	}
	return t, err
}

// adminViewer sees every type.
var adminViewer = Viewer{Admin: true}

// defaultTypeIn reads the configured default type (whoever asks: Cinder
// reads it with an admin context).
func (s *Store) defaultTypeIn(ctx context.Context, tx querier, lock bool) (*VolumeType, error) {
	t, err := typeByName(ctx, tx, adminViewer, s.defaultType(), lock)
	if err == nil && t == nil {
		err = &fault.Error{Kind: fault.Internal, Type: "VolumeTypeDefaultMisconfiguredError",
			Message: fmt.Sprintf("The request cannot be fulfilled as the default volume type %s cannot be found.", s.defaultType())}
	}
	return t, err
}

// VolumeType returns type id as v sees it: a private type is visible to
// admins and to the projects it is shared with, else it is Cinder's
// VolumeTypeNotFound.
func (s *Store) VolumeType(ctx context.Context, v Viewer, id string) (VolumeType, error) {
	t, err := typeByID(ctx, s.db, v, id, false)
	if err != nil {
		return VolumeType{}, err
	}
	if t == nil {
		return VolumeType{}, typeNotFound(id)
	}
	return *t, nil
}

// FindVolumeType is Cinder's get_by_name_or_id as v sees it: a UUID is
// looked up as an id, then as a name; anything else as a name.
func (s *Store) FindVolumeType(ctx context.Context, v Viewer, ident string) (VolumeType, error) {
	t, err := typeByNameOrID(ctx, s.db, v, ident, false)
	if err != nil {
		return VolumeType{}, err
	}
	return *t, nil
}

// DefaultVolumeType is the type a volume created without one gets
// (named by Store.DefaultType, Cinder's default_volume_type).
func (s *Store) DefaultVolumeType(ctx context.Context) (VolumeType, error) {
	t, err := s.defaultTypeIn(ctx, s.db, false)
	if err != nil {
		return VolumeType{}, err
	}
	return *t, nil
}

// ProjectDefaultVolumeType is the type project's volumes created without
// one get: its default type override (SetDefaultType), else
// DefaultVolumeType (Cinder's get_default_volume_type).
func (s *Store) ProjectDefaultVolumeType(ctx context.Context, project string) (VolumeType, error) {
	t, err := s.defaultTypeFor(ctx, s.db, project, false)
	if err != nil {
		return VolumeType{}, err
	}
	return *t, nil
}

// VolumeTypeCreate is a new volume type.
type VolumeTypeCreate struct {
	// ID is the new type's id, a UUID ("" for a random one).
	ID          string
	Name        string
	Description *string
	// IsPublic is nil for Cinder's default, public.
	IsPublic   *bool
	ExtraSpecs map[string]string
	// Projects may use a private type.
	Projects []string
}

// CreateVolumeType stores a new type (Cinder's volume_types.create): its
// name and id must be unused (Cinder's VolumeTypeExists, 409).
func (s *Store) CreateVolumeType(ctx context.Context, c VolumeTypeCreate) (VolumeType, error) {
	t := VolumeType{ID: c.ID, Name: c.Name, Description: c.Description, IsPublic: c.IsPublic == nil || *c.IsPublic,
		ExtraSpecs: maps.Clone(c.ExtraSpecs), Projects: slices.Clone(c.Projects)}
	if t.ID == "" {
		t.ID = uuid.NewString()
	} else if u, err := uuid.Parse(t.ID); err != nil {
		return VolumeType{}, fault.Invalid("id", "Invalid input received: volume type id %q is not a UUID.", t.ID)
	} else {
		t.ID = u.String()
	}
	if err := checkTypeName(t.Name); err != nil {
		return VolumeType{}, err
	}
	if err := checkOptText("description", t.Description, maxText); err != nil {
		return VolumeType{}, err
	}
	if err := checkSpecs(t.ExtraSpecs); err != nil {
		return VolumeType{}, err
	}
	if err := checkCacheable(nil, t.ExtraSpecs); err != nil {
		return VolumeType{}, err
	}
	slices.Sort(t.Projects)
	t.Projects = slices.Compact(t.Projects)
	for _, p := range t.Projects {
		if err := checkProject(p); err != nil {
			return VolumeType{}, err
		}
	}
	if t.ExtraSpecs == nil {
		t.ExtraSpecs = map[string]string{}
	}
	if t.Projects == nil {
		t.Projects = []string{}
	}
	t.CreatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		for _, c := range []struct{ col, v string }{{"name", t.Name}, {"id", t.ID}} {
			var n int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volume_types WHERE "+c.col+" = ?", []any{c.v}, &n); err != nil {
				return fmt.Errorf("storage: volume type %s: %w", c.col, err)
			}
			if n > 0 {
				return cinderError(fault.Conflict, "VolumeTypeExists", "Volume Type %s already exists.", c.v)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO storage_volume_types (id, name, description, is_public, qos_specs_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.Description, t.IsPublic, "", t.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("storage: create volume type: %w", err)
		}
		if err := setSpecs(ctx, tx, t.ID, t.ExtraSpecs); err != nil {
			return err
		}
		for _, p := range t.Projects {
			if _, err := tx.Exec(ctx, "INSERT INTO storage_volume_type_projects (type_id, project_id) VALUES (?, ?)", t.ID, p); err != nil {
				return fmt.Errorf("storage: volume type %s access: %w", t.ID, err)
			}
		}
		return s.record(ctx, tx, "volume_type", t.ID, "", watch.Create, t)
	})
	if err != nil {
		return VolumeType{}, err
	}
	return t, nil
}

func checkProject(p string) error {
	if p == "" {
		return fault.Invalid("project", "Invalid input received: project id can not be empty.")
	}
	return checkText("project", p, maxText)
}

// checkCacheable is Cinder's rule that a type is not both cacheable and
// multiattach, for specs set over old.
func checkCacheable(old, specs map[string]string) error {
	const yes = "<is> True"
	if specs[SpecMultiattach] == yes && (old[SpecCacheable] == yes || specs[SpecCacheable] == yes) ||
		specs[SpecCacheable] == yes && old[SpecMultiattach] == yes {
		return cinderError(fault.BadRequest, "", "cacheable cannot be set with multiattach.")
	}
	return nil
}

func setSpecs(ctx context.Context, tx *sqlstore.Tx, id string, specs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if _, err := tx.Exec(ctx, `INSERT INTO storage_volume_type_extra_specs (type_id, spec_key, spec_value) VALUES (?, ?, ?)
			ON CONFLICT (type_id, spec_key) DO UPDATE SET spec_value = excluded.spec_value`, id, k, specs[k]); err != nil {
			return fmt.Errorf("storage: volume type extra spec %q: %w", k, err)
		}
	}
	return nil
}

// lockTypes takes the lock every type write takes first.
func lockTypes(ctx context.Context, tx *sqlstore.Tx) error {
	if _, err := tx.Exec(ctx, "UPDATE storage_type_lock SET n = n + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("storage: lock volume types: %w", err)
	}
	return nil
}

// writeType runs change on type id under the types' lock, holding the
// type's row, and records the type as it is after.
func (s *Store) writeType(ctx context.Context, id string, change func(*sqlstore.Tx, *VolumeType) error) (VolumeType, error) {
	var out VolumeType
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE storage_volume_types SET qos_specs_id = qos_specs_id WHERE id = ?", id); err != nil {
			return fmt.Errorf("storage: lock volume type %s: %w", id, err)
		}
		t, err := typeByID(ctx, tx, adminViewer, id, false)
		if err != nil {
			return err
		}
		if t == nil {
			return typeNotFound(id)
		}
		if err := change(tx, t); err == errUnchanged {
			out = *t
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE storage_volume_types SET updated_at = ? WHERE id = ?", s.now().UnixMicro(), id); err != nil {
			return fmt.Errorf("storage: update volume type %s: %w", id, err)
		}
		after, err := typeByID(ctx, tx, adminViewer, id, false)
		if err != nil {
			return err
		}
		out = *after
		return s.record(ctx, tx, "volume_type", id, "", watch.Update, out)
	})
	if err != nil {
		return VolumeType{}, err
	}
	return out, nil
}

// VolumeTypeUpdate changes a type: nil fields stay.
type VolumeTypeUpdate struct {
	Name        *string
	Description *string
	IsPublic    *bool
}

// UpdateVolumeType changes type id's name, description or visibility,
// as Cinder's types update: something must change, a name must not be
// blank nor another type's. A new name renames the type's quotas
// (volumes_<name>, gigabytes_<name>, snapshots_<name>), as Cinder's
// update_quota_resource does.
func (s *Store) UpdateVolumeType(ctx context.Context, id string, u VolumeTypeUpdate) (VolumeType, error) {
	if u.Name == nil && u.Description == nil && u.IsPublic == nil {
		return VolumeType{}, cinderError(fault.BadRequest, "", "Specify volume type name, description, is_public or a combination thereof.")
	}
	if u.Name != nil {
		if err := checkText("name", *u.Name, maxText); err != nil {
			return VolumeType{}, err
		}
		if *u.Name == "" || strings.TrimFunc(*u.Name, unicode.IsSpace) == "" {
			return VolumeType{}, cinderError(fault.BadRequest, "", "Volume type name can not be empty.")
		}
	}
	if err := checkOptText("description", u.Description, maxText); err != nil {
		return VolumeType{}, err
	}
	return s.writeType(ctx, id, func(tx *sqlstore.Tx, t *VolumeType) error {
		if u.Name != nil && *u.Name != t.Name {
			var n int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volume_types WHERE name = ? AND id <> ?", []any{*u.Name, id}, &n); err != nil {
				return fmt.Errorf("storage: volume type name: %w", err)
			}
			if n > 0 {
				return cinderError(fault.Conflict, "VolumeTypeExists", "Volume Type %s already exists.", *u.Name)
			}
			if err := renameTypeQuotas(ctx, tx, t.Name, *u.Name); err != nil {
				return err
			}
			t.Name = *u.Name
		}
		if u.Description != nil {
			t.Description = u.Description
		}
		if u.IsPublic != nil {
			t.IsPublic = *u.IsPublic
		}
		if _, err := tx.Exec(ctx, "UPDATE storage_volume_types SET name = ?, description = ?, is_public = ? WHERE id = ?",
			t.Name, t.Description, t.IsPublic, id); err != nil {
			return fmt.Errorf("storage: update volume type %s: %w", id, err)
		}
		return nil
	})
}

// typeInUse reports whether a volume that is not deleted has type id.
func typeInUse(ctx context.Context, tx *sqlstore.Tx, id string) (bool, error) {
	var n int
	err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_volumes WHERE volume_type_id = ? AND deleted_at IS NULL", []any{id}, &n)
	if err != nil {
		return false, fmt.Errorf("storage: volumes of type %s: %w", id, err)
	}
	return n > 0, nil
}

// DeleteVolumeType deletes type id with its extra specs and access
// list, refused (400, Cinder's messages) for the default type (so the
// last type always stays) and while a volume has the type.
func (s *Store) DeleteVolumeType(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockTypes(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE storage_volume_types SET qos_specs_id = qos_specs_id WHERE id = ?", id); err != nil {
			return fmt.Errorf("storage: lock volume type %s: %w", id, err)
		}
		def, err := s.defaultTypeIn(ctx, tx, false)
		if err != nil {
			return err
		}
		var overrides int
		if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_default_types WHERE volume_type_id = ?", []any{id}, &overrides); err != nil {
			return fmt.Errorf("storage: delete volume type %s: %w", id, err)
		}
		if def.ID == id || overrides > 0 {
			return cinderError(fault.BadRequest, "VolumeTypeDefaultDeletionError",
				"The volume type %s is a default volume type and cannot be deleted.", id)
		}
		t, err := typeByID(ctx, tx, adminViewer, id, false)
		if err != nil {
			return err
		}
		if t == nil {
			return typeNotFound(id)
		}
		if used, err := typeInUse(ctx, tx, id); err != nil {
			return err
		} else if used {
			return cinderError(fault.BadRequest, "VolumeTypeInUse", "Target volume type is still in use.")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_volume_types WHERE id = ?", id); err != nil {
			return fmt.Errorf("storage: delete volume type %s: %w", id, err)
		}
		return s.record(ctx, tx, "volume_type", id, "", watch.Delete, nil)
	})
}

// refuseInUse is Cinder's rule on extra spec changes: none while a
// volume has the type.
func refuseInUse(ctx context.Context, tx *sqlstore.Tx, id string) error {
	used, err := typeInUse(ctx, tx, id)
	if err != nil {
		return err
	}
	if used {
		return cinderError(fault.BadRequest, "", "Volume Type is currently in use.")
	}
	return nil
}

// SetVolumeTypeExtraSpecs sets each key of specs on type id; the other
// keys stay. Refused while a volume has the type, and when the type
// would be both cacheable and multiattach (Cinder's rules).
func (s *Store) SetVolumeTypeExtraSpecs(ctx context.Context, id string, specs map[string]string) (VolumeType, error) {
	if err := checkSpecs(specs); err != nil {
		return VolumeType{}, err
	}
	return s.writeType(ctx, id, func(tx *sqlstore.Tx, t *VolumeType) error {
		if err := refuseInUse(ctx, tx, id); err != nil {
			return err
		}
		if err := checkCacheable(t.ExtraSpecs, specs); err != nil {
			return err
		}
		return setSpecs(ctx, tx, id, specs)
	})
}

// DeleteVolumeTypeExtraSpec deletes key from type id (Cinder's
// VolumeTypeExtraSpecsNotFound when it has no such key), refused while a
// volume has the type.
func (s *Store) DeleteVolumeTypeExtraSpec(ctx context.Context, id, key string) (VolumeType, error) {
	return s.writeType(ctx, id, func(tx *sqlstore.Tx, t *VolumeType) error {
		if err := refuseInUse(ctx, tx, id); err != nil {
			return err
		}
		if _, ok := t.ExtraSpecs[key]; !ok {
			return cinderError(fault.NotFound, "VolumeTypeExtraSpecsNotFound",
				"Volume Type %s has no extra specs with key %s.", id, key)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_volume_type_extra_specs WHERE type_id = ? AND spec_key = ?", id, key); err != nil {
			return fmt.Errorf("storage: volume type %s extra spec %q: %w", id, key, err)
		}
		return nil
	})
}

// VolumeTypeAccess lists the projects private type id (as v sees it) is
// shared with; a public type has no list (Cinder's 404 "Access list not
// available for public volume types.").
func (s *Store) VolumeTypeAccess(ctx context.Context, v Viewer, id string) ([]string, error) {
	t, err := s.VolumeType(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if t.IsPublic {
		return nil, cinderError(fault.NotFound, "VolumeTypeAccessNotFound", "Access list not available for public volume types.")
	}
	return t.Projects, nil
}

// AddVolumeTypeAccess shares private type id with project and returns
// its access list: Cinder's 400 for a public type, VolumeTypeAccessExists
// (409) for a project already there.
func (s *Store) AddVolumeTypeAccess(ctx context.Context, id, project string) ([]string, error) {
	if err := checkProject(project); err != nil {
		return nil, err
	}
	t, err := s.writeType(ctx, id, func(tx *sqlstore.Tx, t *VolumeType) error {
		switch {
		case t.IsPublic:
			return cinderError(fault.BadRequest, "InvalidVolumeType",
				"Invalid volume type: Type access modification is not applicable to public volume type.")
		case slices.Contains(t.Projects, project):
			return cinderError(fault.Conflict, "VolumeTypeAccessExists",
				"Volume type access for %s / %s combination already exists.", id, project)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO storage_volume_type_projects (type_id, project_id) VALUES (?, ?)", id, project); err != nil {
			return fmt.Errorf("storage: volume type %s access: %w", id, err)
		}
		return nil
	})
	return t.Projects, err
}

// RemoveVolumeTypeAccess takes project off the access list of private
// type id (Cinder's VolumeTypeAccessNotFound if it is not on it).
func (s *Store) RemoveVolumeTypeAccess(ctx context.Context, id, project string) ([]string, error) {
	t, err := s.writeType(ctx, id, func(tx *sqlstore.Tx, t *VolumeType) error {
		switch {
		case t.IsPublic:
			return cinderError(fault.BadRequest, "InvalidVolumeType",
				"Invalid volume type: Type access modification is not applicable to public volume type.")
		case !slices.Contains(t.Projects, project):
			return cinderError(fault.NotFound, "VolumeTypeAccessNotFound",
				"Volume type access not found for %s / %s combination.", id, project)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_volume_type_projects WHERE type_id = ? AND project_id = ?", id, project); err != nil {
			return fmt.Errorf("storage: volume type %s access: %w", id, err)
		}
		return nil
	})
	return t.Projects, err
}

// VolumeTypeFilter selects and orders the types VolumeTypes lists.
type VolumeTypeFilter struct {
	// IsPublic nil lists every type the viewer may see (an admin: all);
	// true the public ones and those shared with the viewer's project;
	// false the private ones (an admin's filter: Cinder forces true for
	// others).
	IsPublic *bool
	// ExtraSpecs keeps the types having every pair (the
	// RESKEY:availability_zones value matching as a substring, as
	// Cinder's filter does).
	ExtraSpecs map[string]string
	// SortKeys and SortDirs order the list as Cinder's sort (keys from
	// VolumeTypeSortKeys); created_at and id end every order. Without
	// keys: newest first.
	SortKeys []string
	SortDirs []string
	// Marker is the id of the last type of the previous page (a type the
	// viewer sees, else VolumeTypeNotFound); Limit the most to return (0:
	// all).
	Marker string
	Limit  int
}

var typeSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "t.id"}, "name": {Expr: "t.name"}, "description": {Expr: "t.description", Nullable: true},
	"is_public": {Expr: "t.is_public"}, "qos_specs_id": {Expr: "t.qos_specs_id"}, "created_at": {Expr: "t.created_at"},
	"updated_at": {Expr: "t.updated_at", Nullable: true},
}

// VolumeTypeSortKeys are the sort keys VolumeTypes takes.
func VolumeTypeSortKeys() []string { return slices.Sorted(maps.Keys(typeSortKeys)) }

// VolumeTypes lists the types v may see that f selects, in f's order,
// and whether more follow the page.
func (s *Store) VolumeTypes(ctx context.Context, v Viewer, f VolumeTypeFilter) ([]VolumeType, bool, error) {
	order, err := sortOrder(typeSortKeys, "t.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	if err := checkText("marker", f.Marker, len(f.Marker)); err != nil {
		return nil, false, err
	}
	for k, val := range f.ExtraSpecs {
		if err := checkText("extra_specs", k+val, len(k)+len(val)); err != nil {
			return nil, false, err
		}
	}
	visible, vargs := visibleTypes(v)
	cond, args := visible, slices.Clone(vargs)
	if f.IsPublic != nil {
		if *f.IsPublic && v.Project != "" {
			cond += ` AND (t.is_public = ? OR EXISTS (SELECT 1 FROM storage_volume_type_projects p
				WHERE p.type_id = t.id AND p.project_id = ?))`
			args = append(args, true, v.Project)
		} else {
			cond, args = cond+" AND t.is_public = ?", append(args, *f.IsPublic)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.ExtraSpecs)) {
		if k == SpecAvailabilityZones {
			cond += ` AND EXISTS (SELECT 1 FROM storage_volume_type_extra_specs e WHERE e.type_id = t.id
				AND e.spec_key = ? AND e.spec_value LIKE ? ESCAPE '\')`
			args = append(args, k, likeContains(f.ExtraSpecs[k]))
			continue
		}
		cond += ` AND EXISTS (SELECT 1 FROM storage_volume_type_extra_specs e WHERE e.type_id = t.id
			AND e.spec_key = ? AND e.spec_value = ?)`
		args = append(args, k, f.ExtraSpecs[k])
	}
	var out []VolumeType
	err = s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := cond, slices.Clone(args)
		if f.Marker != "" {
			values, err := order.Marker(ctx, tx, "FROM storage_volume_types t WHERE t.id = ? AND "+visible, append([]any{f.Marker}, vargs...)...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return typeNotFound(f.Marker)
			} else if err != nil {
				return err
			}
			after, aargs := order.After(values)
			cond, args = cond+" AND "+after, append(args, aargs...)
		}
		q := "SELECT " + typeCols + " FROM storage_volume_types t WHERE " + cond + order.OrderBy()
		if f.Limit > 0 {
			q, args = q+" LIMIT ?", append(args, f.Limit+1)
		}
		var err error
		out, err = queryTypes(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	more := false
	if f.Limit > 0 && len(out) > f.Limit {
		out, more = out[:f.Limit], true
	}
	return out, more, nil
}

// typeSizeLimits is Cinder's provision_filter_on_size: size must be
// within the type's provisioning:min_vol_size and max_vol_size.
func typeSizeLimits(t *VolumeType, size int64) error {
	if t == nil {
		return nil
	}
	if min, ok := specInt(t.ExtraSpecs[SpecMinVolSize]); ok && size < min {
		return invalidInput("Specified volume size of '%d' is less than the minimum required size of '%s' for volume type '%s'.",
			size, t.ExtraSpecs[SpecMinVolSize], t.Name)
	}
	if max, ok := specInt(t.ExtraSpecs[SpecMaxVolSize]); ok && size > max {
		return invalidInput("Specified volume size of '%d' is greater than the maximum allowable size of '%s' for volume type '%s'.",
			size, t.ExtraSpecs[SpecMaxVolSize], t.Name)
	}
	return nil
}

// specInt reads an integer extra spec as Python's int(): surrounding
// space and a sign allowed. A value int() refuses is a spec that limits
// nothing here (Cinder would fail the request with a 500).
func specInt(s string) (int64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return 0, false
	}
	var n int64
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	if s == "" || utf8.RuneCountInString(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// multiattach reports whether type t makes multiattach volumes (its
// multiattach extra spec is "<is> True").
func multiattach(t *VolumeType) bool { return t != nil && t.ExtraSpecs[SpecMultiattach] == "<is> True" }
