package nova_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"net/http/httptest"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/nova"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Tokens of the test callers: an admin, a member of proj-a (alice), a
// member of proj-b (bob) and a reader of proj-a (carol).
const (
	admin  = "token-admin"
	alice  = "token-alice"
	bob    = "token-bob"
	reader = "token-reader"
)

// client talks to a Compute API over a fresh SQLite store.
type client struct {
	*apitest.Client
	store *compute.Store
}

func newAPI(t *testing.T) *client {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	store := compute.NewStore(db, watch.New(db))
	caller := middlewaretest.Caller
	tokens := middlewaretest.Tokens{
		admin:  caller("admin", "admin", "admin", "member", "reader"),
		alice:  caller("alice", "proj-a", "member", "reader"),
		bob:    caller("bob", "proj-b", "member", "reader"),
		reader: caller("carol", "proj-a", "reader"),
	}
	h := (&nova.API{Store: store}).Handler()
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Nova, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(h)))
	t.Cleanup(srv.Close)
	return &client{Client: &apitest.Client{URL: srv.URL, NoRedirect: true}, store: store}
}

// call sends a request under /v2.1 at microversion v ("" sends none).
func (c *client) call(t *testing.T, v, token, method, path string, body any) apitest.Reply {
	t.Helper()
	h := map[string]string{}
	if v != "" {
		h["OpenStack-API-Version"] = "compute " + v
	}
	return c.Call(t, apitest.Call{Method: method, Path: "/v2.1" + path, Token: token, Body: body, Header: h})
}

// must is call that fails the test unless the status is want; it
// returns the decoded body (nil when empty).
func (c *client) must(t *testing.T, want int, v, token, method, path string, body any) map[string]any {
	t.Helper()
	r := c.call(t, v, token, method, path, body)
	if r.Code != want {
		t.Fatalf("%s %s at %q = %s, want %d", method, path, v, r, want)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// wantError checks a Nova error body: the status, its key
// (itemNotFound, badRequest, ...) and that the message holds each text.
func wantError(t *testing.T, r apitest.Reply, status int, key string, texts ...string) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("got %s, want %d %s", r, status, key)
	}
	e, ok := r.JSON(t)[key].(map[string]any)
	if !ok || e["code"] != float64(status) {
		t.Fatalf("got %s, want a %s error with code %d", r, key, status)
	}
	for _, s := range texts {
		if !strings.Contains(e["message"].(string), s) {
			t.Fatalf("got %s, want a message with %q", r, s)
		}
	}
}
