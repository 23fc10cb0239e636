package compute

import (
	"context"
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// BindHostAgent checks that user may act as host's compute agent: the
// first user to do so is bound to the host (trust on first use), and
// only that user may after. Another user's call is a Forbidden. An
// operator frees a host for another user by deleting its compute
// service.
func (s *Store) BindHostAgent(ctx context.Context, host, user string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var bound string
		err := tx.Get(ctx, "SELECT user_id FROM compute_host_agents WHERE host = ?", []any{host}, &bound)
		switch {
		case errors.Is(err, sqlstore.ErrNotFound):
			_, err := tx.Exec(ctx, `INSERT INTO compute_host_agents (host, user_id, bound_at) VALUES (?, ?, ?)
				ON CONFLICT (host) DO NOTHING`, host, user, s.now().UnixMicro())
			if err != nil {
				return fmt.Errorf("compute: bind host %s: %w", host, err)
			}
			if err := tx.Get(ctx, "SELECT user_id FROM compute_host_agents WHERE host = ?", []any{host}, &bound); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if bound != user {
			return fault.New(fault.Forbidden, "Host %s is another user's compute agent.", host)
		}
		return nil
	})
}

// unbindHostAgent frees host for another agent user (its compute
// service was deleted).
func unbindHostAgent(ctx context.Context, tx *sqlstore.Tx, host string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM compute_host_agents WHERE host = ?", host); err != nil {
		return fmt.Errorf("compute: unbind host %s: %w", host, err)
	}
	return nil
}
