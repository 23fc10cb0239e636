package sqlstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
)

// keysetRow is a row of the keyset test table.
type keysetRow struct {
	id  string
	grp string
	n   *int64 // NULL when nil
}

// Pages through a table with NULLs and duplicate values in every order a
// Keyset can express, on both engines, and compares with the same order
// computed in Go: every row exactly once, in order, whatever the page size.
func TestKeyset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []keysetRow
	for i := range 60 {
		r := keysetRow{id: fmt.Sprintf("r%03d", rng.IntN(1000)*1000+i), grp: []string{"a", "b", "c"}[rng.IntN(3)]}
		if rng.IntN(4) > 0 {
			n := int64(rng.IntN(8))
			r.n = &n
		}
		rows = append(rows, r)
	}
	// Go's order of the keys by name: NULL before every number.
	compare := map[string]func(a, b keysetRow) int{
		"id":  func(a, b keysetRow) int { return cmp.Compare(a.id, b.id) },
		"grp": func(a, b keysetRow) int { return cmp.Compare(a.grp, b.grp) },
		"n": func(a, b keysetRow) int {
			switch {
			case a.n == nil && b.n == nil:
				return 0
			case a.n == nil:
				return -1
			case b.n == nil:
				return 1
			}
			return cmp.Compare(*a.n, *b.n)
		},
	}
	key := func(s string) sqlstore.SortKey {
		name, dir, _ := strings.Cut(s, ":")
		return sqlstore.SortKey{Expr: "t." + name, Desc: dir == "desc", Nullable: name == "n"}
	}
	orders := [][]string{
		{"id"},
		{"id:desc"},
		{"grp", "id"},
		{"grp:desc", "id"},
		{"n", "id"},
		{"n:desc", "id"},
		{"n:desc", "id:desc"},
		{"grp", "n:desc", "id"},
		{"n", "grp:desc", "id:desc"},
		{"grp:desc", "n", "n:desc", "id"},
	}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t, e.DSN)
			if _, err := db.Exec(ctx, "CREATE TABLE keyset_rows (id TEXT PRIMARY KEY, grp TEXT NOT NULL, n BIGINT)"); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if _, err := db.Exec(ctx, "INSERT INTO keyset_rows (id, grp, n) VALUES (?, ?, ?)", r.id, r.grp, r.n); err != nil {
					t.Fatal(err)
				}
			}
			for _, order := range orders {
				var ks sqlstore.Keyset
				for _, k := range order {
					ks = append(ks, key(k))
				}
				want := slices.Clone(rows)
				slices.SortFunc(want, func(a, b keysetRow) int {
					for _, k := range order {
						name, dir, _ := strings.Cut(k, ":")
						if c := compare[name](a, b); c != 0 {
							if dir == "desc" {
								return -c
							}
							return c
						}
					}
					return 0
				})
				wantIDs := make([]string, len(want))
				for i, r := range want {
					wantIDs[i] = r.id
				}
				for _, limit := range []int{1, 7, 60} {
					got := keysetPages(t, db, ks, limit)
					if !slices.Equal(got, wantIDs) {
						t.Fatalf("%v by %d:\n got %v\nwant %v", order, limit, got, wantIDs)
					}
				}
			}
		})
	}
}

// keysetPages lists keyset_rows in pages of limit through the keyset and
// returns every id in order.
func keysetPages(t *testing.T, db *sqlstore.DB, ks sqlstore.Keyset, limit int) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pages do not end")
		}
		where, args := "", []any{}
		if len(out) > 0 {
			values, err := ks.Marker(ctx, db, "FROM keyset_rows t WHERE t.id = ?", out[len(out)-1])
			if err != nil {
				t.Fatal(err)
			}
			var cond string
			cond, args = ks.After(values)
			where = " WHERE " + cond
		}
		rows, err := db.Query(ctx, "SELECT t.id FROM keyset_rows t"+where+ks.OrderBy()+fmt.Sprintf(" LIMIT %d", limit), args...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < limit {
			return out
		}
	}
}

// A marker row that is not there is ErrNotFound.
func TestKeysetMarkerNotFound(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := open(t, e.DSN)
			if err := db.Migrate(context.Background(), testMigrations); err != nil {
				t.Fatal(err)
			}
			ks := sqlstore.Keyset{{Expr: "size"}, {Expr: "id"}}
			_, err := ks.Marker(context.Background(), db, "FROM widgets WHERE id = ?", "nope")
			if !errors.Is(err, sqlstore.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestKeysetSQL(t *testing.T) {
	ks := sqlstore.Keyset{{Expr: "a", Desc: true}, {Expr: "b", Nullable: true}, {Expr: "id"}}
	if got, want := ks.OrderBy(), " ORDER BY a DESC, b ASC NULLS FIRST, id ASC"; got != want {
		t.Errorf("OrderBy = %q, want %q", got, want)
	}
	tests := []struct {
		values []any
		cond   string
		args   []any
	}{
		{[]any{int64(5), int64(2), "x"}, "(a <= ? AND ((a < ? OR (a = ? AND (b > ? OR (b = ? AND id > ?))))))",
			[]any{int64(5), int64(5), int64(5), int64(2), int64(2), "x"}},
		{[]any{int64(5), nil, "x"}, "(a <= ? AND ((a < ? OR (a = ? AND (b IS NOT NULL OR (b IS NULL AND id > ?))))))",
			[]any{int64(5), int64(5), int64(5), "x"}},
	}
	for _, tt := range tests {
		cond, args := ks.After(tt.values)
		if cond != tt.cond || !slices.Equal(args, tt.args) {
			t.Errorf("After(%v) =\n %s %v\nwant\n %s %v", tt.values, cond, args, tt.cond, tt.args)
		}
	}
}
