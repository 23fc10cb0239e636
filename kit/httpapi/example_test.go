package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// A compute-like service: a router in the Nova error style, microversions,
// pagination, and the standard middleware.
func Example() {
	servers := []string{"s1", "s2", "s3"}

	rt := httpapi.NewRouter(httpapi.Nova)
	rt.HandleFunc("GET /v2.1/servers", func(w http.ResponseWriter, r *http.Request) {
		p, err := httpapi.ParsePage(r, 2, 1000)
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Nova, err)
			return
		}
		page, more, err := httpapi.Paginate(servers, func(s string) string { return s }, p)
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Nova, err)
			return
		}
		body := map[string]any{"servers": page}
		if more {
			body["servers_links"] = []httpapi.Link{{Rel: "next", Href: httpapi.NextLink(r, page[len(page)-1])}}
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
	})
	rt.HandleFunc("GET /v2.1/servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, httpapi.Nova, fmt.Errorf("server %s: %w", r.PathValue("id"), fault.ErrNotFound))
	})

	mv := httpapi.Microversions{
		ServiceType: "compute",
		Legacy:      "X-OpenStack-Nova-API-Version",
		Min:         httpapi.Version{Major: 2, Minor: 1},
		Max:         httpapi.Version{Major: 2, Minor: 96},
	}
	metrics, err := httpapi.NewMetrics(prometheus.NewRegistry(), "compute")
	if err != nil {
		panic(err)
	}
	h := httpapi.Service(mv.Middleware(httpapi.Nova, rt), httpapi.ServiceOptions{
		Style:            httpapi.Nova,
		Logger:           slog.New(slog.DiscardHandler),
		Metrics:          metrics,
		RequestIDHeaders: []string{"X-Compute-Request-Id"},
	})

	for _, req := range []struct{ method, target, version string }{
		{"GET", "http://nova.example/v2.1/servers?name=web", "compute 2.60"},
		{"GET", "http://nova.example/v2.1/servers?limit=-1", ""},
		{"GET", "http://nova.example/v2.1/servers/s9", ""},
		{"PUT", "http://nova.example/v2.1/servers", ""},
		{"GET", "http://nova.example/v2.1/servers", "compute 3.0"},
	} {
		r := httptest.NewRequest(req.method, req.target, nil)
		if req.version != "" {
			r.Header.Set("OpenStack-API-Version", req.version)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("OpenStack-API-Version"), w.Body)
	}
	// Output:
	// 200 compute 2.60 {"servers":["s1","s2"],"servers_links":[{"rel":"next","href":"http://nova.example/v2.1/servers?marker=s2&name=web"}]}
	// 400 compute 2.1 {"badRequest":{"code":400,"message":"Invalid input for field 'limit': must be a non-negative integer, got \"-1\""}}
	// 404 compute 2.1 {"itemNotFound":{"code":404,"message":"server s9: not found"}}
	// 405 compute 2.1 {"badMethod":{"code":405,"message":"The method PUT is not allowed for this resource."}}
	// 406  {"computeFault":{"code":406,"message":"Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.96."}}
}

// WriteError renders one error in the body each service's clients parse.
func ExampleWriteError() {
	err := fault.Invalid("name", "must not be empty")
	for _, style := range []httpapi.Style{httpapi.Plain, httpapi.Keystone, httpapi.Neutron, httpapi.Octavia} {
		r := httptest.NewRequest("POST", "/", nil)
		w := httptest.NewRecorder()
		httpapi.WriteError(w, r, style, err)
		fmt.Println(style, w.Code, w.Body)
	}
	// Output:
	// plain 400 {"error":{"code":400,"title":"Bad Request","message":"must not be empty","field":"name"}}
	// keystone 400 {"error":{"code":400,"message":"Invalid input for field 'name': must not be empty","title":"Bad Request"}}
	// neutron 400 {"NeutronError":{"type":"HTTPBadRequest","message":"Invalid input for field 'name': must not be empty","detail":""}}
	// octavia 400 {"faultcode":"Client","faultstring":"Invalid input for field 'name': must not be empty","debuginfo":null}
}

// Health checks are registered by name on a zero Health.
func ExampleHealth() {
	var h httpapi.Health
	_ = h.Register("database", func(ctx context.Context) error { return nil })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/healthcheck", nil))
	fmt.Println(w.Code, w.Body)
	// Output:
	// 200 OK
}
