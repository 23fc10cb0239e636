package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/httpapi"
)

// counts returns the request counter values keyed by their labels.
func counts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "gostack_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(parts, ",")] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	compute, err := httpapi.NewMetrics(reg, "compute")
	if err != nil {
		t.Fatal(err)
	}
	identity, err := httpapi.NewMetrics(reg, "identity")
	if err != nil {
		t.Fatalf("second service on one registry: %v", err)
	}
	if _, err := httpapi.NewMetrics(reg, "compute"); err != nil {
		t.Fatalf("same service twice: %v", err)
	}

	rt := httpapi.NewRouter(httpapi.Nova)
	rt.HandleFunc("GET /v2.1/servers/{id}", func(w http.ResponseWriter, r *http.Request) {})
	nova := httpapi.Service(rt, httpapi.ServiceOptions{Style: httpapi.Nova, Metrics: compute, Logger: slog.New(slog.DiscardHandler)})
	ks := httpapi.Chain(http.NotFoundHandler(), identity.Middleware)

	for _, req := range []struct {
		h            http.Handler
		method, path string
	}{
		{nova, "GET", "/v2.1/servers/a"},
		{nova, "GET", "/v2.1/servers/b"},
		{nova, "DELETE", "/v2.1/servers/a"},
		{nova, "GET", "/v2.1/random/1"},
		{nova, "BREW", "/v2.1/random/2"},
		{ks, "GET", "/v3/users"},
	} {
		req.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	got := counts(t, reg)
	want := map[string]float64{
		"code=200,method=GET,route=/v2.1/servers/{id},service=compute": 2,
		"code=405,method=DELETE,route=unmatched,service=compute":       1,
		"code=404,method=GET,route=unmatched,service=compute":          1,
		"code=404,method=other,route=unmatched,service=compute":        1,
		"code=404,method=GET,route=unmatched,service=identity":         1,
	}
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for k, v := range want {
		t.Run(k, func(t *testing.T) {
			if got[k] != v {
				t.Fatalf("count = %v, want %v (all: %v)", got[k], v, got)
			}
		})
	}
	for k := range got {
		if strings.Contains(k, "/servers/a") || strings.Contains(k, "/random") {
			t.Errorf("raw path used as a label: %s", k)
		}
	}
}

func TestNewMetricsErrors(t *testing.T) {
	conflicting := prometheus.NewRegistry()
	conflicting.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gostack_http_requests_total", Help: "something else",
	}))
	tests := []struct {
		name    string
		reg     prometheus.Registerer
		service string
		wantErr bool
	}{
		{"no service", prometheus.NewRegistry(), "", true},
		{"nil registry is allowed", nil, "compute", false},
		{"conflicting collector", conflicting, "compute", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpapi.NewMetrics(tt.reg, tt.service)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
