package compute

import (
	"context"
	"database/sql"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Consumer is what GET /allocations/{consumer} shows: the consumer's
// allocations by provider (with each provider's generation) and who owns
// it. A consumer without allocations does not exist.
type Consumer struct {
	UUID         string
	ProjectID    string
	UserID       string
	ConsumerType string
	Generation   int64
	UpdatedAt    int64
	Allocations  map[string]ProviderAllocation
}

// ProviderAllocation is a consumer's amounts on one provider.
type ProviderAllocation struct {
	Generation int64
	Resources  map[string]int64
}

// Consumer returns a consumer's allocations; an unknown consumer has
// none (not an error, as in Placement).
func (s *Store) Consumer(ctx context.Context, u string) (Consumer, error) {
	c := Consumer{UUID: u, Allocations: map[string]ProviderAllocation{}}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		err := tx.Get(ctx, `SELECT project_id, user_id, consumer_type, generation, updated_at FROM compute_consumers WHERE uuid = ?`,
			[]any{u}, &c.ProjectID, &c.UserID, &c.ConsumerType, &c.Generation, &c.UpdatedAt)
		if fault.KindOf(err) == fault.NotFound {
			return nil
		} else if err != nil {
			return err
		}
		return scanEach(ctx, tx, `SELECT a.provider_uuid, p.generation, a.resource_class, a.used FROM compute_allocations a
			JOIN compute_providers p ON p.uuid = a.provider_uuid WHERE a.consumer_uuid = ?`, []any{u}, func(r *sql.Rows) error {
			var p, cl string
			var g, n int64
			if err := r.Scan(&p, &g, &cl, &n); err != nil {
				return err
			}
			pa := c.Allocations[p]
			if pa.Resources == nil {
				pa.Resources = map[string]int64{}
			}
			pa.Generation, pa.Resources[cl] = g, n
			c.Allocations[p] = pa
			return nil
		})
	})
	return c, err
}

// ProviderAllocations returns the allocations on a provider by consumer,
// and the provider's generation.
func (s *Store) ProviderAllocations(ctx context.Context, p string) (map[string]map[string]int64, int64, error) {
	out := map[string]map[string]int64{}
	var gen int64
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.Get(ctx, `SELECT generation FROM compute_providers WHERE uuid = ?`, []any{p}, &gen); fault.KindOf(err) == fault.NotFound {
			return providerNotFound(p)
		} else if err != nil {
			return err
		}
		return scanEach(ctx, tx, `SELECT consumer_uuid, resource_class, used FROM compute_allocations WHERE provider_uuid = ?`, []any{p}, func(r *sql.Rows) error {
			var c, cl string
			var n int64
			if err := r.Scan(&c, &cl, &n); err != nil {
				return err
			}
			if out[c] == nil {
				out[c] = map[string]int64{}
			}
			out[c][cl] = n
			return nil
		})
	})
	return out, gen, err
}

// Usages sums the allocations of a project's consumers by class (of one
// user's too when user is set; of one consumer type when consumerType is
// set): GET /usages.
func (s *Store) Usages(ctx context.Context, project, user, consumerType string) (map[string]int64, error) {
	out := map[string]int64{}
	q := `SELECT a.resource_class, SUM(a.used) FROM compute_allocations a JOIN compute_consumers c ON c.uuid = a.consumer_uuid
		WHERE c.project_id = ?`
	args := []any{project}
	if user != "" {
		q, args = q+` AND c.user_id = ?`, append(args, user)
	}
	if consumerType != "" {
		q, args = q+` AND c.consumer_type = ?`, append(args, consumerType)
	}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		return scanEach(ctx, tx, q+` GROUP BY a.resource_class`, args, func(r *sql.Rows) error {
			var cl string
			var n int64
			if err := r.Scan(&cl, &n); err != nil {
				return err
			}
			out[cl] = n
			return nil
		})
	})
	return out, err
}

// Snapshot reads every provider with its inventories, usages, traits and
// aggregates in one consistent view: what the scheduler and allocation
// candidates work over.
func (s *Store) Snapshot(ctx context.Context) ([]*placement.Provider, error) {
	var all []Provider
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		all, err = s.loadProviders(ctx, tx, "")
		return err
	})
	out := make([]*placement.Provider, len(all))
	for i := range all {
		out[i] = &all[i].Provider
	}
	return out, err
}

// AllocationCandidates answers GET /allocation_candidates. Trees are
// read and searched a chunk at a time, in root uuid order, until q.Limit
// candidates are found: the cost follows the limit more than the size of
// the cloud (Nova asks for 1,000).
func (s *Store) AllocationCandidates(ctx context.Context, q placement.Query) ([]placement.Candidate, []*placement.Provider, error) {
	if err := q.Validate(); err != nil {
		return nil, nil, placementError(fault.BadRequest, CodeDefault, "%s", trimInvalid(err))
	}
	var cands []placement.Candidate
	var sums []*placement.Provider
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		roots, err := candidateRoots(ctx, tx, q)
		if err != nil {
			return err
		}
		// Sharing providers serve whichever chunk's trees they share an
		// aggregate with: read them, with their trees, once.
		sp, err := s.loadProviders(ctx, tx, `WHERE p.root_uuid IN (SELECT s.root_uuid FROM compute_providers s
			JOIN compute_provider_traits t ON t.provider_uuid = s.uuid WHERE t.trait = ?)`, placement.SharesViaAggregate)
		if err != nil {
			return err
		}
		shared := make([]*placement.Provider, len(sp))
		for i := range sp {
			shared[i] = &sp[i].Provider
		}
		chunk := max(candidateChunk, q.Limit)
		for len(roots) > 0 {
			n := min(len(roots), chunk)
			// A range of roots is cheaper to ask for than a list of them;
			// the trees in it that cannot hold the request are skipped.
			ps, err := s.loadProviders(ctx, tx, "WHERE p.root_uuid BETWEEN ? AND ?", roots[0], roots[n-1])
			if err != nil {
				return err
			}
			keep := map[string]bool{}
			for _, r := range roots[:n] {
				keep[r] = true
			}
			roots = roots[n:]
			snap := make([]*placement.Provider, 0, len(ps))
			for i := range ps {
				if keep[ps[i].RootUUID] {
					snap = append(snap, &ps[i].Provider)
				}
			}
			part := q
			if q.Limit > 0 {
				part.Limit = q.Limit - len(cands)
			}
			if q.Max > 0 {
				part.Max = q.Max - len(cands)
			}
			cs, ss, err := placement.CandidatesShared(snap, shared, part)
			if err != nil {
				return placementError(fault.BadRequest, CodeDefault, "%s", trimInvalid(err))
			}
			cands, sums = append(cands, cs...), append(sums, ss...)
			if (q.Limit > 0 && len(cands) >= q.Limit) || (q.Max > 0 && len(cands) >= q.Max) {
				break
			}
		}
		return nil
	})
	return cands, sums, err
}

// candidateChunk is how many trees AllocationCandidates reads at once.
const candidateChunk = 500

// candidateRoots are the roots of every tree, in order. (Asking SQL
// for only the trees with room for each class costs more here than
// searching the trees read: the reads stop at the limit.)
func candidateRoots(ctx context.Context, tx *sqlstore.Tx, _ placement.Query) ([]string, error) {
	var roots []string
	err := scanEach(ctx, tx, `SELECT uuid FROM compute_providers WHERE parent_uuid IS NULL ORDER BY uuid`, nil, func(r *sql.Rows) error {
		var u string
		err := r.Scan(&u)
		roots = append(roots, u)
		return err
	})
	return roots, err
}
