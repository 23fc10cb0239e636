package compute

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Claim is the whole set of allocations of one consumer (an instance, a
// migration): PUT /allocations/{consumer}. Resources are amounts by
// provider uuid and class; empty Resources removes every allocation of
// the consumer (and the consumer).
type Claim struct {
	Consumer     string
	ProjectID    string
	UserID       string
	ConsumerType string
	Resources    map[string]map[string]int64
	// CheckGeneration is Placement 1.28's consumer generation check:
	// Generation is the consumer's generation the caller read, nil for a
	// consumer it believes new. A mismatch is a concurrent_update
	// Conflict. Without it the last writer wins, as before 1.28.
	CheckGeneration bool
	Generation      *int64
}

// Claim writes a consumer's allocations atomically: in one transaction
// it checks the consumer's generation, checks every amount against its
// inventory (capacity, min_unit, max_unit, step_size) while holding the
// inventory row, replaces the consumer's allocations, keeps each
// inventory's usage and bumps the generation of every provider touched.
// Either all of it is written or none: no provider ever goes over its
// capacity, whatever the number of schedulers claiming at once, in one
// process or many, on SQLite or PostgreSQL.
func (s *Store) Claim(ctx context.Context, c Claim) error {
	return s.ClaimAll(ctx, []Claim{c})
}

// ClaimAll writes the allocations of several consumers in one
// transaction (POST /allocations): a move holds the instance's
// allocations on the source (under the migration's consumer) and on the
// destination (under the instance) until it is confirmed.
func (s *Store) ClaimAll(ctx context.Context, claims []Claim) error {
	claims, err := checkClaims(claims)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error { return s.claimTx(ctx, tx, claims) })
}

// checkClaims refuses malformed claims and sorts them by consumer, the
// order their rows are locked in.
func checkClaims(claims []Claim) ([]Claim, error) {
	claims = slices.Clone(claims)
	for i := range claims {
		u, err := uuid.Parse(claims[i].Consumer)
		if err != nil {
			return nil, placementError(fault.BadRequest, CodeDefault, "Malformed consumer_uuid: %s", claims[i].Consumer)
		}
		claims[i].Consumer = u.String() // one consumer, however its uuid is written
	}
	slices.SortFunc(claims, func(a, b Claim) int { return strings.Compare(a.Consumer, b.Consumer) })
	for i, c := range claims {
		if i > 0 && claims[i-1].Consumer == c.Consumer {
			return nil, placementError(fault.BadRequest, CodeDefault, "consumer %s appears twice", c.Consumer)
		}
		for p, rs := range c.Resources {
			for cl, n := range rs {
				if n < 1 {
					return nil, placementError(fault.BadRequest, CodeDefault, "allocation of %s on resource provider %s must be at least 1", cl, p)
				}
			}
		}
	}
	return claims, nil
}

// claimRecord is a claim's entry in the watch feed.
type claimRecord struct {
	consumer, project string
	op                watch.Op
	v                 any
}

// deferredKey marks a context whose claims' feed entries are collected
// (by a ClaimBatcher, which appends them at the end of its transaction)
// instead of appended at once.
type deferredKey struct{}

func (s *Store) recordClaim(ctx context.Context, tx *sqlstore.Tx, consumer, project string, op watch.Op, v any) error {
	if d, ok := ctx.Value(deferredKey{}).(*[]claimRecord); ok {
		*d = append(*d, claimRecord{consumer, project, op, v})
		return nil
	}
	return s.record(ctx, tx, "allocation", consumer, project, op, v)
}

// claimTx writes checked claims in tx, taking rows in one order:
// consumers (their generations), then providers in uuid order (their
// generations), then the allocation rows (whose inserts take a key-share
// lock on a provider row this transaction already holds: taking those
// first, with many schedulers at once, trips PostgreSQL 15's "new
// multixact has more than one updating member"), then inventories in
// (provider, class) order.
//
// The feed entries are appended last: the feed's head is one row every
// writer takes, so holding it only from the append to the commit lets
// the claims of other schedulers do their work meanwhile. (A
// ClaimBatcher collects them for the end of its whole transaction.)
func (s *Store) claimTx(ctx context.Context, tx *sqlstore.Tx, claims []Claim) error {
	mine := ctx.Value(deferredKey{}) == nil
	var records []claimRecord
	if mine {
		ctx = context.WithValue(ctx, deferredKey{}, &records)
	}
	delta := map[[2]string]int64{}
	amount := map[[2]string][]int64{}
	writes := make([]consumerWrite, 0, len(claims))
	for _, c := range claims {
		w, err := s.claimConsumer(ctx, tx, c, delta, amount)
		if err != nil {
			return err
		}
		writes = append(writes, w)
	}
	keys := slices.SortedFunc(maps.Keys(delta), func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	if err := s.lockProviders(ctx, tx, keys); err != nil {
		return err
	}
	for _, w := range writes {
		if err := s.writeAllocations(ctx, tx, w); err != nil {
			return err
		}
	}
	crashpoint.Hit("compute.claim.consumers")
	if err := s.applyUsage(ctx, tx, keys, delta, amount); err != nil {
		return err
	}
	if mine {
		for _, r := range records {
			if err := s.record(ctx, tx, "allocation", r.consumer, r.project, r.op, r.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// consumerWrite is what is left to write of one consumer's claim once
// its generation is settled.
type consumerWrite struct {
	c      Claim
	exists bool
}

// claimConsumer checks and bumps one consumer's generation (or creates
// it), adding what its claim changes to delta (by provider and class)
// and the new amounts to amount (one for each consumer of a ClaimAll
// that takes from the provider's class).
func (s *Store) claimConsumer(ctx context.Context, tx *sqlstore.Tx, c Claim, delta map[[2]string]int64, amount map[[2]string][]int64) (consumerWrite, error) {
	gen, owner, exists, err := s.consumerGeneration(ctx, tx, c.Consumer)
	if err != nil {
		return consumerWrite{}, err
	}
	if c.ProjectID == "" {
		c.ProjectID = owner // the feed entry names the consumer's project
	}
	if c.CheckGeneration {
		switch {
		case exists && (c.Generation == nil || *c.Generation != gen):
			return consumerWrite{}, placementError(fault.Conflict, CodeConcurrentUpdate,
				"consumer generation conflict - expected %d but got %s", gen, genString(c.Generation))
		case !exists && c.Generation != nil:
			return consumerWrite{}, placementError(fault.Conflict, CodeConcurrentUpdate,
				"consumer generation conflict - expected null but got %d", *c.Generation)
		}
	}
	if err := s.settleConsumer(ctx, tx, c, gen, exists); err != nil {
		return consumerWrite{}, err
	}
	old, err := s.consumerAllocations(ctx, tx, c.Consumer)
	if err != nil {
		return consumerWrite{}, err
	}
	for k, n := range old {
		delta[k] -= n
	}
	for p, rs := range c.Resources {
		for cl, n := range rs {
			k := [2]string{p, cl}
			if delta[k] > 0 && n > math.MaxInt64-delta[k] {
				// Amounts whose sum is past int64 fit no inventory.
				return consumerWrite{}, placementError(fault.Conflict, CodeDefault,
					"Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. The requested amount would exceed the capacity.", cl, p)
			}
			delta[k] += n
			amount[k] = append(amount[k], n)
		}
	}
	return consumerWrite{c: c, exists: exists}, nil
}

// settleConsumer bumps an existing consumer's generation (a
// compare-and-swap that is also its row lock) or creates a new one.
func (s *Store) settleConsumer(ctx context.Context, tx *sqlstore.Tx, c Claim, gen int64, exists bool) error {
	now := s.now().UnixMicro()
	if exists {
		res, err := tx.Exec(ctx, `UPDATE compute_consumers SET generation = generation + 1, updated_at = ?,
			project_id = CASE WHEN ? = '' THEN project_id ELSE ? END, user_id = CASE WHEN ? = '' THEN user_id ELSE ? END,
			consumer_type = CASE WHEN ? = '' THEN consumer_type ELSE ? END WHERE uuid = ? AND generation = ?`,
			now, c.ProjectID, c.ProjectID, c.UserID, c.UserID, c.ConsumerType, c.ConsumerType, c.Consumer, gen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return placementError(fault.Conflict, CodeConcurrentUpdate, "consumer %s changed while allocating; retry", c.Consumer)
		}
		return nil
	}
	if len(c.Resources) == 0 {
		return nil
	}
	if c.ProjectID == "" || c.UserID == "" {
		return placementError(fault.BadRequest, CodeDefault, "project_id and user_id are required for a new consumer %s", c.Consumer)
	}
	_, err := tx.Exec(ctx, `INSERT INTO compute_consumers (uuid, project_id, user_id, consumer_type, generation, created_at, updated_at)
		VALUES (?, ?, ?, ?, 1, ?, ?)`, c.Consumer, c.ProjectID, c.UserID, c.ConsumerType, now, now)
	if errors.Is(err, sqlstore.ErrConflict) {
		return placementError(fault.Conflict, CodeConcurrentUpdate, "consumer %s was created while allocating; retry", c.Consumer)
	}
	return err
}

// writeAllocations replaces a consumer's allocation rows (the providers'
// rows are already held) and records the change.
func (s *Store) writeAllocations(ctx context.Context, tx *sqlstore.Tx, w consumerWrite) error {
	c := w.c
	if _, err := tx.Exec(ctx, `DELETE FROM compute_allocations WHERE consumer_uuid = ?`, c.Consumer); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(c.Resources)) {
		for _, cl := range slices.Sorted(maps.Keys(c.Resources[p])) {
			if _, err := tx.Exec(ctx, `INSERT INTO compute_allocations (consumer_uuid, provider_uuid, resource_class, used) VALUES (?, ?, ?, ?)`,
				c.Consumer, p, cl, c.Resources[p][cl]); err != nil {
				return err
			}
		}
	}
	if w.exists && len(c.Resources) == 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM compute_consumers WHERE uuid = ?`, c.Consumer); err != nil {
			return err
		}
		return s.recordClaim(ctx, tx, c.Consumer, c.ProjectID, watch.Delete, nil)
	}
	if len(c.Resources) == 0 {
		return nil
	}
	return s.recordClaim(ctx, tx, c.Consumer, c.ProjectID, watch.Update, c.Resources)
}

func genString(g *int64) string {
	if g == nil {
		return "null"
	}
	return strconv.FormatInt(*g, 10)
}

// lockProviders takes each provider's row in uuid order, bumping its
// generation; a provider that does not exist refuses the claim.
func (s *Store) lockProviders(ctx context.Context, tx *sqlstore.Tx, keys [][2]string) error {
	now := s.now().UnixMicro()
	for i, k := range keys {
		if i > 0 && keys[i-1][0] == k[0] {
			continue
		}
		res, err := tx.Exec(ctx, `UPDATE compute_providers SET generation = generation + 1, updated_at = ? WHERE uuid = ?`, now, k[0])
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return placementError(fault.BadRequest, CodeDefault, "Allocation for resource provider '%s' that does not exist.", k[0])
		}
	}
	return nil
}

// applyUsage changes each inventory's usage by delta, in (provider,
// class) order (keys); an increase is written only if it fits, and every
// new amount must meet the inventory's unit rules.
func (s *Store) applyUsage(ctx context.Context, tx *sqlstore.Tx, keys [][2]string, delta map[[2]string]int64, amount map[[2]string][]int64) error {
	for _, k := range keys {
		d, amts := delta[k], amount[k]
		if d == 0 && len(amts) == 0 {
			continue
		}
		// Every amount meets the unit rules when the least and the
		// greatest do and their gcd is a multiple of step_size. The casts
		// keep PostgreSQL from typing the values compared with 0 as 32-bit
		// integers (an amount past 2^31 failed to encode), and the CASE
		// from computing a sum past int64 (capacity - used cannot be).
		lo, hi, step := unitBounds(amts)
		res, err := tx.Exec(ctx, `UPDATE compute_inventories SET used = used + ?
			WHERE provider_uuid = ? AND resource_class = ?
			AND CASE WHEN CAST(? AS BIGINT) <= 0 THEN TRUE WHEN used > capacity THEN FALSE ELSE ? <= capacity - used END
			AND (CAST(? AS BIGINT) = 0 OR (? >= min_unit AND ? <= max_unit AND ? % step_size = 0))`,
			d, k[0], k[1], d, d, step, lo, hi, step)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.whyNot(ctx, tx, k[0], k[1], amts, d)
		}
		crashpoint.Hit("compute.claim.inventory")
	}
	return nil
}

// unitBounds are the least and the greatest of amounts and their gcd,
// zeros for none.
func unitBounds(amounts []int64) (lo, hi, gcd int64) {
	for i, n := range amounts {
		if i == 0 {
			lo, hi, gcd = n, n, n
			continue
		}
		lo, hi = min(lo, n), max(hi, n)
		for a := n; a != 0; {
			gcd, a = a, gcd%a
		}
	}
	return lo, hi, gcd
}

// whyNot explains a refused usage change in Placement's words: an amount
// that breaks a unit rule, or else the increase d that does not fit.
func (s *Store) whyNot(ctx context.Context, tx *sqlstore.Tx, p, class string, amts []int64, d int64) error {
	rows, err := s.inventoryRows(ctx, tx, p)
	if err != nil {
		return err
	}
	r, ok := rows[class]
	if !ok {
		return placementError(fault.Conflict, CodeDefault,
			"Unable to allocate inventory: Inventory for '%s' on resource provider '%s' invalid.", class, p)
	}
	for _, amt := range amts {
		if ferr, ok := r.Fit(class, 0, amt).(*placement.CapacityError); ok && ferr.Reason != placement.ReasonCapacity {
			return placementError(fault.Conflict, CodeDefault,
				"Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. The requested amount would violate inventory constraints: %s",
				class, p, ferr)
		}
	}
	return placementError(fault.Conflict, CodeDefault,
		"Unable to allocate inventory: Unable to create allocation for '%s' on resource provider '%s'. The requested amount would exceed the capacity: %s",
		class, p, &placement.CapacityError{Class: class, Amount: d, Used: r.used, Reason: placement.ReasonCapacity, Inventory: r.Inventory})
}

func (s *Store) consumerGeneration(ctx context.Context, tx *sqlstore.Tx, c string) (gen int64, project string, exists bool, err error) {
	err = tx.Get(ctx, `SELECT generation, project_id FROM compute_consumers WHERE uuid = ?`, []any{c}, &gen, &project)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return 0, "", false, nil
	}
	return gen, project, err == nil, err
}

func (s *Store) consumerAllocations(ctx context.Context, tx *sqlstore.Tx, c string) (map[[2]string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT provider_uuid, resource_class, used FROM compute_allocations WHERE consumer_uuid = ?`, c)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	for rows.Next() {
		var p, cl string
		var n int64
		if err := rows.Scan(&p, &cl, &n); err != nil {
			return nil, err
		}
		out[[2]string{p, cl}] = n
	}
	return out, rows.Err()
}

// DeleteAllocations removes every allocation of a consumer; a consumer
// with none is NotFound.
func (s *Store) DeleteAllocations(ctx context.Context, consumer string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		_, _, exists, err := s.consumerGeneration(ctx, tx, consumer)
		if err != nil {
			return err
		}
		if !exists {
			return placementError(fault.NotFound, CodeDefault, "No allocations for consumer '%s'", consumer)
		}
		return s.claimTx(ctx, tx, []Claim{{Consumer: consumer}})
	})
}
