package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// SharedKeys is a Fernet key repository kept in the store, shared by every
// controller of a deployment, with Keystone's layout (0 staged, highest
// primary) and a rotation protocol that never invalidates a token still
// valid on any node:
//
//   - every node acknowledges the key generation it has loaded (Reload,
//     which Run calls periodically and a watch-feed change should trigger);
//   - Rotate promotes the staged key only when every live node (seen within
//     Live) has acknowledged the current generation, so every node already
//     holds the new primary as its staged key before anyone signs with it;
//   - Rotate refuses to purge a key that stopped being primary less than
//     TokenTTL ago, so no token signed with it can still be valid.
//
// A crash cannot leave the keys half-rotated: setup and each rotation
// (retire the primary, promote the staged key, stage a new one, purge,
// move the generation) are one transaction each, and an acknowledgement
// is one statement after the keys are loaded. A process that dies between
// them leaves either the keys before or the keys after, plus an
// acknowledgement that lags; the node's next start (NewSharedKeys)
// acknowledges again, and a node that does not come back stops counting
// as live after Live.
type SharedKeys struct {
	store     *Store
	node      string
	maxActive int
	// TokenTTL is the longest token lifetime (default one hour).
	TokenTTL time.Duration
	// Live is how recently a node must have acknowledged to count as alive
	// (default one minute); dead nodes do not block rotation.
	Live time.Duration
	Now  func() time.Time

	mu   sync.RWMutex
	keys []fernet.Key
	gen  int64
}

var _ fernet.KeySource = (*SharedKeys)(nil)

// Rotation refusals; both are 409s to an API caller.
var (
	ErrKeysNotPropagated = errors.New("identity: fernet keys: not every live node has loaded the current keys")
	ErrRotationTooSoon   = errors.New("identity: fernet keys: rotating now would purge a key that signed tokens still valid")
)

// NewSharedKeys opens the shared repository for this node, creating it
// (staged key plus one rotation, as fernet_setup) if the store has none,
// and staging a key if it has keys but no staged key. It never rotates or
// removes a key.
func NewSharedKeys(ctx context.Context, store *Store, node string, maxActiveKeys int) (*SharedKeys, error) {
	if maxActiveKeys < 2 {
		maxActiveKeys = fernet.DefaultMaxActiveKeys
	}
	k := &SharedKeys{store: store, node: node, maxActive: maxActiveKeys, TokenTTL: time.Hour, Live: time.Minute}
	if err := k.setup(ctx); err != nil {
		return nil, err
	}
	return k, k.Reload(ctx)
}

func (k *SharedKeys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *SharedKeys) setup(ctx context.Context) error {
	return k.store.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var gen int64
		if err := tx.Get(ctx, "UPDATE identity_fernet_state SET generation = generation WHERE id = 1 RETURNING generation", nil, &gen); err != nil {
			return err
		}
		var n, staged int
		if err := tx.Get(ctx, "SELECT COUNT(*), COUNT(CASE WHEN idx = 0 THEN 1 END) FROM identity_fernet_keys", nil, &n, &staged); err != nil {
			return err
		}
		var add []int // key indexes to create
		switch {
		case n == 0:
			add = []int{0, 1} // staged and primary, as fernet_setup
		case staged == 0:
			// Keys but no staged key: no crash leaves this (each rotation
			// is one transaction), a hand-edited or partly restored table
			// may. A staged key has signed nothing, so a new one restores
			// the layout; the generation moves, so Rotate waits until
			// every live node holds it before promoting it.
			add = []int{0}
		default:
			return nil
		}
		for _, idx := range add {
			key, err := fernet.GenerateKey()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO identity_fernet_keys (idx, key) VALUES (?, ?)", idx, key.String()); err != nil {
				return err
			}
		}
		return k.bump(ctx, tx)
	})
}

// bump moves the generation and records the change (without key material)
// in the watch feed, so other nodes reload.
func (k *SharedKeys) bump(ctx context.Context, tx *sqlstore.Tx) error {
	var gen int64
	if err := tx.Get(ctx, "UPDATE identity_fernet_state SET generation = generation + 1 WHERE id = 1 RETURNING generation", nil, &gen); err != nil {
		return err
	}
	_, err := k.store.feed.Append(ctx, tx, watch.Change{Area: "identity", Kind: "fernet_keys", ID: fmt.Sprint(gen), Op: watch.Update})
	return err
}

// Keys returns the keys, primary first, from memory.
func (k *SharedKeys) Keys() []fernet.Key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

// Generation is the key generation this node has loaded.
func (k *SharedKeys) Generation() int64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gen
}

// Reload reads the keys and acknowledges their generation.
func (k *SharedKeys) Reload(ctx context.Context) error {
	var keys []fernet.Key
	var gen int64
	err := k.store.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.Get(ctx, "SELECT generation FROM identity_fernet_state WHERE id = 1", nil, &gen); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT idx, key FROM identity_fernet_keys ORDER BY idx DESC")
		if err != nil {
			return err
		}
		defer rows.Close()
		var staged *fernet.Key
		for rows.Next() {
			var idx int64
			var text string
			if err := rows.Scan(&idx, &text); err != nil {
				return err
			}
			key, err := fernet.ParseKey(text)
			if err != nil {
				return fmt.Errorf("identity: fernet key %d: %w", idx, err)
			}
			if idx == 0 {
				staged = &key
				continue
			}
			keys = append(keys, key)
		}
		if staged != nil {
			keys = append(keys, *staged) // staged last, as Keystone's load_keys
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fernet.ErrNoKeys
	}
	k.mu.Lock()
	k.keys, k.gen = keys, gen
	k.mu.Unlock()
	_, err = k.store.db.Exec(ctx, `INSERT INTO identity_fernet_acks (node, generation, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (node) DO UPDATE SET generation = excluded.generation, seen_at = excluded.seen_at`, k.node, gen, k.now().UnixMicro())
	return err
}

// Run reloads (and so acknowledges) every interval until ctx ends.
func (k *SharedKeys) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Reload(ctx); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Rotate is Keystone's rotation on the shared keys, guarded by the
// protocol above. It reloads this node afterwards.
func (k *SharedKeys) Rotate(ctx context.Context) error {
	now := k.now()
	err := k.store.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var gen int64
		// Lock the state row: rotations serialize.
		if err := tx.Get(ctx, "UPDATE identity_fernet_state SET generation = generation WHERE id = 1 RETURNING generation", nil, &gen); err != nil {
			return err
		}
		if err := k.checkAcks(ctx, tx, gen, now); err != nil {
			return err
		}
		idxs, retired, err := keyRows(ctx, tx)
		if err != nil {
			return err
		}
		if !slices.Contains(idxs, 0) {
			return fmt.Errorf("identity: fernet keys: no staged key (a node's start, NewSharedKeys, stages one)")
		}
		primary := slices.Max(idxs)
		active := slices.DeleteFunc(slices.Clone(idxs), func(i int64) bool { return i == 0 })
		active = append(active, primary+1) // the staged key's new index
		sort.Slice(active, func(a, b int) bool { return active[a] < active[b] })
		var purge []int64
		for len(active) > k.maxActive-1 {
			purge, active = append(purge, active[0]), active[1:]
		}
		for _, idx := range purge {
			if at := retired[idx]; at == 0 || now.Sub(time.UnixMicro(at)) < k.TokenTTL {
				return fmt.Errorf("%w: key %d retired %s ago, tokens live %s", ErrRotationTooSoon, idx, now.Sub(time.UnixMicro(at)).Round(time.Second), k.TokenTTL)
			}
		}
		return k.applyRotation(ctx, tx, primary, purge, now)
	})
	if err != nil {
		return err
	}
	return k.Reload(ctx)
}

func (k *SharedKeys) checkAcks(ctx context.Context, tx *sqlstore.Tx, gen int64, now time.Time) error {
	rows, err := tx.Query(ctx, "SELECT node FROM identity_fernet_acks WHERE seen_at >= ? AND generation <> ? ORDER BY node",
		now.Add(-k.Live).UnixMicro(), gen)
	if err != nil {
		return err
	}
	defer rows.Close()
	var lagging []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		lagging = append(lagging, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(lagging) > 0 {
		return fmt.Errorf("%w: waiting for %s", ErrKeysNotPropagated, strings.Join(lagging, ", "))
	}
	return nil
}

func keyRows(ctx context.Context, tx *sqlstore.Tx) ([]int64, map[int64]int64, error) {
	rows, err := tx.Query(ctx, "SELECT idx, retired_at FROM identity_fernet_keys")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var idxs []int64
	retired := map[int64]int64{}
	for rows.Next() {
		var idx, at int64
		if err := rows.Scan(&idx, &at); err != nil {
			return nil, nil, err
		}
		idxs = append(idxs, idx)
		retired[idx] = at
	}
	return idxs, retired, rows.Err()
}

// applyRotation: the old primary retires now, 0 becomes primary+1, a new
// staged key is written, and the purged keys go.
func (k *SharedKeys) applyRotation(ctx context.Context, tx *sqlstore.Tx, primary int64, purge []int64, now time.Time) error {
	staged, err := fernet.GenerateKey()
	if err != nil {
		return err
	}
	steps := []struct {
		q    string
		args []any
	}{
		{"UPDATE identity_fernet_keys SET retired_at = ? WHERE idx = ?", []any{now.UnixMicro(), primary}},
		{"UPDATE identity_fernet_keys SET idx = ? WHERE idx = 0", []any{primary + 1}},
		{"INSERT INTO identity_fernet_keys (idx, key) VALUES (0, ?)", []any{staged.String()}},
	}
	for _, idx := range purge {
		steps = append(steps, struct {
			q    string
			args []any
		}{"DELETE FROM identity_fernet_keys WHERE idx = ?", []any{idx}})
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
			return err
		}
	}
	return k.bump(ctx, tx)
}
