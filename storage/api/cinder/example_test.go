package cinder_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage/api/cinder"
)

// The API behind the identity middleware: version discovery is public.
func Example() {
	api := &cinder.API{}
	mw := &middleware.Middleware{Validator: middlewaretest.Tokens{}, Style: httpapi.Cinder, Optional: true}
	srv := httptest.NewServer(mw.Wrap(api.Handler()))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/v3/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("OpenStack-API-Version"))
	fmt.Println(len(body) > 0)
	// Output:
	// 200 OK volume 3.0
	// true
}
