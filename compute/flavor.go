package compute

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Flavor is a Nova flavor: the size of a server, public or shared with
// a list of projects, with extra specs that the scheduler and the
// drivers read (hw:cpu_policy, resources:VGPU, trait:...).
type Flavor struct {
	ID          int64   `json:"id"`       // Nova's internal integer id
	FlavorID    string  `json:"flavorid"` // the id the API shows
	Name        string  `json:"name"`     // unique
	MemoryMB    int64   `json:"memory_mb"`
	VCPUs       int64   `json:"vcpus"`
	RootGB      int64   `json:"root_gb"`
	EphemeralGB int64   `json:"ephemeral_gb"`
	Swap        int64   `json:"swap"` // MiB, 0 for none
	RxtxFactor  float64 `json:"rxtx_factor"`
	IsPublic    bool    `json:"is_public"`
	Disabled    bool    `json:"disabled"`
	// Description is nil for none.
	Description *string           `json:"description"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	// Projects may use the flavor when it is private (sorted).
	Projects  []string   `json:"projects"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"` // nil until the first update
}

// FlavorFilter selects and orders the flavors Flavors lists, with
// Nova's semantics (nova/objects/flavor.py _flavor_get_all_from_db).
type FlavorFilter struct {
	// IsPublic nil lists every flavor the viewer may see; true the
	// public ones and the private ones shared with the viewer's project;
	// false the private ones only.
	IsPublic *bool
	// Disabled, when set, keeps the flavors in that state only.
	Disabled *bool
	// MinRAM and MinDisk keep the flavors with at least that much memory
	// (MiB) and root disk (GiB).
	MinRAM, MinDisk int64
	// SortKey is one of FlavorSortKeys ("" for flavorid), SortDir "asc"
	// or "desc" ("" for asc); the id breaks ties in the same direction.
	SortKey, SortDir string
	// Marker is the flavorid of the last flavor of the previous page: a
	// flavor the viewer may see, else Nova's "marker [x] not found".
	Marker string
	// Limit is the most flavors to list (0: all).
	Limit int
}

// flavorSortKeys are the columns of Nova's VALID_SORT_KEYS
// (nova/api/openstack/compute/schemas/flavors.py). vcpu_weight, which
// the Store does not keep (always NULL in Nova's API), orders by id.
var flavorSortKeys = map[string]sqlstore.SortKey{
	"created_at": {Expr: "f.created_at"}, "description": {Expr: "f.description", Nullable: true},
	"disabled": {Expr: "f.disabled"}, "ephemeral_gb": {Expr: "f.ephemeral_gb"}, "flavorid": {Expr: "f.flavorid"},
	"id": {Expr: "f.id"}, "is_public": {Expr: "f.is_public"}, "memory_mb": {Expr: "f.memory_mb"},
	"name": {Expr: "f.name"}, "root_gb": {Expr: "f.root_gb"}, "rxtx_factor": {Expr: "f.rxtx_factor"},
	"swap": {Expr: "f.swap"}, "updated_at": {Expr: "f.updated_at", Nullable: true}, "vcpu_weight": {},
	"vcpus": {Expr: "f.vcpus"},
}

// FlavorSortKeys are the sort keys Flavors takes, as Nova lists them.
func FlavorSortKeys() []string {
	return []string{"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
		"is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus"}
}

// Nova's limits on flavor fields: db constants MAX_INT and
// SQL_SP_FLOAT_MAX, the String(255) and Text columns.
const (
	flavorMaxInt       = math.MaxInt32
	flavorMaxRxtx      = 3.40282e+38
	flavorMaxText      = 255
	flavorMaxDescLen   = 65535
	flavorDefaultRxtx  = 1.0
	flavorSpecKeyChars = "a-zA-Z0-9-_:. "
)

// flavorSpecKey is the key pattern of Nova's extra specs schema.
var flavorSpecKey = regexp.MustCompile(`^[` + flavorSpecKeyChars + `]{1,255}$`)

func flavorNotFound(id string) error {
	return novaError(fault.NotFound, "FlavorNotFound", "Flavor %s could not be found.", id)
}

func invalidInput(format string, args ...any) error {
	return novaError(fault.BadRequest, "InvalidInput", "Invalid input received: "+format, args...)
}

// checkNewFlavor applies nova/compute/flavors.py create's defaults and
// checks to f: a generated flavorid, the name stripped, Nova's ranges.
func checkNewFlavor(f *Flavor) error {
	if f.FlavorID == "" {
		f.FlavorID = uuid.NewString()
	}
	f.Name = strings.TrimSpace(f.Name)
	if f.RxtxFactor == 0 {
		f.RxtxFactor = flavorDefaultRxtx
	}
	for _, c := range []struct {
		name string
		v    int64
		min  int64
	}{{"ram", f.MemoryMB, 1}, {"vcpus", f.VCPUs, 1}, {"disk", f.RootGB, 0}, {"ephemeral", f.EphemeralGB, 0}, {"swap", f.Swap, 0}} {
		switch {
		case c.v < c.min:
			return invalidInput("%s must be >= %d", c.name, c.min)
		case c.v > flavorMaxInt:
			return invalidInput("%s must be <= %d", c.name, flavorMaxInt)
		}
	}
	if !(f.RxtxFactor > 0 && f.RxtxFactor <= flavorMaxRxtx) {
		return invalidInput("'rxtx_factor' argument must be a float between 0 and %g", flavorMaxRxtx)
	}
	switch {
	case f.Name == "" || utf8.RuneCountInString(f.Name) > flavorMaxText:
		return invalidInput("name must be 1 to %d characters", flavorMaxText)
	case utf8.RuneCountInString(f.FlavorID) > flavorMaxText:
		return invalidInput("id must be at most %d characters", flavorMaxText)
	case f.Description != nil && utf8.RuneCountInString(*f.Description) > flavorMaxDescLen:
		return invalidInput("description must be at most %d characters", flavorMaxDescLen)
	}
	if err := checkSpecs(f.ExtraSpecs); err != nil {
		return err
	}
	slices.Sort(f.Projects)
	f.Projects = slices.Compact(f.Projects)
	for _, p := range f.Projects {
		if p == "" || utf8.RuneCountInString(p) > flavorMaxText {
			return invalidInput("project id must be 1 to %d characters", flavorMaxText)
		}
	}
	return nil
}

// checkSpecs is Nova's extra specs schema on keys and values.
func checkSpecs(specs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if !flavorSpecKey.MatchString(strings.TrimSuffix(k, "\n")) { // Python's $ matches before a final newline
			return invalidInput("extra spec key %q must be 1 to 255 of %q", k, flavorSpecKeyChars)
		}
		if utf8.RuneCountInString(specs[k]) > flavorMaxText {
			return invalidInput("extra_specs value has more than %d characters.", flavorMaxText)
		}
	}
	return nil
}

// lockFlavors takes the lock every flavor write takes first (the
// 'flavor' sequence row).
func lockFlavors(ctx context.Context, tx *sqlstore.Tx) error {
	if _, err := tx.Exec(ctx, "UPDATE compute_sequences SET last = last WHERE name = 'flavor'"); err != nil {
		return fmt.Errorf("compute: lock flavors: %w", err)
	}
	return nil
}

const flavorCols = `f.id, f.flavorid, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap,
	f.rxtx_factor, f.is_public, f.disabled, f.description, f.created_at, f.updated_at`

// visibleFlavors is the condition (on alias f) of the flavors v may
// see: all for an admin, else the public ones and those shared with
// v's project (Nova's _flavor_get_query_from_db).
func visibleFlavors(v Viewer) (string, []any) {
	if v.Admin {
		return "1 = 1", nil
	}
	return `(f.is_public = ? OR EXISTS (SELECT 1 FROM compute_flavor_projects p
		WHERE p.flavor_id = f.id AND p.project_id = ?))`, []any{true, v.Project}
}

// queryFlavors reads the flavors of a query selecting flavorCols, with
// their extra specs and projects.
func queryFlavors(ctx context.Context, q novaQuerier, query string, args ...any) ([]Flavor, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: read flavors: %w", err)
	}
	defer rows.Close()
	out := []Flavor{}
	for rows.Next() {
		var f Flavor
		var created int64
		var updated *int64
		if err := rows.Scan(&f.ID, &f.FlavorID, &f.Name, &f.MemoryMB, &f.VCPUs, &f.RootGB, &f.EphemeralGB, &f.Swap,
			&f.RxtxFactor, &f.IsPublic, &f.Disabled, &f.Description, &created, &updated); err != nil {
			return nil, fmt.Errorf("compute: read flavors: %w", err)
		}
		f.CreatedAt = time.UnixMicro(created).UTC()
		if updated != nil {
			t := time.UnixMicro(*updated).UTC()
			f.UpdatedAt = &t
		}
		f.ExtraSpecs, f.Projects = map[string]string{}, []string{}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute: read flavors: %w", err)
	}
	rows.Close()
	return out, fillFlavors(ctx, q, out)
}

// fillFlavors reads the extra specs and projects of fs in one query.
func fillFlavors(ctx context.Context, q novaQuerier, fs []Flavor) error {
	if len(fs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(fs))
	ids := make([]any, len(fs))
	for i, f := range fs {
		at[f.ID], ids[i] = i, f.ID
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	rows, err := q.Query(ctx, `SELECT flavor_id, 0, spec_key, spec_value FROM compute_flavor_extra_specs WHERE flavor_id IN (`+in+`)
		UNION ALL SELECT flavor_id, 1, project_id, '' FROM compute_flavor_projects WHERE flavor_id IN (`+in+`)
		ORDER BY 1, 2, 3`, slices.Concat(ids, ids)...)
	if err != nil {
		return fmt.Errorf("compute: read flavor specs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var part int
		var k, v string
		if err := rows.Scan(&id, &part, &k, &v); err != nil {
			return fmt.Errorf("compute: read flavor specs: %w", err)
		}
		f := &fs[at[id]]
		if part == 0 {
			f.ExtraSpecs[k] = v
		} else {
			f.Projects = append(f.Projects, k)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compute: read flavor specs: %w", err)
	}
	return nil
}

// flavorByID reads flavor id (its flavorid) as v sees it.
func flavorByID(ctx context.Context, q novaQuerier, v Viewer, id string) (Flavor, error) {
	cond, args := visibleFlavors(v)
	fs, err := queryFlavors(ctx, q, "SELECT "+flavorCols+" FROM compute_flavors f WHERE f.flavorid = ? AND "+cond,
		append([]any{id}, args...)...)
	if err != nil {
		return Flavor{}, err
	}
	if len(fs) == 0 {
		return Flavor{}, flavorNotFound(id)
	}
	return fs[0], nil
}

// adminViewer sees every flavor.
var adminViewer = Viewer{Admin: true}

// CreateFlavor stores f (Nova's flavors.create): its FlavorID, or a
// generated UUID when "", and Name must be unique (Nova's
// FlavorIdExists, FlavorExists); Name is stripped of surrounding space;
// a RxtxFactor of 0 is Nova's default, 1.0. ExtraSpecs and Projects are
// stored with it; ID and the times are set.
func (s *Store) CreateFlavor(ctx context.Context, f Flavor) (Flavor, error) {
	f.ExtraSpecs, f.Projects = maps.Clone(f.ExtraSpecs), slices.Clone(f.Projects)
	if err := checkNewFlavor(&f); err != nil {
		return Flavor{}, err
	}
	if f.ExtraSpecs == nil {
		f.ExtraSpecs = map[string]string{}
	}
	if f.Projects == nil {
		f.Projects = []string{}
	}
	f.CreatedAt, f.UpdatedAt = s.now(), nil
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if f.ID, err = nextID(ctx, tx, "flavor"); err != nil { // also the flavors' lock
			return err
		}
		for _, c := range []struct{ col, v, msg string }{
			{"flavorid", f.FlavorID, "Flavor with ID %s already exists."},
			{"name", f.Name, "Flavor with name %s already exists."},
		} {
			var n int
			if err := tx.Get(ctx, "SELECT COUNT(*) FROM compute_flavors WHERE "+c.col+" = ?", []any{c.v}, &n); err != nil {
				return fmt.Errorf("compute: flavor %s: %w", c.col, err)
			}
			if n > 0 {
				typ := map[string]string{"flavorid": "FlavorIdExists", "name": "FlavorExists"}[c.col]
				return novaError(fault.Conflict, typ, c.msg, c.v)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO compute_flavors (id, flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb,
			swap, rxtx_factor, is_public, disabled, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.FlavorID, f.Name, f.MemoryMB, f.VCPUs, f.RootGB, f.EphemeralGB, f.Swap, f.RxtxFactor, f.IsPublic,
			f.Disabled, f.Description, f.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("compute: create flavor: %w", err)
		}
		if err := setSpecs(ctx, tx, f.ID, f.ExtraSpecs); err != nil {
			return err
		}
		for _, p := range f.Projects {
			if _, err := tx.Exec(ctx, "INSERT INTO compute_flavor_projects (flavor_id, project_id) VALUES (?, ?)", f.ID, p); err != nil {
				return fmt.Errorf("compute: flavor %s access: %w", f.FlavorID, err)
			}
		}
		return s.record(ctx, tx, "flavor", f.FlavorID, "", watch.Create, f)
	})
	if err != nil {
		return Flavor{}, err
	}
	return f, nil
}

func setSpecs(ctx context.Context, tx *sqlstore.Tx, id int64, specs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		if _, err := tx.Exec(ctx, `INSERT INTO compute_flavor_extra_specs (flavor_id, spec_key, spec_value) VALUES (?, ?, ?)
			ON CONFLICT (flavor_id, spec_key) DO UPDATE SET spec_value = excluded.spec_value`, id, k, specs[k]); err != nil {
			return fmt.Errorf("compute: flavor extra spec %q: %w", k, err)
		}
	}
	return nil
}

// Flavor returns flavor id (its flavorid) as v sees it: a private
// flavor is visible to admins and to the projects it is shared with,
// else it is Nova's FlavorNotFound.
func (s *Store) Flavor(ctx context.Context, v Viewer, id string) (Flavor, error) {
	return flavorByID(ctx, s.db, v, id)
}

// Flavors lists the flavors v may see that f selects, in f's order.
func (s *Store) Flavors(ctx context.Context, v Viewer, f FlavorFilter) ([]Flavor, error) {
	key, ok := flavorSortKeys[cmpOr(f.SortKey, "flavorid")]
	if !ok {
		return nil, novaError(fault.BadRequest, "InvalidSortKey", "Sort key supplied is invalid: %s", f.SortKey)
	}
	var desc bool
	switch f.SortDir {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return nil, novaError(fault.BadRequest, "InvalidSortDir", "Unknown sort direction, must be one of: asc, desc")
	}
	order := sqlstore.Keyset{{Expr: "f.id", Desc: desc}}
	if key.Expr != "" && key.Expr != "f.id" {
		key.Desc = desc
		order = append(sqlstore.Keyset{key}, order...)
	}
	visible, vargs := visibleFlavors(v)
	cond, args := visible+" AND f.memory_mb >= ? AND f.root_gb >= ?", slices.Concat(vargs, []any{f.MinRAM, f.MinDisk})
	if f.Disabled != nil {
		cond, args = cond+" AND f.disabled = ?", append(args, *f.Disabled)
	}
	if f.IsPublic != nil {
		if *f.IsPublic && v.Project != "" {
			cond += ` AND (f.is_public = ? OR EXISTS (SELECT 1 FROM compute_flavor_projects p
				WHERE p.flavor_id = f.id AND p.project_id = ?))`
			args = append(args, true, v.Project)
		} else {
			cond, args = cond+" AND f.is_public = ?", append(args, *f.IsPublic)
		}
	}
	var out []Flavor
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := cond, args
		if f.Marker != "" {
			values, err := order.Marker(ctx, tx, "FROM compute_flavors f WHERE f.flavorid = ? AND "+visible,
				append([]any{f.Marker}, vargs...)...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return novaError(fault.BadRequest, "MarkerNotFound", "marker [%s] not found", f.Marker)
			}
			if err != nil {
				return fmt.Errorf("compute: flavor marker: %w", err)
			}
			after, aargs := order.After(values)
			cond, args = cond+" AND "+after, slices.Concat(args, aargs)
		}
		q := "SELECT " + flavorCols + " FROM compute_flavors f WHERE " + cond + order.OrderBy()
		if f.Limit > 0 {
			q, args = q+" LIMIT ?", slices.Concat(args, []any{f.Limit})
		}
		var err error
		out, err = queryFlavors(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeFlavor runs change on flavor id under the flavors' lock and
// records the flavor as it is after.
func (s *Store) writeFlavor(ctx context.Context, id string, change func(*sqlstore.Tx, *Flavor) error) (Flavor, error) {
	var out Flavor
	err := s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockFlavors(ctx, tx); err != nil {
			return err
		}
		f, err := flavorByID(ctx, tx, adminViewer, id)
		if err != nil {
			return err
		}
		if err := change(tx, &f); err != nil {
			return err
		}
		if out, err = flavorByID(ctx, tx, adminViewer, id); err != nil {
			return err
		}
		return s.record(ctx, tx, "flavor", id, "", watch.Update, out)
	})
	if err != nil {
		return Flavor{}, err
	}
	return out, nil
}

// UpdateFlavorDescription sets the description of flavor id (nil for
// none), the one field of a flavor Nova lets change.
func (s *Store) UpdateFlavorDescription(ctx context.Context, id string, description *string) (Flavor, error) {
	if description != nil && utf8.RuneCountInString(*description) > flavorMaxDescLen {
		return Flavor{}, invalidInput("description must be at most %d characters", flavorMaxDescLen)
	}
	return s.writeFlavor(ctx, id, func(tx *sqlstore.Tx, f *Flavor) error {
		if (f.Description == nil) == (description == nil) && (description == nil || *f.Description == *description) {
			return nil // unchanged: Nova's database writes nothing, updated_at stays
		}
		if _, err := tx.Exec(ctx, "UPDATE compute_flavors SET description = ?, updated_at = ? WHERE id = ?",
			description, s.now().UnixMicro(), f.ID); err != nil {
			return fmt.Errorf("compute: update flavor %s: %w", id, err)
		}
		return nil
	})
}

// DeleteFlavor deletes flavor id with its extra specs and access list.
func (s *Store) DeleteFlavor(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockFlavors(ctx, tx); err != nil {
			return err
		}
		f, err := flavorByID(ctx, tx, adminViewer, id)
		if err != nil {
			return err
		}
		for _, table := range []string{"compute_flavor_projects", "compute_flavor_extra_specs"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE flavor_id = ?", f.ID); err != nil {
				return fmt.Errorf("compute: delete flavor %s: %w", id, err)
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_flavors WHERE id = ?", f.ID); err != nil {
			return fmt.Errorf("compute: delete flavor %s: %w", id, err)
		}
		return s.record(ctx, tx, "flavor", id, "", watch.Delete, nil)
	})
}

// SetFlavorExtraSpecs sets each key of specs on flavor id; the other
// keys stay. Keys are 1 to 255 of "a-zA-Z0-9-_:. ", values at most 255
// characters; CheckExtraSpec is Nova's stricter check (microversion
// 2.86), which the API applies.
func (s *Store) SetFlavorExtraSpecs(ctx context.Context, id string, specs map[string]string) (Flavor, error) {
	if err := checkSpecs(specs); err != nil {
		return Flavor{}, err
	}
	return s.writeFlavor(ctx, id, func(tx *sqlstore.Tx, f *Flavor) error {
		return setSpecs(ctx, tx, f.ID, specs)
	})
}

// DeleteFlavorExtraSpec deletes key from flavor id (Nova's
// FlavorExtraSpecsNotFound when it has no such key).
func (s *Store) DeleteFlavorExtraSpec(ctx context.Context, id, key string) (Flavor, error) {
	return s.writeFlavor(ctx, id, func(tx *sqlstore.Tx, f *Flavor) error {
		if _, ok := f.ExtraSpecs[key]; !ok {
			return novaError(fault.NotFound, "FlavorExtraSpecsNotFound", "Flavor %s has no extra specs with key %s.", id, key)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?", f.ID, key); err != nil {
			return fmt.Errorf("compute: flavor %s extra spec %q: %w", id, key, err)
		}
		return nil
	})
}

// FlavorAccess lists the projects private flavor id (as v sees it) is
// shared with; a public flavor has no list (Nova's 404 "Access list not
// available for public flavors.").
func (s *Store) FlavorAccess(ctx context.Context, v Viewer, id string) ([]string, error) {
	f, err := flavorByID(ctx, s.db, v, id)
	if err != nil {
		return nil, err
	}
	if f.IsPublic {
		return nil, novaError(fault.NotFound, "", "Access list not available for public flavors.")
	}
	return f.Projects, nil
}

// AddFlavorAccess shares private flavor id with project and returns its
// access list. A public flavor is Nova's 409 "Can not add access to a
// public flavor." (from microversion 2.7), a project already there its
// FlavorAccessExists.
func (s *Store) AddFlavorAccess(ctx context.Context, id, project string) ([]string, error) {
	if project == "" || utf8.RuneCountInString(project) > flavorMaxText {
		return nil, invalidInput("project id must be 1 to %d characters", flavorMaxText)
	}
	f, err := s.writeFlavor(ctx, id, func(tx *sqlstore.Tx, f *Flavor) error {
		switch {
		case f.IsPublic:
			return novaError(fault.Conflict, "", "Can not add access to a public flavor.")
		case slices.Contains(f.Projects, project):
			return novaError(fault.Conflict, "FlavorAccessExists",
				"Flavor access already exists for flavor %d and project %s combination.", f.ID, project)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO compute_flavor_projects (flavor_id, project_id) VALUES (?, ?)", f.ID, project); err != nil {
			return fmt.Errorf("compute: flavor %s access: %w", id, err)
		}
		return nil
	})
	return f.Projects, err
}

// RemoveFlavorAccess takes project off the access list of flavor id
// and returns the list (Nova's FlavorAccessNotFound if it is not on it).
func (s *Store) RemoveFlavorAccess(ctx context.Context, id, project string) ([]string, error) {
	f, err := s.writeFlavor(ctx, id, func(tx *sqlstore.Tx, f *Flavor) error {
		if !slices.Contains(f.Projects, project) {
			return novaError(fault.NotFound, "FlavorAccessNotFound",
				"Flavor access not found for %d / %s combination.", f.ID, project)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM compute_flavor_projects WHERE flavor_id = ? AND project_id = ?", f.ID, project); err != nil {
			return fmt.Errorf("compute: flavor %s access: %w", id, err)
		}
		return nil
	})
	return f.Projects, err
}

// specRule is one of Nova's extra spec validators
// (nova/api/validation/extra_specs): the value is text (matching
// pattern, or one of enum, when set), an integer (within min and max,
// when set) or a boolean-like word.
type specRule struct {
	kind           byte // 's', 'i' or 'b'
	pattern        string
	re             *regexp.Regexp // pattern, whole
	enum           []string
	min, max       int64
	hasMin, hasMax bool
}

var (
	specText = specRule{kind: 's'}
	specInt  = specRule{kind: 'i'}
	specBool = specRule{kind: 'b'}
)

func specAtLeast(n int64) specRule   { return specRule{kind: 'i', min: n, hasMin: true} }
func specOneOf(v ...string) specRule { return specRule{kind: 's', enum: v} }
func specFormat(p string) specRule {
	return specRule{kind: 's', pattern: p, re: regexp.MustCompile(`^(?:` + p + `)$`)}
}

const specCPUSet = `\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`

// extraSpecRules are Nova 26's validators of extra specs without
// parameters, by name.
var extraSpecRules = func() map[string]specRule {
	m := map[string]specRule{
		"accel:device_profile":           specText,
		"hw:cpu_realtime":                specBool,
		"hw:cpu_realtime_mask":           specFormat(`(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`),
		"hw:hide_hypervisor_id":          specBool,
		"hw:cpu_policy":                  specOneOf("dedicated", "shared", "mixed"),
		"hw:cpu_thread_policy":           specOneOf("prefer", "isolate", "require"),
		"hw:emulator_threads_policy":     specOneOf("isolate", "share"),
		"hw:cpu_dedicated_mask":          specFormat(specCPUSet),
		"hw:mem_page_size":               specFormat(`(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)`),
		"hw:locked_memory":               specBool,
		"hw:numa_nodes":                  specAtLeast(1),
		"hw:pci_numa_affinity_policy":    specOneOf("required", "preferred", "legacy", "socket"),
		"hw:boot_menu":                   specBool,
		"hw:vif_multiqueue_enabled":      specBool,
		"hw:mem_encryption":              specBool,
		"hw:pmem":                        specFormat(`([a-zA-Z0-9_]+(,)?)+`),
		"hw:pmu":                         specBool,
		"hw:serial_port_count":           specAtLeast(0),
		"hw:tpm_model":                   specOneOf("tpm-tis", "tpm-crb"),
		"hw:tpm_version":                 specOneOf("1.2", "2.0"),
		"hw:watchdog_action":             specOneOf("none", "pause", "poweroff", "reset", "disabled"),
		"hw:viommu_model":                specOneOf("intel", "smmuv3", "virtio", "auto"),
		"hw:ephemeral_encryption":        specBool,
		"hw:ephemeral_encryption_format": specOneOf("plain", "luks", "luksv2"),
		"hw_rng:allowed":                 specBool,
		"hw_rng:rate_bytes":              specAtLeast(0),
		"hw_rng:rate_period":             specAtLeast(0),
		"hw_video:ram_max_mb":            specAtLeast(0),
		"hide_hypervisor_id":             specBool,
		"group_policy":                   specOneOf("isolate", "none"),
		"os:secure_boot":                 specOneOf("disabled", "required"),
		"os:resolution":                  specOneOf("1024x768", "1280x1024", "1600x1200", "1920x1200", "2560x1600", "3840x2160"),
		"os:monitors":                    {kind: 'i', min: 1, max: 8, hasMin: true, hasMax: true},
		"os:vram":                        specOneOf("64", "128", "256", "512", "1024"),
		"pci_passthrough:alias":          specFormat(`[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*`),
		"vmware:hw_version":              specText,
		"vmware:storage_policy":          specText,
	}
	for _, n := range []string{"cpu_sockets", "cpu_cores", "cpu_threads", "max_cpu_sockets", "max_cpu_cores", "max_cpu_threads"} {
		m["hw:"+n] = specAtLeast(1)
	}
	for _, n := range strings.Fields(`id uuid service_id host vcpus memory_mb local_gb vcpus_used memory_mb_used
		local_gb_used hypervisor_type hypervisor_version hypervisor_hostname free_ram_mb free_disk_gb current_workload
		running_vms disk_available_least host_ip mapped cpu_allocation_ratio ram_allocation_ratio disk_allocation_ratio
		total_usable_ram_mb total_usable_disk_gb disk_mb_used free_disk_mb vcpus_total num_instances num_io_ops
		failed_builds aggregates cell_uuid updated`) {
		m["capabilities:"+n] = specText
	}
	for _, r := range []string{"cpu", "memory", "disk_io", "vif"} {
		m["quota:"+r+"_limit"], m["quota:"+r+"_reservation"] = specAtLeast(0), specInt
		m["quota:"+r+"_shares_level"] = specOneOf("custom", "high", "normal", "low")
		m["quota:"+r+"_shares_share"] = specAtLeast(0)
	}
	m["quota:cpu_quota"] = specInt
	for _, n := range strings.Fields(`cpu_shares cpu_period disk_read_bytes_sec disk_read_iops_sec disk_write_bytes_sec
		disk_write_iops_sec disk_total_bytes_sec disk_total_iops_sec vif_inbound_average vif_inbound_peak
		vif_inbound_burst vif_outbound_average vif_outbound_peak vif_outbound_burst`) {
		m["quota:"+n] = specAtLeast(0)
	}
	return m
}()

// specPatterns are Nova's validators of extra specs with parameters, in
// Nova's order; known, when set, must accept the last submatch.
var specPatterns = []struct {
	name  *regexp.Regexp
	known func(string) bool
	rule  specRule
}{
	{regexp.MustCompile(`^aggregate_instance_extra_specs:(.+)$`), nil, specText},
	{regexp.MustCompile(`^capabilities:(cpu_info|metrics|stats|numa_topology|supported_hv_specs|pci_device_pools|` +
		`nodename|pci_stats|supported_instances|limits|instances)(:\w+)*$`), nil, specText},
	{regexp.MustCompile(`^hw:numa_cpus.(\d+)$`), nil, specFormat(specCPUSet)},
	{regexp.MustCompile(`^hw:numa_mem.(\d+)$`), nil, specAtLeast(1)},
	{regexp.MustCompile(`^resources([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$`), placement.IsStandardClass, specInt},
	{regexp.MustCompile(`^resources([a-zA-Z0-9_-]{1,64})?:CUSTOM_([A-Z0-9_]+)$`), nil, specInt},
	{regexp.MustCompile(`^trait([a-zA-Z0-9_-]{1,64})?:([A-Z0-9_]+)$`), placement.IsStandardTrait, specOneOf("required", "forbidden")},
	{regexp.MustCompile(`^trait([a-zA-Z0-9_-]{1,64})?:CUSTOM_([A-Z0-9_]+)$`), nil, specOneOf("required", "forbidden")},
}

// specNamespaces are the namespaces Nova knows: a key in one of them
// that no validator takes is refused.
var specNamespaces = regexp.MustCompile(`^(accel|aggregate_instance_extra_specs|capabilities|hw|hw_rng|hw_video|os|` +
	`pci_passthrough|quota|resources([a-zA-Z0-9_-]{1,64})?|trait([a-zA-Z0-9_-]{1,64})?|vmware)$`)

// CheckExtraSpec is Nova's validation of a known extra spec (from
// microversion 2.86, nova/api/validation/extra_specs/validators.py): a
// key Nova has a validator for must have a value it accepts, a key in
// one of Nova's namespaces must be one it knows; other keys pass.
func CheckExtraSpec(key, value string) error {
	if r, ok := extraSpecRules[key]; ok {
		return r.check(value)
	}
	for _, p := range specPatterns {
		if m := p.name.FindStringSubmatch(key); m != nil && (p.known == nil || p.known(m[len(m)-1])) {
			return p.rule.check(value)
		}
	}
	ns, _, ok := strings.Cut(key, ":")
	if !ok || !specNamespaces.MatchString(ns) {
		return nil
	}
	return specInvalid("extra spec '%s' does not appear to be a valid extra spec.", key)
}

func specInvalid(format string, args ...any) error {
	return novaError(fault.BadRequest, "ValidationError", "Validation failed; "+format, args...)
}

func (r specRule) check(v string) error {
	switch r.kind {
	case 'i':
		n, ok := pyInt(v)
		if !ok {
			return specInvalid("'%s' is not a valid integer value.", v)
		}
		if r.hasMax && n.Cmp(big.NewInt(r.max)) > 0 {
			return specInvalid("'%s' is greater than the max value of '%d'.", n, r.max)
		}
		if r.hasMin && n.Cmp(big.NewInt(r.min)) < 0 {
			return specInvalid("'%s' is less than the min value of '%d'.", n, r.min)
		}
	case 'b':
		if _, ok := pyBool(v); !ok {
			return specInvalid("'%s' is not a valid boolean-like value.", v)
		}
	default:
		if r.re != nil && !r.re.MatchString(v) {
			return specInvalid("'%s' is not of the format '%s'.", v, r.pattern)
		}
		if r.re == nil && r.enum != nil && !slices.Contains(r.enum, v) {
			return specInvalid("'%s' is not one of: %s.", v, strings.Join(r.enum, ", "))
		}
	}
	return nil
}

// pyInt parses s as Python's int(s): surrounding white space, a sign,
// digits with single underscores between them.
func pyInt(s string) (*big.Int, bool) {
	t := strings.TrimFunc(s, unicode.IsSpace)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return nil, false
	}
	t = strings.ReplaceAll(t, "_", "")
	for _, c := range t {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	return new(big.Int).SetString(sign+t, 10)
}

// pyBool is oslo's bool_from_string(s, strict=True).
func pyBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}
