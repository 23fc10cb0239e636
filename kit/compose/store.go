package compose

import (
	"context"

	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// OpenStore opens the store cfg names, applies the watch feed's schema
// and sets, and returns it with its feed: for commands that work on a
// store beside a running daemon (keystone-manage-like tools, a DNS
// server of its own). It takes no lock and starts nothing.
func OpenStore(ctx context.Context, cfg *Config, sets ...sqlstore.Migrations) (*sqlstore.DB, *watch.Log, error) {
	db, err := sqlstore.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx, append([]sqlstore.Migrations{watch.Migrations()}, sets...)...); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, watch.New(db), nil
}
