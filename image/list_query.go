package image

import (
	"maps"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// sortColumns are the attributes Glance sorts images by, as columns of
// image_images i. size and virtual_size may be NULL, which sorts before
// every size.
var sortColumns = map[string]sqlstore.SortKey{
	"name": {Expr: "i.name"}, "status": {Expr: "i.status"}, "container_format": {Expr: "i.container_format"},
	"disk_format": {Expr: "i.disk_format"}, "size": {Expr: "i.size", Nullable: true},
	"virtual_size": {Expr: "i.virtual_size", Nullable: true}, "id": {Expr: "i.id"}, "created_at": {Expr: "i.created_at"},
	"updated_at": {Expr: "i.updated_at"}, "min_ram": {Expr: "i.min_ram"}, "min_disk": {Expr: "i.min_disk"},
	"owner": {Expr: "i.owner"}, "visibility": {Expr: "i.visibility"},
}

// SortKeys returns the attributes List sorts by, in alphabetical order.
func SortKeys() []string { return slices.Sorted(maps.Keys(sortColumns)) }

// keyset is the order of sort: created_at descending by default, then
// id ascending to break ties.
func keyset(sort []SortKey) (sqlstore.Keyset, error) {
	if len(sort) == 0 {
		sort = []SortKey{{Key: "created_at", Desc: true}}
	}
	var ks sqlstore.Keyset
	for _, s := range sort {
		k, ok := sortColumns[s.Key]
		if !ok {
			return nil, fault.Invalid("sort_key", "Invalid sort key: %s", s.Key)
		}
		k.Desc = s.Desc
		ks = append(ks, k)
	}
	return append(ks, sqlstore.SortKey{Expr: "i.id"}), nil
}

// where collects the conditions of a list query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col IN (values)" when there are values.
func (w *where) in(col string, values []string) {
	if len(values) == 0 {
		return
	}
	w.add(col+" IN (?"+strings.Repeat(", ?", len(values)-1)+")", anys(values)...)
}

func (w *where) clone() where {
	return where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
}

func (w *where) sql() string { return " WHERE " + strings.Join(w.conds, " AND ") }

func anys[T any](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// listWhere is the condition of the images v may list that match f.
func listWhere(d sqlstore.Dialect, v Viewer, f Filter) (where, error) {
	var w where
	w.add("i.status <> 'deleted'")
	listable(&w, v, f)
	if f.Visibility != "" && f.Visibility != "all" {
		w.add("i.visibility = ?", f.Visibility)
	}
	if f.Owner != "" {
		w.add("i.owner = ?", f.Owner)
	}
	w.in("i.id", f.ID)
	w.in("i.name", f.Name)
	w.in("i.status", anyStrings(f.Status))
	w.in("i.disk_format", f.DiskFormat)
	w.in("i.container_format", f.ContainerFormat)
	switch {
	case f.OSHidden != nil:
		w.add("i.os_hidden = ?", *f.OSHidden)
	case !f.Hidden:
		w.add("i.os_hidden = ?", false)
	}
	if f.Protected != nil {
		w.add("i.protected = ?", *f.Protected)
	}
	if f.Size != nil {
		w.add("i.size = ?", *f.Size)
	}
	if f.SizeMin != nil {
		w.add("i.size >= ?", *f.SizeMin)
	}
	if f.SizeMax != nil {
		w.add("i.size <= ?", *f.SizeMax)
	}
	for _, t := range []struct {
		col string
		tf  *TimeFilter
	}{{"i.created_at", f.CreatedAt}, {"i.updated_at", f.UpdatedAt}} {
		if t.tf == nil {
			continue
		}
		cond, args, err := t.tf.sql(t.col)
		if err != nil {
			return w, err
		}
		w.add(cond, args...)
	}
	for _, tag := range f.Tags {
		w.add(hasTag(d), tag)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Properties)) {
		w.add(hasProperty(d), k, f.Properties[k])
	}
	return w, nil
}

func anyStrings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// listable adds Glance's rule for the images a list shows v: everything
// for an admin, else its own, public ones, community ones when asked for,
// and shared ones whose membership is in the member status asked for
// (accepted by default). Community images are listed only when asked for,
// admins included, but for the viewer's own.
func listable(w *where, v Viewer, f Filter) {
	if v.Admin {
		if f.Visibility == "" {
			w.add("(i.visibility <> 'community' OR i.owner = ?)", v.Project)
		}
		return
	}
	cond, args := "(i.owner = ? OR i.visibility = 'public'", []any{v.Project}
	if f.Visibility == Community || f.Visibility == "all" {
		cond += " OR i.visibility = 'community'"
	}
	cond += " OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?"
	args = append(args, v.Project)
	switch f.MemberStatus {
	case "all":
	case "":
		cond, args = cond+" AND m.status = ?", append(args, MemberAccepted)
	default:
		cond, args = cond+" AND m.status = ?", append(args, f.MemberStatus)
	}
	w.add(cond+")))", args...)
}

// canSee is CanSee as a condition on image_images i: the images v may
// read, listed or not.
func canSee(v Viewer) (string, []any) {
	if v.Admin {
		return "i.status <> 'deleted'", nil
	}
	return `i.status <> 'deleted' AND (i.owner = ? OR i.visibility IN ('public', 'community')
		OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?)))`,
		[]any{v.Project, v.Project}
}

// hasTag is the condition that i.tags, a JSON array of strings, holds
// the argument.
func hasTag(d sqlstore.Dialect) string {
	if d == sqlstore.Postgres {
		return "i.tags::jsonb @> jsonb_build_array(CAST(? AS TEXT))"
	}
	return "EXISTS (SELECT 1 FROM json_each(i.tags) t WHERE t.value = ?)"
}

// hasProperty is the condition that i.properties, a JSON object of
// strings, maps the first argument to the second.
func hasProperty(d sqlstore.Dialect) string {
	if d == sqlstore.Postgres {
		return "(i.properties::jsonb ->> CAST(? AS TEXT)) = ?"
	}
	return "EXISTS (SELECT 1 FROM json_each(i.properties) p WHERE p.key = ? AND p.value = ?)"
}

// sql is the filter as a condition on col, a time in Unix microseconds.
// The time cut to the second is A; At is between the seconds s and s+1
// (s included), so when At has a fraction of a second, A > At and
// A >= At are A > s, A < At and A <= At are A <= s, A = At is never and
// A <> At always.
func (tf TimeFilter) sql(col string) (string, []any, error) {
	ops := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
	op, ok := ops[tf.Op]
	if !ok {
		return "", nil, fault.Invalid("op", "Invalid time comparison operator: %s", tf.Op)
	}
	s := tf.At.Unix()
	if tf.At.Nanosecond() != 0 {
		switch tf.Op {
		case "gt", "gte":
			op = ">"
		case "lt", "lte":
			op = "<="
		case "eq":
			return "1 = 0", nil, nil
		case "neq":
			return "1 = 1", nil, nil
		}
	}
	return col + " / 1000000 " + op + " ?", []any{s}, nil
}
