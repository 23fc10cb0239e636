package compute

import (
	"context"
	"fmt"
	"time"
)

// Lease takes instance id for owner (a builder) for d: true when it is
// owner's now — it was free, its lease had expired, or it was owner's
// already (a controller restarted under the same name takes its own
// back at once). Another owner's lease that has not expired is a false.
func (s *Store) Lease(ctx context.Context, id, owner string, d time.Duration) (bool, error) {
	now := s.now()
	res, err := s.db.Exec(ctx, `INSERT INTO compute_leases (instance_uuid, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (instance_uuid) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE compute_leases.expires_at < ? OR compute_leases.owner = excluded.owner`,
		id, owner, now.Add(d).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("compute: lease %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Unlease gives instance id back, if owner holds it.
func (s *Store) Unlease(ctx context.Context, id, owner string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM compute_leases WHERE instance_uuid = ? AND owner = ?", id, owner); err != nil {
		return fmt.Errorf("compute: unlease %s: %w", id, err)
	}
	return nil
}
