package cinder_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/api/cinder"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Tokens of the test callers: an admin, a member of project A (alice), a
// member of project B (bob) and a reader of project A (carol). Project
// ids are hex, as Keystone's are.
const (
	admin  = "token-admin"
	alice  = "token-alice"
	bob    = "token-bob"
	reader = "token-reader"
	// service is a volume agent's service user.
	service = "token-service"

	projA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	projB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	projAdmin = "adadadadadadadadadadadadadadadad"

	// pool is the test backend's Cinder host.
	pool = "host1@lvm#pool1"
)

// client talks to a Block Storage API over a fresh SQLite store.
type client struct {
	*apitest.Client
	api    *cinder.API
	store  *storage.Store
	tokens middlewaretest.Tokens
}

func newAPI(t *testing.T) *client {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		t.Fatal(err)
	}
	store := storage.NewStore(db, watch.New(db))
	// One pool, in Cinder's default zone, takes every volume.
	if _, err := store.ReportBackend(ctx, pool, storage.BackendReport{AvailabilityZone: "nova", VolumeBackendName: "lvm",
		TotalCapacityGB: storage.GB(1000), FreeCapacityGB: storage.GB(1000), ThickProvisioningSupport: true}); err != nil {
		t.Fatal(err)
	}
	caller := middlewaretest.Caller
	tokens := middlewaretest.Tokens{
		admin:   caller("admin", projAdmin, "admin", "member", "reader"),
		alice:   caller("alice", projA, "member", "reader"),
		bob:     caller("bob", projB, "member", "reader"),
		reader:  caller("carol", projA, "reader"),
		service: caller("cinder", "services", "service"),
	}
	api := &cinder.API{Store: store}
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Cinder, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(api.Handler())))
	t.Cleanup(srv.Close)
	return &client{Client: &apitest.Client{URL: srv.URL, NoRedirect: true}, api: api, store: store, tokens: tokens}
}

// call sends a request under /v3 at microversion v ("" sends none).
func (c *client) call(t *testing.T, v, token, method, path string, body any) apitest.Reply {
	t.Helper()
	h := map[string]string{}
	if v != "" {
		h["OpenStack-API-Version"] = "volume " + v
	}
	return c.Call(t, apitest.Call{Method: method, Path: "/v3" + path, Token: token, Body: body, Header: h})
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

// wantError checks a Cinder error body: the status, its key
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

// dump is the store's volumes as sorted lines, for "nothing changed"
// checks.
func (c *client) dump(t *testing.T) string {
	t.Helper()
	vols, _, err := c.store.Volumes(context.Background(), storage.Viewer{Admin: true}, storage.VolumeFilter{AllProjects: true})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, v := range vols {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// unchanged runs fn and fails the test if the store's volumes changed.
func (c *client) unchanged(t *testing.T, fn func()) {
	t.Helper()
	before := c.dump(t)
	fn()
	if d := apitest.LineDiff(before, c.dump(t)); d != "" {
		t.Fatalf("a refusal changed the store:\n%s", d)
	}
}

// newVolume creates a volume as token and returns its id.
func (c *client) newVolume(t *testing.T, token string, body map[string]any) string {
	t.Helper()
	if body == nil {
		body = map[string]any{"size": 1}
	}
	return c.must(t, 202, "3.0", token, "POST", "/volumes", map[string]any{"volume": body})["volume"].(map[string]any)["id"].(string)
}

// typesDump is the store's volume types as JSON, for "nothing changed"
// checks.
func (c *client) typesDump(t *testing.T) string {
	t.Helper()
	ts, _, err := c.store.VolumeTypes(context.Background(), storage.Viewer{Admin: true}, storage.VolumeTypeFilter{SortKeys: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// agentDone is the pool's agent reporting that the work of volume id's
// status is done (create, extend or delete).
func (c *client) agentDone(t *testing.T, id string) {
	t.Helper()
	v, err := c.store.Volume(context.Background(), storage.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	rep := storage.VolumeReport{Status: v.Status, Size: v.NewSize, ProviderLocation: "loc"}
	if v.Upload != nil {
		rep.ImageID = v.Upload.ImageID
	}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(pool) + "/volumes/" + id, Token: service, Body: rep})
	if r.Code != 200 {
		t.Fatalf("agent report on %s: %s", id, r)
	}
}

// Every route is served: without a token each asks for one (the version
// documents are public), with the path's parameters filled in.
func TestRoutes(t *testing.T) {
	c := newAPI(t)
	fill := strings.NewReplacer("{id}", "x", "{key}", "k", "{project}", projA, "{host}", "h", "{$}", "")
	for _, p := range c.api.Routes() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "GET", p
		}
		r := c.Call(t, apitest.Call{Method: method, Path: fill.Replace(path)})
		switch {
		case path == "/{$}" || path == "/v3/{$}":
			if r.Code != 200 && r.Code != 300 {
				t.Errorf("%s: %s", p, r)
			}
		case r.Code != 401:
			t.Errorf("%s without a token: %s, want 401", p, r)
		}
	}
}

// sameJSON reports whether a and b encode alike.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}
