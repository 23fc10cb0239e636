package cinder_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
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

	projA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	projB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	projAdmin = "adadadadadadadadadadadadadadadad"
)

// client talks to a Block Storage API.
type client struct {
	*apitest.Client
	api *cinder.API
}

func newAPI(t *testing.T) *client {
	t.Helper()
	caller := middlewaretest.Caller
	tokens := middlewaretest.Tokens{
		admin:  caller("admin", projAdmin, "admin", "member", "reader"),
		alice:  caller("alice", projA, "member", "reader"),
		bob:    caller("bob", projB, "member", "reader"),
		reader: caller("carol", projA, "reader"),
	}
	api := &cinder.API{}
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Cinder, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(api.Handler())))
	t.Cleanup(srv.Close)
	return &client{Client: &apitest.Client{URL: srv.URL, NoRedirect: true}, api: api}
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
