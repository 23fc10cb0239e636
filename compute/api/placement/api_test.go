package placement_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/placement"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	admin   = "token-admin"
	service = "token-service"
	member  = "token-member"
)

// client talks to a Placement API over a fresh SQLite store, as the
// admin unless a call says otherwise.
type client struct {
	*apitest.Client
	store *compute.Store
}

func newAPI(t *testing.T) *client {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "p.db"))
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
		admin:   caller("admin", "admin", "admin", "member", "reader"),
		service: caller("nova", "service", "service"),
		member:  caller("alice", "proj-a", "member", "reader"),
	}
	h := (&placement.API{Store: store}).Handler()
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Placement, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(h)))
	t.Cleanup(srv.Close)
	return &client{Client: &apitest.Client{URL: srv.URL, NoRedirect: true}, store: store}
}

// call sends a request at microversion v ("" sends no version) with
// token.
func (c *client) call(t *testing.T, v, token, method, path string, body any) apitest.Reply {
	t.Helper()
	h := map[string]string{}
	if v != "" {
		h["OpenStack-API-Version"] = "placement " + v
	}
	return c.Call(t, apitest.Call{Method: method, Path: path, Token: token, Body: body, Header: h})
}

// do sends a request as the admin at microversion v.
func (c *client) do(t *testing.T, v, method, path string, body any) apitest.Reply {
	t.Helper()
	return c.call(t, v, admin, method, path, body)
}

// must sends a request as the admin and fails unless it answers want;
// it returns the decoded body (nil when empty).
func (c *client) must(t *testing.T, want int, v, method, path string, body any) map[string]any {
	t.Helper()
	r := c.do(t, v, method, path, body)
	if r.Code != want {
		t.Fatalf("%s %s at %s = %s, want %d", method, path, v, r, want)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// wantError checks a Placement error body: status, code, and that the
// detail holds each of texts.
func wantError(t *testing.T, r apitest.Reply, status int, code string, texts ...string) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("got %s, want %d %s", r, status, code)
	}
	errs, ok := r.JSON(t)["errors"].([]any)
	if !ok || len(errs) != 1 {
		t.Fatalf("got %s, want one Placement error", r)
	}
	e := errs[0].(map[string]any)
	if e["status"] != float64(status) || e["code"] != code || e["title"] != http.StatusText(status) {
		t.Fatalf("got %s, want status %d and code %s", r, status, code)
	}
	for _, s := range texts {
		if !strings.Contains(e["detail"].(string), s) {
			t.Fatalf("got %s, want a detail with %q", r, s)
		}
	}
}

const undefined = "placement.undefined_code"

// provider creates a provider at the latest version and returns its
// uuid.
func (c *client) provider(t *testing.T, name, parent string) string {
	t.Helper()
	body := map[string]any{"name": name}
	if parent != "" {
		body["parent_provider_uuid"] = parent
	}
	return c.must(t, 200, "latest", "POST", "/resource_providers", body)["uuid"].(string)
}

// inventory sets a provider's inventories (class: total) and returns
// the new generation.
func (c *client) inventory(t *testing.T, u string, totals map[string]int) float64 {
	t.Helper()
	gen := c.must(t, 200, "latest", "GET", "/resource_providers/"+u, nil)["generation"]
	invs := map[string]any{}
	for cl, n := range totals {
		invs[cl] = map[string]any{"total": n}
	}
	out := c.must(t, 200, "latest", "PUT", "/resource_providers/"+u+"/inventories",
		map[string]any{"resource_provider_generation": gen, "inventories": invs})
	return out["resource_provider_generation"].(float64)
}

func TestVersions(t *testing.T) {
	c := newAPI(t)
	r := c.call(t, "", "", "GET", "/", nil)
	if r.Code != 200 || string(r.Body) != `{"versions":[{"id":"v1.0","links":[{"rel":"self","href":""}],"max_version":"1.39","min_version":"1.0","status":"CURRENT"}]}` {
		t.Fatalf("version document: %s", r)
	}
	if r.Header.Get("OpenStack-API-Version") != "placement 1.0" || r.Header.Get("Vary") != "OpenStack-API-Version" {
		t.Fatalf("version headers: %v", r.Header)
	}
	if r.Header.Get("Last-Modified") != "" {
		t.Fatalf("Last-Modified before 1.15: %v", r.Header)
	}
	r = c.call(t, "latest", "", "GET", "/", nil)
	if r.Header.Get("OpenStack-API-Version") != "placement 1.39" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("latest: %v", r.Header)
	}
	if _, err := time.Parse(http.TimeFormat, r.Header.Get("Last-Modified")); err != nil {
		t.Fatalf("Last-Modified: %v", r.Header)
	}
	// Outside the range: 406 with the range, which osc-placement reads.
	r = c.call(t, "1.40", admin, "GET", "/resource_providers", nil)
	wantError(t, r, 406, undefined, "1.40")
	e := r.JSON(t)["errors"].([]any)[0].(map[string]any)
	if e["max_version"] != "1.39" || e["min_version"] != "1.0" {
		t.Fatalf("406 without the range: %s", r)
	}
	wantError(t, c.call(t, "1.a", admin, "GET", "/resource_providers", nil), 400, undefined)
	// A route newer than the version asked for is a 404.
	wantError(t, c.do(t, "1.1", "GET", "/resource_classes", nil), 404, undefined)
	wantError(t, c.do(t, "1.5", "GET", "/traits", nil), 404, undefined)
	wantError(t, c.do(t, "1.9", "GET", "/allocation_candidates?resources=VCPU:1", nil), 404, undefined)
	wantError(t, c.do(t, "1.12", "POST", "/allocations", map[string]any{}), 404, undefined)
	// Unknown paths and methods are Placement errors too.
	wantError(t, c.do(t, "", "GET", "/nowhere", nil), 404, undefined)
	wantError(t, c.do(t, "", "PATCH", "/resource_providers", nil), 405, undefined)
}

func TestPolicyAndMedia(t *testing.T) {
	c := newAPI(t)
	wantError(t, c.call(t, "", "", "GET", "/resource_providers", nil), 401, undefined)
	wantError(t, c.call(t, "latest", member, "GET", "/resource_providers", nil), 403, undefined,
		"Policy does not allow placement:resource_providers:list to be performed.")
	wantError(t, c.call(t, "latest", member, "POST", "/resource_providers", map[string]any{"name": "x"}), 403, undefined)
	if r := c.call(t, "latest", service, "POST", "/resource_providers", map[string]any{"name": "by-nova"}); r.Code != 200 {
		t.Fatalf("the service role: %s", r)
	}
	// Bodies must be JSON, and say so.
	r := c.Call(t, apitest.Call{Method: "POST", Path: "/resource_providers", Token: admin, Body: `{"name":"x"}`, Type: "text/plain"})
	wantError(t, r, 415, undefined, "The media type text/plain is not supported, use application/json")
	r = c.Call(t, apitest.Call{Method: "POST", Path: "/resource_providers", Token: admin, Body: `{"name":"x"}`, Type: "-"})
	wantError(t, r, 400, undefined, "content-type header required when content-length > 0")
	wantError(t, c.do(t, "", "POST", "/resource_providers", "{"), 400, undefined)
	// A read refuses an Accept without JSON.
	r = c.Call(t, apitest.Call{Method: "GET", Path: "/resource_providers", Token: admin, Header: map[string]string{"Accept": "text/html"}})
	wantError(t, r, 406, undefined, "Only application/json is provided")
}

// TestRoutes sends every route junk at the latest version: answers are
// Placement errors or successes, never a server error.
func TestRoutes(t *testing.T) {
	c := newAPI(t)
	api := &placement.API{}
	if n := len(api.Routes()); n < 30 {
		t.Fatalf("%d routes", n)
	}
	for _, route := range api.Routes() {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{uuid}", "00000000-0000-0000-0000-000000000001", "{class}", "VCPU",
			"{name}", "CUSTOM_X", "{consumer}", "not-a-uuid", "{$}", "").Replace(path)
		for _, body := range []any{nil, "[]", map[string]any{"x": 1}} {
			if method == "GET" || method == "DELETE" {
				body = nil
			}
			r := c.do(t, "latest", method, path, body)
			if r.Code >= 500 {
				t.Errorf("%s %s %v: %s", method, path, body, r)
			}
		}
	}
}
