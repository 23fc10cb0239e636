package storage

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/sqlstore"
)

// listing is one keyset-paged list of a table's rows: those conds
// select, in order, after the marker's row (when Marker is set), at
// most Limit (0: all). The marker's row must be one the viewer sees
// (not deleted, and MarkerScope with its arguments, "" for any);
// otherwise NotFound(marker) is the answer, Cinder's "<kind> <id> could
// not be found".
type listing struct {
	Order sqlstore.Keyset
	// Table is the table and its alias ("storage_backups b"), Alias the
	// alias alone, Cols the selected columns.
	Table, Alias, Cols string
	Conds              []string
	Args               []any
	Marker             string
	MarkerScope        string
	MarkerArgs         []any
	NotFound           func(id string) error
	Limit              int
	// HardDeleted: the table's rows are removed when deleted (it has no
	// deleted_at).
	HardDeleted bool
}

// page runs l in one read transaction, read is the kind's query reader
// (its rows with what they hold), and says whether more rows follow the
// page.
func page[T any](ctx context.Context, db *sqlstore.DB, l listing, read func(context.Context, querier, string, ...any) ([]T, error)) ([]T, bool, error) {
	var out []T
	err := db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		cond, args := strings.Join(l.Conds, " AND "), slices.Clone(l.Args)
		if l.Marker != "" {
			visible, vargs := l.Alias+".deleted_at IS NULL", []any{l.Marker}
			if l.HardDeleted {
				visible = "1 = 1"
			}
			if l.MarkerScope != "" {
				visible, vargs = visible+" AND "+l.MarkerScope, append(vargs, l.MarkerArgs...)
			}
			values, err := l.Order.Marker(ctx, tx, "FROM "+l.Table+" WHERE "+l.Alias+".id = ? AND "+visible, vargs...)
			if errors.Is(err, sqlstore.ErrNotFound) {
				return l.NotFound(l.Marker)
			} else if err != nil {
				return err
			}
			after, aargs := l.Order.After(values)
			cond, args = cond+" AND "+after, append(args, aargs...)
		}
		q := "SELECT " + l.Cols + " FROM " + l.Table + " WHERE " + cond + l.Order.OrderBy()
		if l.Limit > 0 {
			q, args = q+" LIMIT ?", append(args, l.Limit+1)
		}
		var err error
		out, err = read(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if l.Limit > 0 && len(out) > l.Limit {
		return out[:l.Limit], true, nil
	}
	return out, false, nil
}
