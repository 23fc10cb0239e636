package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/middleware"
)

// fake validates tokens from a table and counts calls.
type fake struct {
	callers map[string]middleware.Caller
	gen     atomic.Int64
	calls   atomic.Int64
}

func (f *fake) ValidateCaller(_ context.Context, tok string) (middleware.Caller, error) {
	f.calls.Add(1)
	c, ok := f.callers[tok]
	if !ok {
		return c, errors.New("invalid")
	}
	return c, nil
}

func (f *fake) Generation() int64 { return f.gen.Load() }

func newFake() *fake {
	exp := time.Now().Add(time.Hour)
	return &fake{callers: map[string]middleware.Caller{
		"alice":   {UserID: "u-alice", ProjectID: "p-a", Roles: []string{"member", "reader"}, ExpiresAt: exp},
		"nova":    {UserID: "u-nova", ProjectID: "p-svc", Roles: []string{"service"}, ExpiresAt: exp},
		"expired": {UserID: "u-old", ExpiresAt: time.Now().Add(-time.Second)},
	}}
}

// echo reports what the handler saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := middleware.CallerFrom(r.Context())
	user := "none"
	if ok {
		user = c.UserID
	}
	svc := "none"
	if s, ok := middleware.ServiceCallerFrom(r.Context()); ok {
		svc = s.UserID
	}
	w.Write([]byte(user + " " + svc + " " + r.Header.Get("X-User-Id") + " " + r.Header.Get("X-Roles") + " " + r.Header.Get("X-Identity-Status")))
})

func do(h http.Handler, headers map[string]string) (int, string) {
	r := httptest.NewRequest("GET", "/v2.1/servers", nil)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestMiddleware(t *testing.T) {
	f := newFake()
	h := (&middleware.Middleware{Validator: f}).Wrap(echo)
	tests := []struct {
		name    string
		headers map[string]string
		code    int
		body    string
	}{
		{"no token", nil, 401, `"code":401`},
		{"bad token", map[string]string{"X-Auth-Token": "forged"}, 401, "requires authentication"},
		{"good token", map[string]string{"X-Auth-Token": "alice"}, 200, "u-alice none u-alice member,reader Confirmed"},
		{"spoofed headers are replaced", map[string]string{"X-Auth-Token": "alice", "X-User-Id": "u-admin", "X-Roles": "admin"}, 200, "u-alice none u-alice member,reader Confirmed"},
		{"spoofed headers without a token", map[string]string{"X-Identity-Status": "Confirmed", "X-User-Id": "u-admin"}, 401, ""},
		{"service token", map[string]string{"X-Auth-Token": "alice", "X-Service-Token": "nova"}, 200, "u-alice u-nova"},
		{"service token without the role", map[string]string{"X-Auth-Token": "alice", "X-Service-Token": "alice"}, 401, ""},
		{"bad service token", map[string]string{"X-Auth-Token": "alice", "X-Service-Token": "forged"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(h, tt.headers)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Fatalf("%d %q, want %d containing %q", code, body, tt.code, tt.body)
			}
		})
	}
}

func TestCache(t *testing.T) {
	f := newFake()
	h := (&middleware.Middleware{Validator: f}).Wrap(echo)
	alice := map[string]string{"X-Auth-Token": "alice"}
	do(h, alice)
	do(h, alice)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d validations for two requests, want 1 (cached)", n)
	}
	// An identity change (e.g. a revocation) invalidates every entry.
	f.gen.Add(1)
	delete(f.callers, "alice")
	if code, _ := do(h, alice); code != 401 {
		t.Fatalf("after the generation moved and the token was revoked: %d", code)
	}
	// An expired token is never served from the cache.
	f.callers["alice"] = f.callers["expired"]
	f.calls.Store(0)
	do(h, map[string]string{"X-Auth-Token": "expired"})
	do(h, map[string]string{"X-Auth-Token": "expired"})
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("expired token validated %d times for two requests, want 2", n)
	}
}

func TestOptional(t *testing.T) {
	h := (&middleware.Middleware{Validator: newFake(), Optional: true}).Wrap(echo)
	if code, body := do(h, map[string]string{"X-User-Id": "u-admin"}); code != 200 || !strings.HasPrefix(body, "none none  ") || !strings.HasSuffix(body, "Invalid") {
		t.Fatalf("optional without token: %d %q", code, body)
	}
	if code, _ := do(h, map[string]string{"X-Auth-Token": "forged"}); code != 401 {
		t.Fatalf("optional with a bad token: %d", code)
	}
}

func TestCallerCreds(t *testing.T) {
	c := &middleware.Caller{UserID: "u", UserDomainID: "default", ProjectID: "p", ProjectDomainID: "default", Roles: []string{"member"}}
	got := c.Creds()
	if got.UserID != "u" || got.ProjectID != "p" || got.SystemScope != "" || len(got.Roles) != 1 {
		t.Fatalf("project caller: %+v", got)
	}
	got.Roles[0] = "admin"
	if c.Roles[0] != "member" {
		t.Fatal("Creds shares the caller's roles")
	}
	if got := (&middleware.Caller{UserID: "u", System: true, Roles: []string{"admin"}}).Creds(); got.SystemScope != "all" {
		t.Fatalf("system caller: %+v", got)
	}
}
