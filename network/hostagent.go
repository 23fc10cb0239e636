package network

import (
	"context"
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// BindHostAgent checks that user may act as host's network agent: the
// first user to do so is bound to the host (trust on first use), and
// only that user may after; another user's call is a Forbidden. An
// operator frees a host for another user by deleting one of its agents
// (DELETE /v2.0/agents/{id}).
func (s *Store) BindHostAgent(ctx context.Context, host, user string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var bound string
		err := tx.Get(ctx, "SELECT user_id FROM network_host_agents WHERE host = ?", []any{host}, &bound)
		switch {
		case errors.Is(err, sqlstore.ErrNotFound):
			if _, err := tx.Exec(ctx, `INSERT INTO network_host_agents (host, user_id, bound_at) VALUES (?, ?, ?)
				ON CONFLICT (host) DO NOTHING`, host, user, s.now().UnixMicro()); err != nil {
				return fmt.Errorf("network: bind host %s: %w", host, err)
			}
			if err := tx.Get(ctx, "SELECT user_id FROM network_host_agents WHERE host = ?", []any{host}, &bound); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if bound != user {
			return &fault.Error{Kind: fault.Forbidden, Type: "PolicyNotAuthorized", Message: fmt.Sprintf("Host %s is another user's network agent.", host)}
		}
		return nil
	})
}
