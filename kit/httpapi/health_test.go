package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/httpapi"
)

func TestHealth(t *testing.T) {
	ok := func(context.Context) error { return nil }
	bad := func(context.Context) error { return errors.New("dial postgres://admin:hunter2@db: refused") }
	tests := []struct {
		name     string
		checks   map[string]func(context.Context) error
		method   string
		wantCode int
		wantBody string
	}{
		{"no checks", nil, "GET", 200, "OK"},
		{"all pass", map[string]func(context.Context) error{"db": ok}, "GET", 200, "OK"},
		{"head", map[string]func(context.Context) error{"db": ok}, "HEAD", 200, ""},
		{"failing check named", map[string]func(context.Context) error{"db": bad, "mq": ok}, "GET", 503, "FAILED: db"},
		{"wrong method", nil, "POST", 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h httpapi.Health // the zero value is usable
			for name, fn := range tt.checks {
				if err := h.Register(name, fn); err != nil {
					t.Fatal(err)
				}
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tt.method, "/healthcheck", nil)
			h.ServeHTTP(w, r.WithContext(httpapi.WithLogger(r.Context(), testLogger(new(bytes.Buffer)))))
			if w.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantCode)
			}
			if tt.method != "HEAD" && w.Body.String() != tt.wantBody {
				t.Fatalf("body = %q, want %q", w.Body, tt.wantBody)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Fatal("check error leaked into the body")
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
			if tt.wantCode == 405 && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
		})
	}
}

func TestHealthRegister(t *testing.T) {
	var h httpapi.Health
	fn := func(context.Context) error { return nil }
	if err := h.Register("db", fn); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		check string
		fn    func(context.Context) error
	}{
		{"duplicate", "db", fn},
		{"empty name", "", fn},
		{"nil func", "mq", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.Register(tt.check, tt.fn); err == nil {
				t.Fatal("Register succeeded, want an error")
			}
		})
	}
}
