package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/watch"
)

func TestSharedKeys(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { testSharedKeys(t, e.DSN) })
	}
}

func testSharedKeys(t *testing.T, dsn string) {
	ctx := context.Background()
	store, feed := newStore(t, dsn)
	now := time.Now()
	clock := func() time.Time { return now }
	node := func(name string) *identity.SharedKeys {
		k, err := identity.NewSharedKeys(ctx, store, name, 3)
		if err != nil {
			t.Fatal(err)
		}
		k.Now = clock
		return k
	}
	a, b := node("ctl-a"), node("ctl-b")
	if len(a.Keys()) != 2 || len(b.Keys()) != 2 || !a.Keys()[0].Equal(b.Keys()[0]) {
		t.Fatalf("setup: a has %d keys, b %d", len(a.Keys()), len(b.Keys()))
	}
	fa, fb := &fernet.Formatter{Keys: a}, &fernet.Formatter{Keys: b}
	issue := func(f *fernet.Formatter) string {
		tok, err := f.Issue(fernet.Payload{UserID: "u", Methods: []string{"password"}, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	old := issue(fa)

	// Rotation 1: every live node has the current keys, so it goes ahead.
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := issue(fa) // signed with the new primary, the old staged key
	// b has not reloaded, yet validates it: it had the key as staged.
	if _, err := fb.Validate(fresh); err != nil {
		t.Fatalf("node b rejects a token of the new primary before reloading: %v", err)
	}
	// Rotation 2 must wait for b to load generation 2.
	if err := a.Rotate(ctx); !errors.Is(err, identity.ErrKeysNotPropagated) {
		t.Fatalf("rotate while b lags: %v", err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// Now it would purge the first primary, retired a moment ago: tokens
	// signed with it are still valid, so no.
	if err := a.Rotate(ctx); !errors.Is(err, identity.ErrRotationTooSoon) {
		t.Fatalf("rotate that would purge a live key: %v", err)
	}
	if _, err := fb.Validate(old); err != nil {
		t.Fatalf("old token must still validate: %v", err)
	}
	// A token lifetime later it may go; b is alive and current.
	now = now.Add(time.Hour + time.Minute)
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(ctx); err != nil {
		t.Fatalf("rotate after a token lifetime: %v", err)
	}
	if _, err := fa.Parse(old); err == nil {
		t.Fatal("the purged key still opens tokens")
	}
	if _, err := fb.Parse(fresh); err != nil {
		t.Fatalf("b lost the key of a recent token: %v", err)
	}
	// A dead node (silent for longer than Live) does not block rotation.
	now = now.Add(2 * time.Hour)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(ctx); err != nil {
		t.Fatalf("rotate with b dead: %v", err)
	}
	// The feed says keys changed, but carries no key material.
	batch, err := feed.Since(ctx, watch.Query{Area: "identity"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range batch.Changes {
		if c.Kind == "fernet_keys" {
			n++
			if len(c.Data) != 0 {
				t.Fatalf("key change carries data: %s", c.Data)
			}
		}
	}
	if n != 4 { // setup + three rotations
		t.Fatalf("%d fernet_keys changes in the feed, want 4", n)
	}
	// A third node joining later gets the current keys.
	c := node("ctl-c")
	if !c.Keys()[0].Equal(a.Keys()[0]) || c.Generation() != a.Generation() {
		t.Fatal("a new node does not see the current keys")
	}
}
