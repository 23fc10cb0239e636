package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
)

// tokenTable is a Validator over a table of tokens that counts how often it
// is asked; revoking a token moves its generation, as identity.Auth's
// does on every change that could alter a validation.
type tokenTable struct {
	tokens map[string]middleware.Caller
	gen    int64
	calls  int
}

func (t *tokenTable) ValidateCaller(_ context.Context, token string) (middleware.Caller, error) {
	t.calls++
	c, ok := t.tokens[token]
	if !ok {
		return middleware.Caller{}, fault.New(fault.Unauthorized, "unknown token")
	}
	return c, nil
}

func (t *tokenTable) Generation() int64 { return t.gen }

func (t *tokenTable) revoke(token string) {
	delete(t.tokens, token)
	t.gen++
}

// A handler behind the middleware reads the caller from the context or
// keystonemiddleware's headers. Validations are cached until the
// Validator's generation moves, so a revoked token stops working at once.
func Example() {
	id := &tokenTable{tokens: map[string]middleware.Caller{
		"tok-alice": {UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"}, ExpiresAt: time.Now().Add(time.Hour)},
	}}
	h := (&middleware.Middleware{Validator: id}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CallerFrom(r.Context())
		fmt.Fprintf(w, "%s %s in %s as %s, member: %v", r.Header.Get("X-Identity-Status"),
			r.Header.Get("X-User-Id"), r.Header.Get("X-Project-Id"), r.Header.Get("X-Roles"), c.HasRole("Member"))
	}))
	get := func(token string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Auth-Token", token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	get("tok-alice")
	get("tok-alice") // from the cache
	fmt.Println("validations:", id.calls)
	id.revoke("tok-alice")
	get("tok-alice")
	// Output:
	// 200 Confirmed u1 in p1 as member,reader, member: true
	// 200 Confirmed u1 in p1 as member,reader, member: true
	// validations: 1
	// 401 {"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}
}

// With Optional, a request without a token goes through unauthenticated
// (X-Identity-Status: Invalid, no caller); a bad token is still refused.
func ExampleMiddleware_optional() {
	mw := &middleware.Middleware{Validator: &tokenTable{}, Optional: true}
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := middleware.CallerFrom(r.Context())
		fmt.Fprintf(w, "%s, caller: %v", r.Header.Get("X-Identity-Status"), ok)
	}))
	for _, token := range []string{"", "tok-forged"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if token != "" {
			r.Header.Set("X-Auth-Token", token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 Invalid, caller: false
	// 401 {"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}
}
