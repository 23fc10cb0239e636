package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// The identity area without its HTTP API: a store, keystone-manage
// bootstrap, then a password login scoped to the admin project, the
// token validated and revoked.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "identity-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		panic(err)
	}
	store := identity.NewStore(db, watch.New(db))

	// Cost 4 keeps the example fast; Keystone's default is 12.
	hasher := password.Hasher{Rounds: 4}
	admin, err := identity.Bootstrap(ctx, store, hasher, identity.BootstrapConfig{AdminPassword: "s3cret"})
	if err != nil {
		panic(err)
	}
	fmt.Println("bootstrapped", admin.Name)

	key, err := fernet.GenerateKey() // or fernet.Setup's key repository
	if err != nil {
		panic(err)
	}
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: fernet.StaticKeys{key}})
	auth.Hasher = hasher
	if err := auth.LoadRevocations(ctx); err != nil {
		panic(err)
	}

	// POST /v3/auth/tokens, decoded.
	tok, err := auth.Authenticate(ctx, identity.AuthRequest{
		Methods: []string{"password"},
		Password: &identity.PasswordAuth{
			User:     identity.UserRef{Name: "admin", DomainName: "Default"},
			Password: "s3cret",
		},
		Scope: identity.Scope{ProjectName: "admin", ProjectDomainID: identity.DefaultDomainID},
	})
	if err != nil {
		panic(err)
	}
	valid, err := auth.Validate(ctx, tok.ID)
	if err != nil {
		panic(err)
	}
	var roles []string
	for _, r := range valid.Roles {
		roles = append(roles, r.Name)
	}
	slices.Sort(roles)
	fmt.Println(valid.User.Name, "on project", valid.Project.Name, "with roles", roles)

	_, err = auth.Authenticate(ctx, identity.AuthRequest{
		Methods:  []string{"password"},
		Password: &identity.PasswordAuth{User: identity.UserRef{Name: "admin", DomainID: "default"}, Password: "guess"},
	})
	fmt.Println("wrong password:", fault.KindOf(err))

	if err := auth.RevokeToken(ctx, tok.ID); err != nil {
		panic(err)
	}
	_, err = auth.Validate(ctx, tok.ID)
	fmt.Println("after revocation:", fault.KindOf(err))
	// Output:
	// bootstrapped admin
	// admin on project admin with roles [admin member reader]
	// wrong password: unauthorized
	// after revocation: unauthorized
}
