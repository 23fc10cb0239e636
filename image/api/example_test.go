package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// Serving the image API: records in a database, data in a directory,
// Glance's default policies, and token validation in front (an
// identity.Auth in a real deployment).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "image-api")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "image.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		panic(err)
	}
	svc := &image.Service{
		Store:   image.NewStore(db, watch.New(db)),
		Data:    &store.Filesystem{Dir: filepath.Join(dir, "data")},
		Staging: &store.Filesystem{Dir: filepath.Join(dir, "staging")},
	}
	defer svc.Wait()
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		panic(err)
	}
	auth := &middleware.Middleware{Validator: callers(), Style: httpapi.Glance, Optional: true}
	srv := httptest.NewServer(auth.Wrap((&api.API{Service: svc, Policy: enf}).Handler()))
	defer srv.Close()

	for _, token := range []string{"", memberA} {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/images", nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// 401 Unauthorized
	// 200 OK
}
