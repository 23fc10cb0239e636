package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRouteLabel(t *testing.T) {
	tests := []struct {
		pattern, served, want string
	}{
		{"GET /v2.1/servers/{id}", "", "/v2.1/servers/{id}"},
		{"/v2.1/flavors/", "", "/v2.1/flavors/"},
		{"DELETE  example.com/x", "", "example.com/x"},
		{"example.com/x y/{z}", "", "example.com/x y/{z}"},
		{"", "POST /from/served", "/from/served"},
		{"", "", "unmatched"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Pattern = tt.served
			if got := routeLabel(&route{pattern: tt.pattern}, r); got != tt.want {
				t.Fatalf("routeLabel(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestStatusWriter(t *testing.T) {
	tests := []struct {
		name      string
		do        func(w http.ResponseWriter)
		wantCode  int
		wantBytes int64
		written   bool
	}{
		{"nothing", func(http.ResponseWriter) {}, 200, 0, false},
		{"write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("abc")) }, 200, 3, true},
		{"early hints then 201", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, 201, 0, true},
		{"flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sw := &statusWriter{ResponseWriter: rec}
			tt.do(sw)
			if sw.code() != tt.wantCode || sw.bytes != tt.wantBytes || sw.written() != tt.written {
				t.Fatalf("code %d bytes %d written %v", sw.code(), sw.bytes, sw.written())
			}
			if http.NewResponseController(sw).Flush() != nil {
				t.Fatal("ResponseController cannot reach the Flusher")
			}
		})
	}
}

func TestAcceptsJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", true},
		{"text/html, application/json;q=0.9", true},
		{"application/json;q=0", false},
		{"application/*", true},
		{"text/plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			if got := acceptsJSON(tt.accept); got != tt.want {
				t.Fatalf("acceptsJSON(%q) = %v", tt.accept, got)
			}
		})
	}
}
