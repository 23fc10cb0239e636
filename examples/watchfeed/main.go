// Command watchfeed shows gostack's broker-less pattern end to end: a
// controller stores desired state and appends each change to the watch
// feed in the same transaction; an agent follows the feed and reconciles.
//
//	cd examples && go run ./watchfeed
//
// It uses an SQLite file in a temporary directory; pass -db postgres://...
// to run the same code on PostgreSQL.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

//go:embed migrations/*.sql
var migrations embed.FS

type light struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "watchfeed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, args []string) error {
	flags := flag.NewFlagSet("watchfeed", flag.ContinueOnError)
	dsn := flags.String("db", "", "database DSN (default: SQLite in a temporary directory)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		dir, err := os.MkdirTemp("", "watchfeed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dsn = "sqlite://" + filepath.Join(dir, "example.db")
	}
	db, err := sqlstore.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// The area's own schema and the feed's are applied together, once.
	err = db.Migrate(ctx, watch.Migrations(),
		sqlstore.Migrations{Area: "lights", FS: migrations, Dir: "migrations"})
	if err != nil {
		return err
	}
	feed := watch.New(db)

	// The controller: change the state and record the change atomically.
	set := func(id, state string) error {
		return db.Tx(ctx, func(tx *sqlstore.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO lights (id, state) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET state = excluded.state`, id, state); err != nil {
				return err
			}
			data, _ := json.Marshal(light{ID: id, State: state})
			_, err := feed.Append(ctx, tx, watch.Change{Area: "lights", Kind: "light", ID: id, Op: watch.Update, Data: data})
			return err
		})
	}
	for _, s := range []struct{ id, state string }{{"hall", "on"}, {"porch", "on"}, {"hall", "off"}} {
		if err := set(s.id, s.state); err != nil {
			return err
		}
	}

	// The agent: follow the feed from revision 0 and apply each change.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	agent := &agent{out: out, want: 3, done: cancel, feed: feed}
	watch.Follow(ctx, feed, watch.Query{Area: "lights"}, agent, watch.FollowOptions{PollTimeout: time.Second})
	if agent.seen != agent.want {
		return fmt.Errorf("agent applied %d changes, want %d", agent.seen, agent.want)
	}
	return nil
}

type agent struct {
	out        io.Writer
	seen, want int
	done       func()
	feed       *watch.Log
}

func (a *agent) Apply(_ context.Context, c watch.Change) error {
	var l light
	if err := json.Unmarshal(c.Data, &l); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "revision %d: light %s is now %s\n", c.Revision, l.ID, l.State)
	if a.seen++; a.seen == a.want {
		a.done()
	}
	return nil
}

// Resync is called when the agent fell behind the feed's compaction
// horizon: it reads every light in one snapshot and continues from the
// snapshot's revision. (This example never compacts, so it is not called.)
func (a *agent) Resync(ctx context.Context) (int64, error) {
	return a.feed.Snapshot(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id, state FROM lights ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l light
			if err := rows.Scan(&l.ID, &l.State); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "resync: light %s is %s\n", l.ID, l.State)
		}
		return rows.Err()
	})
}
