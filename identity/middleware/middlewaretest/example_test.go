package middlewaretest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
)

// A service's handler behind the token middleware, tested with a fake
// identity that knows one token.
func Example() {
	tokens := middlewaretest.Tokens{"tok-alice": middlewaretest.Caller("alice", "demo", "member")}
	h := (&middleware.Middleware{Validator: tokens}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.CallerFrom(r.Context())
		fmt.Fprintf(w, "%s in %s", c.UserName, c.ProjectName)
	}))
	for _, tok := range []string{"tok-alice", "tok-mallory"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Auth-Token", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body.String())
		} else {
			fmt.Println(w.Code)
		}
	}
	// Output:
	// 200 alice in demo
	// 401
}
