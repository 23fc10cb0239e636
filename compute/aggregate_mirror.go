package compute

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Nova mirrors its host aggregates into Placement: a host in an
// aggregate has the aggregate's uuid among its compute node provider's
// aggregates, so that member_of (availability zones and tenant
// isolation as Placement queries) finds it. Here the mirror is written
// in the same transaction as the membership, so the two never disagree;
// a provider registered after its host joined gets the host's
// aggregates when it is created (ReportHost).

// mirrorAggregate adds (or removes) aggregate agg on the root provider
// named host, if there is one, bumping its generation. The caller holds
// the aggregates' lock.
func (s *Store) mirrorAggregate(ctx context.Context, tx *sqlstore.Tx, host, agg string, add bool) error {
	var u string
	err := tx.Get(ctx, `SELECT uuid FROM compute_providers WHERE name = ? AND parent_uuid IS NULL`, []any{host}, &u)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := s.lockProvider(ctx, tx, u, nil); err != nil {
		return err
	}
	q := `DELETE FROM compute_provider_aggregates WHERE provider_uuid = ? AND aggregate_uuid = ?`
	if add {
		q = `INSERT INTO compute_provider_aggregates (provider_uuid, aggregate_uuid) VALUES (?, ?) ON CONFLICT DO NOTHING`
	}
	res, err := tx.Exec(ctx, q, u, agg)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already so
	}
	gen, err := s.bumpGeneration(ctx, tx, u)
	if err != nil {
		return err
	}
	return s.record(ctx, tx, "resource_provider", u, "", watch.Update, map[string]any{"uuid": u, "generation": gen, "aggregate": agg, "member": add})
}

// mirrorHostAggregates gives a new root provider named host the uuids of
// the Nova aggregates its host is in.
func (s *Store) mirrorHostAggregates(ctx context.Context, host string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		if err := lockAggregates(ctx, tx); err != nil {
			return err
		}
		var aggs []string
		err := scanEach(ctx, tx, `SELECT a.uuid FROM compute_aggregates a JOIN compute_aggregate_hosts h ON h.aggregate_id = a.id
			WHERE h.host = ? ORDER BY a.uuid`, []any{host}, func(r *sql.Rows) error {
			var u string
			err := r.Scan(&u)
			aggs = append(aggs, u)
			return err
		})
		if err != nil {
			return err
		}
		for _, a := range aggs {
			if err := s.mirrorAggregate(ctx, tx, host, a, true); err != nil {
				return err
			}
		}
		return nil
	})
}
