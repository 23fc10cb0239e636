package watch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// A change is appended in the transaction that makes it, so it is in the
// feed if and only if it committed; readers ask for what came after the
// revision they last applied, and one that fell behind the compaction
// horizon is told to resync.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "watch-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	// The feed's schema is applied with the areas' own.
	if err := db.Migrate(ctx, watch.Migrations()); err != nil {
		panic(err)
	}
	feed := watch.New(db)

	for _, id := range []string{"vm1", "vm2", "vm1"} {
		err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
			// ... the area's own write goes here, in tx ...
			_, err := feed.Append(ctx, tx, watch.Change{Area: "compute", Kind: "server", ID: id, Op: watch.Update,
				Data: []byte(`{"id":"` + id + `"}`)})
			return err
		})
		if err != nil {
			panic(err)
		}
	}

	b, err := feed.Since(ctx, watch.Query{Area: "compute", Since: 1})
	for _, c := range b.Changes {
		fmt.Println(c.Revision, c.Op, c.Kind, c.ID, string(c.Data))
	}
	fmt.Println("continue from", b.Revision, err)

	// Nothing after the head: Wait returns an empty batch at its timeout.
	b, err = feed.Wait(ctx, watch.Query{Area: "compute", Since: 3}, 10*time.Millisecond)
	fmt.Println(len(b.Changes), b.Revision, err)

	if _, err := feed.Compact(ctx, 2); err != nil {
		panic(err)
	}
	_, err = feed.Since(ctx, watch.Query{Area: "compute", Since: 1})
	var behind *watch.CompactedError
	fmt.Println(errors.Is(err, watch.ErrCompacted), errors.As(err, &behind) && behind.Horizon == 2)
	// Output:
	// 2 update server vm2 {"id":"vm2"}
	// 3 update server vm1 {"id":"vm1"}
	// continue from 3 <nil>
	// 0 3 <nil>
	// true true
}
