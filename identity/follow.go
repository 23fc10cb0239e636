package identity

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/watch"
)

// Follower keeps one controller's Auth in step with what every
// controller sharing the store writes: revocation events go into the
// in-memory index, any identity change makes cached validations
// (identity/middleware) be redone, and with shared keys a key change is
// loaded and acknowledged at once.
type Follower struct {
	Auth *Auth
	Feed *watch.Log
	Keys *SharedKeys // nil with a file key repository
	Log  *slog.Logger

	since int64
}

// Load reads every stored revocation event, remembering the feed head
// taken first: Run then follows from there. Call it before serving, so
// that no revoked token validates after a restart.
func (f *Follower) Load(ctx context.Context) error {
	head, err := f.Resync(ctx)
	f.since = head
	return err
}

// Run follows the feed from where Load left it until ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	return watch.Follow(ctx, f.Feed, watch.Query{Area: "identity", Since: f.since}, f, watch.FollowOptions{Log: f.Log})
}

// Apply takes one change of the identity area.
func (f *Follower) Apply(ctx context.Context, c watch.Change) error {
	f.Auth.Changed() // any identity change may change a cached validation
	if c.Kind == "fernet_keys" && f.Keys != nil {
		return f.Keys.Reload(ctx) // load and acknowledge new keys at once
	}
	if c.Kind != "revocation" || c.Op != watch.Create {
		return nil
	}
	var e revoke.Event
	if err := json.Unmarshal(c.Data, &e); err != nil {
		return nil // not ours to fix: skip a malformed entry rather than stall
	}
	f.Auth.AddRevocationEvent(e)
	return nil
}

// Resync reloads every event; events stored while it reads are seen
// again from the head taken first (adding one twice is harmless).
func (f *Follower) Resync(ctx context.Context) (int64, error) {
	head, _, err := f.Feed.Head(ctx)
	if err != nil {
		return 0, err
	}
	return head, f.Auth.LoadRevocations(ctx)
}
