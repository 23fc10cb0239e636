package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/gostack/gostack/kit/httpapi"
)

var requestIDRE = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestID(t *testing.T) {
	const valid = "req-0b0c3d4e-5f60-4172-8394-a5b6c7d8e9f0"
	tests := []struct {
		name     string
		incoming string
		extra    []string
		wantEcho bool
	}{
		{"generated when absent", "", nil, false},
		{"valid id echoed", valid, nil, true},
		{"uppercase rejected", "req-0B0C3D4E-5F60-4172-8394-A5B6C7D8E9F0", nil, false},
		{"no prefix rejected", "0b0c3d4e-5f60-4172-8394-a5b6c7d8e9f0", nil, false},
		{"bad dashes rejected", "req-0b0c3d4e5-f60-4172-8394-a5b6c7d8e9f0", nil, false},
		{"injection rejected", valid + "\r\nX-Evil: 1", nil, false},
		{"too long rejected", valid + "0", nil, false},
		{"legacy header too", valid, []string{"X-Compute-Request-Id"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			h := httpapi.RequestIDWith(tt.extra...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = httpapi.RequestIDFrom(r.Context())
			}))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.incoming != "" {
				r.Header.Set(httpapi.RequestIDHeader, tt.incoming)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := w.Header().Get("X-OpenStack-Request-Id")
			if got != seen {
				t.Fatalf("header %q != context %q", got, seen)
			}
			if tt.wantEcho && got != tt.incoming {
				t.Fatalf("id = %q, want echo of %q", got, tt.incoming)
			}
			if !tt.wantEcho && !requestIDRE.MatchString(got) {
				t.Fatalf("id = %q, want a fresh req-<uuid4>", got)
			}
			for _, name := range tt.extra {
				if w.Header().Get(name) != got {
					t.Errorf("%s = %q, want %q", name, w.Header().Get(name), got)
				}
			}
		})
	}
}

func TestRequestIDFresh(t *testing.T) {
	ids := map[string]bool{}
	h := httpapi.RequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		ids[w.Header().Get(httpapi.RequestIDHeader)] = true
	}
	if len(ids) != 3 {
		t.Fatalf("ids not unique: %v", ids)
	}
	if got := httpapi.RequestIDFrom(t.Context()); got != "" {
		t.Fatalf("RequestIDFrom(empty ctx) = %q", got)
	}
}
