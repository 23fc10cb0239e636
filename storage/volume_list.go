package storage

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
)

// VolumeFilter narrows and orders Volumes, with Cinder's semantics.
type VolumeFilter struct {
	// AllProjects is an admin's all_tenants: every project's volumes
	// (ignored for others, who see their project's only).
	AllProjects bool
	// ProjectID, for an admin with AllProjects, keeps one project's.
	ProjectID string
	// Name keeps the volumes of that name exactly; NameLike those whose
	// name contains it, ignoring case (Cinder's name~). "" filters
	// nothing.
	Name     string
	NameLike string
	// Status keeps the volumes in that status ("" for all).
	Status VolumeStatus
	// Metadata keeps the volumes having every pair.
	Metadata map[string]string
	// Bootable, when set, keeps the volumes with that flag.
	Bootable *bool
	// AvailabilityZone keeps the volumes of that zone ("" for all).
	AvailabilityZone string
	// MigrationStatus, when set, keeps the volumes of that
	// MigrationStatus ("": None, never migrated).
	MigrationStatus *string
	// Host keeps the volumes on that host, backend (host@backend) or pool
	// (host@backend#pool), Cinder's host filter (admins).
	Host string
	// SortKeys and SortDirs order the list as Cinder's sort (keys from
	// VolumeSortKeys; "asc" or "desc", the first direction applying to
	// keys without one); created_at and id end every order. Without
	// keys: newest first.
	SortKeys []string
	SortDirs []string
	// Marker is the id of the last volume of the previous page (a volume
	// the viewer sees, else VolumeNotFound); Limit the most volumes to
	// return (0: all).
	Marker string
	Limit  int
}

// volumeSortKeys are the columns a volume list sorts on, by the names
// Cinder's API and database take.
var volumeSortKeys = map[string]sqlstore.SortKey{
	"id": {Expr: "v.id"}, "name": {Expr: "v.name", Nullable: true}, "display_name": {Expr: "v.name", Nullable: true},
	"description": {Expr: "v.description", Nullable: true}, "display_description": {Expr: "v.description", Nullable: true},
	"size": {Expr: "v.size"}, "status": {Expr: "v.status"}, "attach_status": {Expr: "v.attach_status"},
	"availability_zone": {Expr: "v.availability_zone"}, "bootable": {Expr: "v.bootable"},
	"multiattach": {Expr: "v.multiattach"}, "created_at": {Expr: "v.created_at"}, "updated_at": {Expr: "v.updated_at"},
	"project_id": {Expr: "v.project_id"}, "user_id": {Expr: "v.user_id"}, "volume_type_id": {Expr: "v.volume_type_id"},
	"host": {Expr: "v.host"}, "snapshot_id": {Expr: "v.snapshot_id"}, "source_volid": {Expr: "v.source_volid"},
}

// VolumeSortKeys are the sort keys Volumes takes.
func VolumeSortKeys() []string { return slices.Sorted(maps.Keys(volumeSortKeys)) }

// sortOrder is Cinder's process_sort_params over keys (a list's sort
// keys by name; idExpr the id's): the keys given with their directions,
// then created_at and id in the first direction (desc when none is
// given, the API's default).
func sortOrder(keys map[string]sqlstore.SortKey, idExpr string, sortKeys, sortDirs []string) (sqlstore.Keyset, error) {
	def := "desc"
	if len(sortDirs) > 0 {
		def = sortDirs[0]
	}
	for _, d := range sortDirs {
		if d != "asc" && d != "desc" {
			return nil, invalidInput("Unknown sort direction, must be 'desc' or 'asc'.")
		}
	}
	if len(sortDirs) > len(sortKeys) {
		return nil, invalidInput("Sort direction array size exceeds sort key array size.")
	}
	var ks sqlstore.Keyset
	seen := map[string]bool{}
	add := func(key, dir string) error {
		k, ok := keys[key]
		if !ok {
			return invalidInput("Invalid sort key")
		}
		if seen[k.Expr] {
			return nil // a key twice sorts as the first time
		}
		seen[k.Expr] = true
		k.Desc = dir == "desc"
		ks = append(ks, k)
		return nil
	}
	for i, key := range sortKeys {
		dir := def
		if i < len(sortDirs) {
			dir = sortDirs[i]
		}
		if err := add(key, dir); err != nil {
			return nil, err
		}
	}
	for _, key := range []string{"created_at", "id"} {
		if err := add(key, def); err != nil {
			return nil, err
		}
	}
	// The id is unique: keys after it change nothing, and Keyset wants it
	// last.
	for i, k := range ks {
		if k.Expr == idExpr {
			ks = ks[:i+1]
			break
		}
	}
	return ks, nil
}

// likePattern is a LIKE pattern matching s anywhere, with LIKE's
// wildcards in s escaped by a backslash.
func likePattern(s string) string { return likeContains(strings.ToLower(s)) }

// likeContains is a LIKE pattern matching s anywhere (with ESCAPE '\\').
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Volumes lists the volumes v may see that f selects, in f's order, and
// whether more follow the page.
func (s *Store) Volumes(ctx context.Context, v Viewer, f VolumeFilter) ([]Volume, bool, error) {
	order, err := sortOrder(volumeSortKeys, "v.id", f.SortKeys, f.SortDirs)
	if err != nil {
		return nil, false, err
	}
	if f.Limit < 0 {
		return nil, false, invalidInput("limit param must be positive")
	}
	conds, args, err := f.conds(v)
	if err != nil {
		return nil, false, err
	}
	l := listing{Order: order, Table: "storage_volumes v", Alias: "v", Cols: volumeCols, Conds: conds, Args: args,
		Marker: f.Marker, NotFound: volumeNotFound, Limit: f.Limit}
	if !v.Admin {
		l.MarkerScope, l.MarkerArgs = "v.project_id = ?", []any{v.Project}
	}
	return page(ctx, s.db, l, queryVolumes)
}

// conds are the conditions (on alias v) of the volumes f selects for v.
func (f VolumeFilter) conds(v Viewer) ([]string, []any, error) {
	for _, t := range []string{f.ProjectID, f.Name, f.NameLike, string(f.Status), f.AvailabilityZone, f.Host, f.Marker} {
		if err := checkText("filter", t, len(t)); err != nil {
			return nil, nil, err
		}
	}
	for k, val := range f.Metadata {
		if err := checkText("filter", k+val, len(k)+len(val)); err != nil {
			return nil, nil, err
		}
	}
	conds, args := []string{"v.deleted_at IS NULL"}, []any{}
	switch {
	case v.Admin && f.AllProjects && f.ProjectID != "":
		conds, args = append(conds, "v.project_id = ?"), append(args, f.ProjectID)
	case v.Admin && f.AllProjects:
	default:
		conds, args = append(conds, "v.project_id = ?"), append(args, v.Project)
	}
	for _, c := range []struct {
		set  bool
		cond string
		arg  any
	}{
		{f.Name != "", "v.name = ?", f.Name},
		{f.NameLike != "", `lower(v.name) LIKE ? ESCAPE '\'`, likePattern(f.NameLike)},
		{f.Status != "", "v.status = ?", string(f.Status)},
		{f.AvailabilityZone != "", "v.availability_zone = ?", f.AvailabilityZone},
		{f.Bootable != nil, "v.bootable = ?", f.Bootable != nil && *f.Bootable},
	} {
		if c.set {
			conds, args = append(conds, c.cond), append(args, c.arg)
		}
	}
	if f.MigrationStatus != nil {
		conds, args = append(conds, "v.migration_status = ?"), append(args, *f.MigrationStatus)
	}
	if f.Host != "" {
		c, a := hostMatch("v.host", f.Host)
		conds, args = append(conds, c), append(args, a...)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		conds = append(conds, `EXISTS (SELECT 1 FROM storage_volume_metadata m WHERE m.volume_id = v.id
			AND m.meta_key = ? AND m.meta_value = ?)`)
		args = append(args, k, f.Metadata[k])
	}
	return conds, args, nil
}

// hostMatch is Cinder's _filter_host on column col: a pool
// (host@backend#pool) matches exactly, a backend (host@backend) itself
// and its pools, a host itself, its backends and their pools.
func hostMatch(col, value string) (string, []any) {
	n := len([]rune(value)) + 1
	switch {
	case strings.Contains(value, "#"):
		return col + " = ?", []any{value}
	case strings.Contains(value, "@"):
		return "(" + col + " = ? OR substr(" + col + ", 1, ?) = ?)", []any{value, n, value + "#"}
	default:
		return "(" + col + " = ? OR substr(" + col + ", 1, ?) = ? OR substr(" + col + ", 1, ?) = ?)",
			[]any{value, n, value + "@", n, value + "#"}
	}
}

// hostMatches is hostMatch in Go: whether volume host h is on host
// value.
func hostMatches(h, value string) bool {
	switch {
	case h == value:
		return true
	case strings.Contains(value, "#"):
		return false
	case strings.Contains(value, "@"):
		return strings.HasPrefix(h, value+"#")
	default:
		return strings.HasPrefix(h, value+"@") || strings.HasPrefix(h, value+"#")
	}
}
