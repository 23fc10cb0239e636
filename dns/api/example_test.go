package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// oneToken is an identity that knows one token, a member of project p1.
type oneToken struct{}

func (oneToken) ValidateCaller(_ context.Context, tok string) (middleware.Caller, error) {
	if tok != "secret" {
		return middleware.Caller{}, fmt.Errorf("unknown token")
	}
	return middleware.Caller{UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"},
		ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (oneToken) Generation() int64 { return 0 }

// Serving the DNS API: a store, Designate's default policies, the API
// behind the token middleware. A zone create answers 202 with the zone
// PENDING until its nameservers have it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "dns-api-example")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "gostack.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		panic(err)
	}
	store := dns.NewStore(db, watch.New(db))
	if _, err := store.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		panic(err)
	}
	enforcer := policy.New()
	if err := enforcer.Register(api.Defaults()...); err != nil {
		panic(err)
	}
	h := (&api.API{Store: store, Policy: enforcer}).Handler()
	h = (&middleware.Middleware{Validator: oneToken{}, Style: httpapi.Designate}).Wrap(h)

	req := httptest.NewRequest("POST", "/v2/zones", strings.NewReader(`{"name": "example.org.", "email": "hostmaster@example.org"}`))
	req.Header.Set("X-Auth-Token", "secret")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var zone struct{ Name, Status, Action string }
	_ = json.Unmarshal(w.Body.Bytes(), &zone)
	fmt.Println(w.Code, zone.Name, zone.Status, zone.Action)

	req = httptest.NewRequest("GET", "/v2/zones", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code)
	// Output:
	// 202 example.org. PENDING CREATE
	// 401
}
