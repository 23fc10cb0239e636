package publish

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/server"
	"github.com/gostack/gostack/kit/watch"
	mdns "github.com/miekg/dns"
)

// Keys gives a server the TSIG keys it verifies transfers and signs
// NOTIFYs with: Static ones (from a config file) plus every key of the
// store (pool and zone keys alike: what each may do is the transfer
// ACLs' and the pool targets' business), a static key winning over a
// stored one of the same name. Run follows the feed so that keys written
// through the API take effect without a restart.
type Keys struct {
	Store  *dns.Store
	Feed   *watch.Log
	Static []server.Key
	Server *server.Server // set by the caller once the server exists; Run needs it
	Log    *slog.Logger
}

// Load returns the keys as they are now.
func (k *Keys) Load(ctx context.Context) ([]server.Key, error) {
	keys := append([]server.Key(nil), k.Static...)
	seen := map[string]bool{}
	for _, s := range k.Static {
		seen[mdns.CanonicalName(s.Name)] = true
	}
	stored, err := k.Store.ListTSIGKeys(ctx, "", "")
	if err != nil {
		return nil, fmt.Errorf("dns: tsig keys: %w", err)
	}
	for _, s := range stored {
		if !seen[mdns.CanonicalName(s.Name)] {
			keys = append(keys, server.Key{Name: s.Name, Algorithm: s.Algorithm, Secret: s.Secret})
		}
	}
	return keys, nil
}

// Run gives Server the current keys whenever the feed shows a key
// created, changed or deleted after since, until ctx ends.
func (k *Keys) Run(ctx context.Context, since int64) error {
	return watch.Follow(ctx, k.Feed, watch.Query{Area: "dns", Since: since}, keyReloader{k}, watch.FollowOptions{Log: k.log()})
}

func (k *Keys) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.New(slog.DiscardHandler)
}

type keyReloader struct{ k *Keys }

func (r keyReloader) Apply(ctx context.Context, c watch.Change) error {
	if c.Kind != "tsigkey" {
		return nil
	}
	return r.reload(ctx)
}

func (r keyReloader) Resync(ctx context.Context) (int64, error) {
	head, _, err := r.k.Feed.Head(ctx)
	if err != nil {
		return 0, err
	}
	return head, r.reload(ctx)
}

func (r keyReloader) reload(ctx context.Context) error {
	keys, err := r.k.Load(ctx)
	if err != nil {
		return err
	}
	r.k.Server.SetKeys(keys)
	r.k.log().Info("dns server tsig keys loaded", "keys", len(keys))
	return nil
}
