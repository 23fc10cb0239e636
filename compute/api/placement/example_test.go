package placement_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/placement"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// The Placement API over a compute store, behind token validation (a
// fake one here): the service user Nova talks to it with creates a
// resource provider at microversion 1.20, which answers with it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "placement")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "placement.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	api := &placement.API{Store: compute.NewStore(db, watch.New(db))}
	tokens := middlewaretest.Tokens{"nova-token": middlewaretest.Caller("nova", "service", "service")}
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Placement, Optional: true}
	srv := httptest.NewServer(mw.Wrap(api.Handler()))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/resource_providers", strings.NewReader(`{"name": "compute-1"}`))
	req.Header.Set("X-Auth-Token", "nova-token")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenStack-API-Version", "placement 1.20")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var p struct {
		Name       string `json:"name"`
		Generation int    `json:"generation"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("OpenStack-API-Version"), p.Name, p.Generation)
	// Output: 200 placement 1.20 compute-1 0
}
