package allinone

import (
	"context"
	"fmt"
	"io"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// FernetSetup creates the key repository like keystone-manage
// fernet_setup. A repository that exists is only repaired if a rotation
// or setup was interrupted (fernet.Setup): never rotated, never purged.
func FernetSetup(cfg Config, out io.Writer) error {
	r, err := fernet.Setup(cfg.keyRepository(), cfg.Identity.MaxActiveKeys)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "key repository %s: %d keys\n", r.Dir(), len(r.Keys()))
	return nil
}

// FernetRotate rotates the key repository like keystone-manage
// fernet_rotate, first finishing a rotation that was interrupted (killed
// between its renames). A running daemon picks the new keys up within
// seconds.
// With shared keys it rotates in the store, and refuses (saying why) while
// a live controller lags or a key to purge may still have valid tokens.
func FernetRotate(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Identity.SharedKeys {
		return withStore(ctx, cfg, func(store *identity.Store) error {
			_, k, err := openKeys(ctx, &cfg, store)
			if err != nil {
				return err
			}
			if err := k.Rotate(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "shared keys rotated: generation %d, %d keys\n", k.Generation(), len(k.Keys()))
			return nil
		})
	}
	r, err := fernet.OpenRepository(cfg.keyRepository(), cfg.Identity.MaxActiveKeys)
	if err != nil {
		return err
	}
	if err := r.Rotate(); err != nil {
		return err
	}
	fmt.Fprintf(out, "key repository %s rotated: %d keys\n", r.Dir(), len(r.Keys()))
	return nil
}

// withStore opens the configured store with the identity schema.
func withStore(ctx context.Context, cfg Config, fn func(*identity.Store) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.dsn())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		return err
	}
	return fn(identity.NewStore(db, watch.New(db)))
}

// IdentityBootstrap is keystone-manage bootstrap against the configured
// store: it may run while the daemon runs, and again at any time.
func IdentityBootstrap(ctx context.Context, cfg Config, bc identity.BootstrapConfig, out io.Writer) error {
	return withStore(ctx, cfg, func(store *identity.Store) error {
		var err error
		if bc.Region == "" {
			bc.Region = cfg.Region
		}
		if bc.AdminPassword == "" {
			if bc.AdminPassword, err = adminPassword(cfg.DataDir); err != nil {
				return err
			}
		}
		if bc.PublicURL == "" {
			url := cfg.scheme() + "://" + publicAddr(fmt.Sprintf("%s:%d", cfg.Bind, cfg.Ports.Identity)) + "/v3"
			bc.PublicURL, bc.InternalURL, bc.AdminURL = url, url, url
		}
		u, err := identity.Bootstrap(ctx, store, newAuth(&cfg, store, fernet.StaticKeys{}).Hasher, bc)
		if err != nil {
			return err
		}
		project := bc.AdminProject
		if project == "" {
			project = "admin"
		}
		fmt.Fprintf(out, "bootstrapped: user %s (%s) is admin of project %s and of the system\n", u.Name, u.ID, project)
		return nil
	})
}
