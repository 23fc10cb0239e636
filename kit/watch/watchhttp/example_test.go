package watchhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
)

// A controller serves its area's feed; an agent on another host long-polls
// it with a Client, which is a watch.Source like the Log itself (so
// watch.Follow works over either).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "watchhttp-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations()); err != nil {
		panic(err)
	}
	feed := watch.New(db)

	// The controller's side; put the token middleware in front of it.
	mux := http.NewServeMux()
	mux.Handle("GET /v1/watch/network", watchhttp.Handler{Log: feed, Area: "network"})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, id := range []string{"port1", "port2"} {
		err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
			_, err := feed.Append(ctx, tx, watch.Change{Area: "network", Kind: "port", ID: id, Op: watch.Create})
			return err
		})
		if err != nil {
			panic(err)
		}
	}

	// The agent's side.
	agent := &watchhttp.Client{URL: srv.URL + "/v1/watch/network", HTTP: srv.Client()}
	b, err := agent.Wait(ctx, watch.Query{Since: 0}, time.Second)
	for _, c := range b.Changes {
		fmt.Println(c.Revision, c.Op, c.Kind, c.ID)
	}
	fmt.Println("continue from", b.Revision, err)

	// Behind the compaction horizon: 410, and the agent must resync.
	if _, err := feed.Compact(ctx, 1); err != nil {
		panic(err)
	}
	_, err = agent.Wait(ctx, watch.Query{Since: 0}, time.Second)
	fmt.Println(errors.Is(err, watch.ErrCompacted))
	// Output:
	// 1 create port port1
	// 2 create port port2
	// continue from 2 <nil>
	// true
}
