package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Shared keys change in three kinds of store call: setup (one
// transaction: staged key, primary, generation), rotation (one
// transaction: retire the primary, promote the staged key, stage a new
// one, purge, bump the generation) and the acknowledgement of the
// generation a node loaded (one statement after each load). A crash stops
// the process between two statements: an open transaction is rolled back,
// whatever committed stays. These tests stop NewSharedKeys and Rotate
// after each statement they run, on every engine, and check that what is
// left opens every token valid before, that the node's next start repairs
// what needs repairing (its acknowledgement), and that the next rotation
// goes through once the protocol allows it.
func TestSharedKeysCrash(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("rotate", func(t *testing.T) { testSharedRotateCrash(t, e) })
			t.Run("setup", func(t *testing.T) { testSharedSetupCrash(t, e) })
		})
	}
}

// crashPoint panics out of the statement after which the process dies.
type crashPoint struct{ n int }

// crasher is an sqlstore.Observer that, once armed, counts statements and
// panics right after the one numbered at (from 1; never if at is 0). The
// observer runs once the statement has, so a statement in a transaction
// is rolled back by the panic (as by a connection that drops), and one
// outside any transaction stays done.
type crasher struct {
	armed bool
	at    int
	verbs []string // statements run since armed
}

func (c *crasher) observe(verb string, _ time.Duration, _ error) {
	if !c.armed {
		return
	}
	c.verbs = append(c.verbs, verb)
	if len(c.verbs) == c.at {
		c.armed = false
		panic(crashPoint{c.at})
	}
}

// crashed runs fn and reports whether it died at the crasher's point;
// err is fn's error otherwise.
func crashed(t *testing.T, fn func() error) (died bool, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(crashPoint); !ok {
				panic(p)
			}
			died = true
		}
	}()
	return false, fn()
}

type keysDB struct {
	db    *sqlstore.DB
	store *identity.Store
}

// openKeysDB is one process's connection to the store.
func openKeysDB(t *testing.T, dsn string, opts ...sqlstore.Option) keysDB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		t.Fatal(err)
	}
	return keysDB{db, identity.NewStore(db, watch.New(db))}
}

// sharedNode starts a controller on the store at the given clock.
func sharedNode(t *testing.T, s keysDB, name string, clock *time.Time) *identity.SharedKeys {
	t.Helper()
	k, err := identity.NewSharedKeys(context.Background(), s.store, name, 3)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	k.Now = func() time.Time { return *clock }
	return k
}

// assertSharedRepository checks the stored keys: a staged key 0, a
// primary, at most maxKeys (if > 0). It returns the indexes.
func assertSharedRepository(t *testing.T, s keysDB, maxKeys int) []int64 {
	t.Helper()
	rows, err := s.db.Query(context.Background(), "SELECT idx FROM identity_fernet_keys ORDER BY idx")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var idxs []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			t.Fatal(err)
		}
		idxs = append(idxs, i)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(idxs) < 2 || idxs[0] != 0 {
		t.Fatalf("stored keys %v: want a staged key 0 and a primary", idxs)
	}
	if maxKeys > 0 && len(idxs) > maxKeys {
		t.Fatalf("stored keys %v: more than %d", idxs, maxKeys)
	}
	return idxs
}

func validates(t *testing.T, where string, keys fernet.KeySource, clock *time.Time, tokens map[string]string) {
	t.Helper()
	f := &fernet.Formatter{Keys: keys, Now: func() time.Time { return *clock }}
	for name, tok := range tokens {
		if _, err := f.Validate(tok); err != nil {
			t.Fatalf("%s: token of the %s: %v", where, name, err)
		}
	}
}

func issueShared(t *testing.T, k fernet.Key, clock *time.Time) string {
	t.Helper()
	tok, err := (&fernet.Formatter{Keys: fernet.StaticKeys{k}}).Issue(fernet.Payload{UserID: "u", Methods: []string{"password"}, ExpiresAt: clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testSharedRotateCrash: a steady repository (staged 0, secondary 1
// retired more than a token lifetime ago, primary 2) on two controllers;
// a rotates and dies after statement n, for every n of Rotate.
func testSharedRotateCrash(t *testing.T, e testenv.Engine) {
	var steps []string
	for n := 0; ; n++ {
		if n > 0 && n > len(steps) {
			return
		}
		name := "count"
		if n > 0 {
			name = fmt.Sprintf("after %d %s", n, steps[n-1])
		}
		t.Run(name, func(t *testing.T) {
			dsn := e.New(t)
			clock := time.Now()
			setup := openKeysDB(t, dsn)
			a, b := sharedNode(t, setup, "ctl-a", &clock), sharedNode(t, setup, "ctl-b", &clock)
			ctx := context.Background()
			if err := a.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(time.Hour + time.Minute)
			for _, k := range []*identity.SharedKeys{a, b} {
				if err := k.Reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if idxs := assertSharedRepository(t, setup, 3); len(idxs) != 3 {
				t.Fatalf("steady state: keys %v", idxs)
			}
			keys := a.Keys()
			tokens := map[string]string{"primary": issueShared(t, keys[0], &clock), "staged key": issueShared(t, keys[len(keys)-1], &clock)}

			// a, in a process whose store connection dies at statement n.
			c := &crasher{at: n}
			proc := openKeysDB(t, dsn, sqlstore.WithObserver(c.observe))
			a1 := sharedNode(t, proc, "ctl-a", &clock)
			c.armed = true
			died, err := crashed(t, func() error { return a1.Rotate(ctx) })
			if n == 0 {
				if died || err != nil {
					t.Fatalf("rotation: died %v, %v", died, err)
				}
				steps = c.verbs
				t.Logf("Rotate runs %d statements: %v", len(steps), steps)
				return
			}
			if !died {
				t.Fatalf("no crash after statement %d (%v)", n, c.verbs)
			}
			proc.db.Close()

			// What is left opens every token on b, which did not restart
			// and has not reloaded, and on a after its restart.
			validates(t, "node b", b, &clock, tokens)
			s := openKeysDB(t, dsn)
			a2 := sharedNode(t, s, "ctl-a", &clock)
			assertSharedRepository(t, s, 0)
			validates(t, "node a restarted", a2, &clock, tokens)
			// a signs with the primary it restarted with; b, still on its
			// old keys, takes those tokens.
			validates(t, "node b, a token of restarted a", b, &clock, map[string]string{"new primary": issueShared(t, a2.Keys()[0], &clock)})

			// The next rotation goes through once every live node holds
			// the current keys and a token lifetime has passed since the
			// primary it would purge retired, as for any two rotations.
			clock = clock.Add(time.Hour + time.Minute)
			for _, k := range []*identity.SharedKeys{a2, b} {
				if err := k.Reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := a2.Rotate(ctx); err != nil {
				t.Fatalf("rotation after the crash: %v", err)
			}
			assertSharedRepository(t, s, 3)
			if err := b.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			validates(t, "node b after the next rotation", b, &clock, map[string]string{"primary": issueShared(t, a2.Keys()[0], &clock)})
		})
		if n == 0 && len(steps) == 0 {
			t.Fatal("the rotation ran no statement")
		}
	}
}

// testSharedSetupCrash: the first controller on an empty store dies after
// each statement of NewSharedKeys; its next start sets the keys up (or
// finds them) and rotations work.
func testSharedSetupCrash(t *testing.T, e testenv.Engine) {
	var steps []string
	for n := 0; ; n++ {
		if n > 0 && n > len(steps) {
			return
		}
		name := "count"
		if n > 0 {
			name = fmt.Sprintf("after %d %s", n, steps[n-1])
		}
		t.Run(name, func(t *testing.T) {
			dsn := e.New(t)
			clock := time.Now()
			c := &crasher{at: n}
			proc := openKeysDB(t, dsn, sqlstore.WithObserver(c.observe))
			c.armed = true
			died, err := crashed(t, func() error {
				_, err := identity.NewSharedKeys(context.Background(), proc.store, "ctl-a", 3)
				return err
			})
			if n == 0 {
				if died || err != nil {
					t.Fatalf("setup: died %v, %v", died, err)
				}
				steps = c.verbs
				t.Logf("NewSharedKeys runs %d statements on an empty store: %v", len(steps), steps)
				return
			}
			if !died {
				t.Fatalf("no crash after statement %d (%v)", n, c.verbs)
			}
			proc.db.Close()
			s := openKeysDB(t, dsn)
			a := sharedNode(t, s, "ctl-a", &clock)
			if idxs := assertSharedRepository(t, s, 0); len(idxs) != 2 {
				t.Fatalf("keys after the restart: %v, want 0 and 1", idxs)
			}
			tok := issueShared(t, a.Keys()[0], &clock)
			if err := a.Rotate(context.Background()); err != nil {
				t.Fatalf("rotation after the crash: %v", err)
			}
			assertSharedRepository(t, s, 3)
			validates(t, "after the rotation", a, &clock, map[string]string{"primary": tok})
		})
		if n == 0 && len(steps) == 0 {
			t.Fatal("setup ran no statement")
		}
	}
}

// Keys with no staged key (no crash of ours leaves this; a hand-edited or
// partly restored table may): a start stages one instead of leaving every
// rotation to refuse, and removes nothing.
func TestSharedKeysRestage(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := time.Now()
			s := openKeysDB(t, e.DSN)
			a := sharedNode(t, s, "ctl-a", &clock)
			if err := a.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			tokens := map[string]string{"primary": issueShared(t, a.Keys()[0], &clock)}
			if _, err := s.db.Exec(ctx, "DELETE FROM identity_fernet_keys WHERE idx = 0"); err != nil {
				t.Fatal(err)
			}
			a2 := sharedNode(t, s, "ctl-a", &clock)
			if idxs := assertSharedRepository(t, s, 0); len(idxs) != 3 {
				t.Fatalf("keys after the start: %v, want 0, 1 and 2", idxs)
			}
			if a2.Generation() != a.Generation()+1 {
				t.Fatalf("generation %d after staging, was %d", a2.Generation(), a.Generation())
			}
			validates(t, "after the start", a2, &clock, tokens)
			clock = clock.Add(time.Hour + time.Minute)
			if err := a2.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if err := a2.Rotate(ctx); err != nil {
				t.Fatalf("rotation after staging: %v", err)
			}
			assertSharedRepository(t, s, 3)
		})
	}
}
