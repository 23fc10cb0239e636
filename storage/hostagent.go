package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// BindHostAgent checks that user may act as the volume agent of machine
// (a backend host's part before '@'): the first user to do so is bound to
// it (trust on first use), and only that user may after; another user's
// call is a Forbidden. An operator frees a machine for another user by
// deleting its backends (DeleteBackend of the last one).
func (s *Store) BindHostAgent(ctx context.Context, machine, user string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var bound string
		err := tx.Get(ctx, "SELECT user_id FROM storage_host_agents WHERE host = ?", []any{machine}, &bound)
		switch {
		case errors.Is(err, sqlstore.ErrNotFound):
			if _, err := tx.Exec(ctx, `INSERT INTO storage_host_agents (host, user_id, bound_at) VALUES (?, ?, ?)
				ON CONFLICT (host) DO NOTHING`, machine, user, s.now().UnixMicro()); err != nil {
				return fmt.Errorf("storage: bind host %s: %w", machine, err)
			}
			if err := tx.Get(ctx, "SELECT user_id FROM storage_host_agents WHERE host = ?", []any{machine}, &bound); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if bound != user {
			return cinderError(fault.Forbidden, "PolicyNotAuthorized", "Host %s is another user's volume agent.", machine)
		}
		return nil
	})
}

// unbindMachine frees the machine of backend host when it has no backend
// left.
func unbindMachine(ctx context.Context, tx *sqlstore.Tx, host string) error {
	machine, _, _ := strings.Cut(host, "@")
	var n int
	if err := tx.Get(ctx, "SELECT COUNT(*) FROM storage_backends WHERE SUBSTR(host, 1, ?) = ?", []any{len(machine) + 1, machine + "@"}, &n); err != nil {
		return fmt.Errorf("storage: backends of %s: %w", machine, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, "DELETE FROM storage_host_agents WHERE host = ?", machine); err != nil {
		return fmt.Errorf("storage: unbind host %s: %w", machine, err)
	}
	return nil
}
