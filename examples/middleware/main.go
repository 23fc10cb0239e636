// Command middleware protects a plain net/http handler with Keystone
// tokens: identity/middleware validates X-Auth-Token through a Validator,
// puts the caller in the request context and sets keystonemiddleware's
// headers (X-User-Id, X-Roles, ...), after removing any a client forged.
//
// The Validator here is a fixed table of tokens, to show the contract.
// A process that runs the identity area uses identity/api.Validator;
// tests of a service use identity/middleware/middlewaretest.
//
//	cd examples && go run ./middleware
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
)

// tokens is a middleware.Validator: a token's caller, or a 401.
type tokens map[string]middleware.Caller

var _ middleware.Validator = tokens(nil)

func (t tokens) ValidateCaller(_ context.Context, token string) (middleware.Caller, error) {
	c, ok := t[token]
	if !ok {
		return middleware.Caller{}, fault.New(fault.Unauthorized, "unknown token")
	}
	return c, nil
}

// Generation must move whenever a validation could change (a revoked
// token, a removed role), so that the middleware's cache is dropped.
// This table never changes.
func (tokens) Generation() int64 { return 0 }

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "middleware:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CallerFrom(r.Context())
		fmt.Fprintf(w, "hello %s of project %s, roles %s", c.UserName, c.ProjectName, r.Header.Get("X-Roles"))
	})
	mw := &middleware.Middleware{Validator: tokens{
		"tok-alice": {
			UserID: "u-alice", UserName: "alice", ProjectID: "p-demo", ProjectName: "demo",
			Roles: []string{"member", "reader"}, ExpiresAt: time.Now().Add(time.Hour),
		},
	}}
	srv := httptest.NewServer(mw.Wrap(hello))
	defer srv.Close()

	calls := []struct {
		what    string
		headers map[string]string
	}{
		{"no token", nil},
		{"unknown token", map[string]string{"X-Auth-Token": "tok-mallory"}},
		{"alice's token", map[string]string{"X-Auth-Token": "tok-alice"}},
		{"alice's token, forged X-Roles", map[string]string{"X-Auth-Token": "tok-alice", "X-Roles": "admin"}},
	}
	for _, c := range calls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return err
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d %s\n", c.what, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
