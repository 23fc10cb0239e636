package compute

import (
	"context"
	"database/sql"

	"github.com/gostack/gostack/kit/sqlstore"
)

// ConsumerTypeUsage is what the consumers of one type hold in a project:
// how many consumers, and their allocations summed by resource class.
type ConsumerTypeUsage struct {
	Consumers int64
	Usages    map[string]int64
}

// UsagesByConsumerType sums a project's allocations (one user's too when
// user is set) by consumer type ("" for consumers without one) and
// resource class, with the number of consumers of each type, in one
// read: GET /usages since Placement 1.38.
func (s *Store) UsagesByConsumerType(ctx context.Context, project, user string) (map[string]ConsumerTypeUsage, error) {
	out := map[string]ConsumerTypeUsage{}
	from := ` FROM compute_allocations a JOIN compute_consumers c ON c.uuid = a.consumer_uuid WHERE c.project_id = ?`
	args := []any{project}
	if user != "" {
		from, args = from+` AND c.user_id = ?`, append(args, user)
	}
	err := s.db.ReadTx(ctx, func(tx *sqlstore.Tx) error {
		err := scanEach(ctx, tx, `SELECT c.consumer_type, COUNT(DISTINCT a.consumer_uuid)`+from+` GROUP BY c.consumer_type`, args, func(r *sql.Rows) error {
			var t string
			var n int64
			if err := r.Scan(&t, &n); err != nil {
				return err
			}
			out[t] = ConsumerTypeUsage{Consumers: n, Usages: map[string]int64{}}
			return nil
		})
		if err != nil {
			return err
		}
		return scanEach(ctx, tx, `SELECT c.consumer_type, a.resource_class, SUM(a.used)`+from+` GROUP BY c.consumer_type, a.resource_class`, args, func(r *sql.Rows) error {
			var t, cl string
			var n int64
			if err := r.Scan(&t, &cl, &n); err != nil {
				return err
			}
			if u, ok := out[t]; ok {
				u.Usages[cl] = n
			}
			return nil
		})
	})
	return out, err
}
