package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/sqlstore"
)

// Page through a table by size (which may be NULL), largest first, two
// rows at a time: each page asks for one row more than it shows, to know
// whether another follows, and the next page seeks past the last row shown.
func ExampleKeyset() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlstore-keyset")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.Exec(ctx, "CREATE TABLE files (id TEXT PRIMARY KEY, size BIGINT)")
	for id, size := range map[string]any{"a": 10, "b": nil, "c": 30, "d": 10, "e": 20} {
		db.Exec(ctx, "INSERT INTO files (id, size) VALUES (?, ?)", id, size)
	}

	order := sqlstore.Keyset{{Expr: "size", Desc: true, Nullable: true}, {Expr: "id"}}
	const limit = 2
	marker := ""
	for {
		where, args := "", []any{}
		if marker != "" {
			values, err := order.Marker(ctx, db, "FROM files WHERE id = ?", marker)
			if err != nil {
				panic(err) // sqlstore.ErrNotFound: no such marker
			}
			cond, condArgs := order.After(values)
			where, args = " WHERE "+cond, condArgs
		}
		rows, err := db.Query(ctx, "SELECT id FROM files"+where+order.OrderBy()+" LIMIT ?", append(args, limit+1)...)
		if err != nil {
			panic(err)
		}
		var page []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			page = append(page, id)
		}
		rows.Close()
		more := len(page) > limit
		page = page[:min(len(page), limit)]
		fmt.Println(page, more)
		if !more {
			break
		}
		marker = page[len(page)-1]
	}
	// Output:
	// [c e] true
	// [a d] true
	// [b] false
}
