package area

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/compose"
)

// FernetSetup creates the key repository like keystone-manage
// fernet_setup. A repository that exists is only repaired if a rotation
// or setup was interrupted (fernet.Setup): never rotated, never purged.
func (a *Area) FernetSetup(core *compose.Config, out io.Writer) error {
	r, err := fernet.Setup(a.keyRepository(core), a.Config.MaxActiveKeys)
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
func (a *Area) FernetRotate(ctx context.Context, core *compose.Config, out io.Writer) error {
	if a.Config.SharedKeys {
		return a.withStore(ctx, core, func(store *identity.Store) error {
			_, k, err := a.openKeys(ctx, core, store)
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
	r, err := fernet.OpenRepository(a.keyRepository(core), a.Config.MaxActiveKeys)
	if err != nil {
		return err
	}
	if err := r.Rotate(); err != nil {
		return err
	}
	fmt.Fprintf(out, "key repository %s rotated: %d keys\n", r.Dir(), len(r.Keys()))
	return nil
}

// CredentialMigrate re-encrypts with the primary credential key every
// credential encrypted with another, like keystone-manage
// credential_migrate. Run it after CredentialRotate; a running daemon
// encrypts with the new primary once it has reloaded the keys (within
// seconds), and a credential it wrote before is migrated by the next run.
func (a *Area) CredentialMigrate(ctx context.Context, core *compose.Config, out io.Writer) error {
	return a.withCredentials(ctx, core, func(c *identity.Credentials, r *fernet.Repository) error {
		n, err := c.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "credentials migrated to the primary key of %s: %d\n", r.Dir(), n)
		return nil
	})
}

// CredentialRotate rotates the credential key repository like
// keystone-manage credential_rotate: refused while a credential is
// encrypted with a key other than the primary (migrate them first), so a
// rotation never purges the key a credential needs.
func (a *Area) CredentialRotate(ctx context.Context, core *compose.Config, out io.Writer) error {
	return a.withCredentials(ctx, core, func(c *identity.Credentials, r *fernet.Repository) error {
		n, err := c.Unmigrated(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w (%d of them)", identity.ErrCredentialsNotMigrated, n)
		}
		if err := r.Rotate(); err != nil {
			return err
		}
		fmt.Fprintf(out, "credential key repository %s rotated: %d keys\n", r.Dir(), len(r.Keys()))
		return nil
	})
}

func (a *Area) withCredentials(ctx context.Context, core *compose.Config, fn func(*identity.Credentials, *fernet.Repository) error) error {
	r, err := fernet.Setup(credentialKeyRepository(core), credentialMaxActiveKeys)
	if err != nil {
		return err
	}
	return a.withStore(ctx, core, func(store *identity.Store) error {
		return fn(&identity.Credentials{Store: store, Keys: r}, r)
	})
}

// withStore opens the configured store with the identity schema.
func (a *Area) withStore(ctx context.Context, core *compose.Config, fn func(*identity.Store) error) error {
	if err := compose.Validate(core, []compose.Area{a}); err != nil {
		return err
	}
	db, feed, err := compose.OpenStore(ctx, core, identity.Migrations())
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(identity.NewStore(db, feed))
}

// Bootstrap is keystone-manage bootstrap against the configured store: it
// may run while the daemon runs, and again at any time. An empty
// AdminPassword is the one in <data_dir>/admin-password; empty URLs are
// the identity port on bind.
func (a *Area) Bootstrap(ctx context.Context, core *compose.Config, bc identity.BootstrapConfig, out io.Writer) error {
	return a.withStore(ctx, core, func(store *identity.Store) error {
		var err error
		if bc.Region == "" {
			bc.Region = core.Region
		}
		if bc.AdminPassword == "" {
			if bc.AdminPassword, err = adminPassword(core.DataDir); err != nil {
				return err
			}
		}
		if bc.PublicURL == "" {
			addr := net.JoinHostPort(core.Bind, strconv.Itoa(core.Ports[compose.Key(a.Name())]))
			url := core.Scheme() + "://" + compose.PublicAddr(addr) + "/v3"
			bc.PublicURL, bc.InternalURL, bc.AdminURL = url, url, url
		}
		u, err := identity.Bootstrap(ctx, store, a.newAuth(store, fernet.StaticKeys{}).Hasher, bc)
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
