package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Keystone v3 in one process: the API over a bootstrapped store, a token
// issued by POST /v3/auth/tokens, and the same identity protecting
// another service's handler through identity/middleware (api.Validator).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "identity-api-example")
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
	keys, err := fernet.Setup(filepath.Join(dir, "fernet-keys"), fernet.DefaultMaxActiveKeys)
	if err != nil {
		panic(err)
	}
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys})
	auth.Hasher = password.Hasher{Rounds: 4} // fast for the example; Keystone's default is 12
	if _, err := identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{AdminPassword: "s3cret"}); err != nil {
		panic(err)
	}
	if err := auth.LoadRevocations(ctx); err != nil {
		panic(err)
	}
	rules := policy.New()
	if err := rules.Register(policy.KeystoneDefaults()...); err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/v3/", (&api.API{Auth: auth, Store: store, Policy: rules}).Handler())
	// Another service of the process, behind the same identity.
	mw := &middleware.Middleware{Validator: api.Validator(auth)}
	mux.Handle("/hello", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CallerFrom(r.Context())
		fmt.Fprintf(w, "hello %s, admin: %v", c.UserName, c.HasRole("admin"))
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := `{"auth": {
		"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "s3cret"}}},
		"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
	resp, err := http.Post(srv.URL+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	var issued struct {
		Token struct {
			Project struct{ Name string }
			Roles   []struct{ Name string }
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	if err != nil {
		panic(err)
	}
	token := resp.Header.Get("X-Subject-Token")
	fmt.Println(resp.StatusCode, "token for project", issued.Token.Project.Name, "with", len(issued.Token.Roles), "roles")

	for _, tok := range []string{token, "not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hello", nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(b))
		} else {
			fmt.Println(resp.StatusCode)
		}
	}
	// Output:
	// 201 token for project admin with 3 roles
	// 200 hello admin, admin: true
	// 401
}
