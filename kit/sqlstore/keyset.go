package sqlstore

import (
	"context"
	"strings"
)

// SortKey is one key of a Keyset: an expression and its direction.
type SortKey struct {
	// Expr is the SQL expression sorted on, such as "i.created_at". It is
	// pasted into the query: build it from a fixed list, never from input.
	Expr string
	// Desc sorts the largest values first.
	Desc bool
	// Nullable says Expr may be NULL. NULL then sorts before every value
	// (first ascending, last descending) on both engines, and the seek
	// condition treats it as a value; a key that is not Nullable must
	// never be NULL.
	Nullable bool
}

// Keyset is an order of rows that a list pages through by seeking: a page
// is the rows after the last row of the previous page (the marker), found
// by comparing sort-key values, so a page deep in a long list costs what
// the first one does. The last key must be unique among the rows and never
// NULL (an id), which makes the order total and the pages neither skip nor
// repeat a row.
//
// Text keys compare as the database collates them (byte order on SQLite
// and on a PostgreSQL database with the C collation); the pages are
// consistent either way, since both the order and the seek happen in SQL.
type Keyset []SortKey

// Getter runs a one-row query into dest, giving ErrNotFound when no row
// matches. *DB and *Tx are Getters.
type Getter interface {
	Get(ctx context.Context, q string, args []any, dest ...any) error
}

var (
	_ Getter = (*DB)(nil)
	_ Getter = (*Tx)(nil)
)

// OrderBy returns the " ORDER BY ..." clause of the keyset.
func (k Keyset) OrderBy() string {
	parts := make([]string, len(k))
	for i, key := range k {
		switch {
		case key.Desc && key.Nullable:
			parts[i] = key.Expr + " DESC NULLS LAST"
		case key.Desc:
			parts[i] = key.Expr + " DESC"
		case key.Nullable:
			parts[i] = key.Expr + " ASC NULLS FIRST"
		default:
			parts[i] = key.Expr + " ASC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// Columns returns the keys' expressions separated by commas: the select
// list that reads a marker row's values for After.
func (k Keyset) Columns() string {
	exprs := make([]string, len(k))
	for i, key := range k {
		exprs[i] = key.Expr
	}
	return strings.Join(exprs, ", ")
}

// Marker reads the values of the keys in the one row that "SELECT
// <Columns> <from>" returns with args: from is the FROM clause and a
// WHERE that picks the marker row (by id, and visible to the caller). No
// such row is ErrNotFound.
func (k Keyset) Marker(ctx context.Context, g Getter, from string, args ...any) ([]any, error) {
	values := make([]any, len(k))
	dest := make([]any, len(k))
	for i := range values {
		dest[i] = &values[i]
	}
	if err := g.Get(ctx, "SELECT "+k.Columns()+" "+strings.TrimSpace(from), args, dest...); err != nil {
		return nil, err
	}
	return values, nil
}

// After returns the condition that selects the rows coming after a row
// whose keys have values (one per key, in order, as Marker reads them),
// and its arguments. It is the expanded form
//
//	k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND ... kn > vn)))
//
// with < for descending keys and IS NULL tests for NULL values, led by a
// bound on the first key alone (k1 >= v1) that lets an index on it start
// the scan at the marker.
func (k Keyset) After(values []any) (string, []any) {
	if len(values) != len(k) {
		panic("sqlstore: Keyset.After: one value per key")
	}
	var args []any
	cond := "(" + k.after(0, values, &args) + ")"
	if first := k[0]; values[0] != nil && (!first.Desc || !first.Nullable) {
		op := " >= ?"
		if first.Desc {
			op = " <= ?"
		}
		cond = "(" + first.Expr + op + " AND " + cond + ")"
		args = append([]any{values[0]}, args...)
	}
	return cond, args
}

// after is the condition on keys i and later.
func (k Keyset) after(i int, values []any, args *[]any) string {
	key, v := k[i], values[i]
	var beyond, same string
	switch {
	case v == nil && key.Desc:
		// NULL is last: nothing is beyond it.
	case v == nil:
		beyond = key.Expr + " IS NOT NULL"
	case key.Desc && key.Nullable:
		beyond = "(" + key.Expr + " < ? OR " + key.Expr + " IS NULL)"
		*args = append(*args, v)
	case key.Desc:
		beyond = key.Expr + " < ?"
		*args = append(*args, v)
	default:
		beyond = key.Expr + " > ?"
		*args = append(*args, v)
	}
	if i == len(k)-1 {
		if beyond == "" {
			return "1 = 0"
		}
		return beyond
	}
	if v == nil {
		same = key.Expr + " IS NULL"
	} else {
		same = key.Expr + " = ?"
		*args = append(*args, v)
	}
	rest := same + " AND " + k.after(i+1, values, args)
	if beyond == "" {
		return rest
	}
	return "(" + beyond + " OR (" + rest + "))"
}
