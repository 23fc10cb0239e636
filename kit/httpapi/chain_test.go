package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/httpapi"
)

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := httpapi.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "h") }),
		mw("a"), mw("b"), mw("c"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := strings.Join(order, ""); got != "abch" {
		t.Fatalf("order = %q, want abch", got)
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantCode int
		wantBody string
	}{
		{"panic before writing", func(w http.ResponseWriter, r *http.Request) {
			panic("nil map: secret=hunter2")
		}, 500, `{"computeFault":{"code":500,"message":"The server has either erred or is incapable of performing the requested operation."}}`},
		{"panic after writing", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("partial"))
			panic("late")
		}, 202, "partial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			rt := httpapi.NewRouter(httpapi.Nova)
			rt.Handle("GET /v2.1/servers/{id}", tt.handler)
			h := httpapi.Service(rt, httpapi.ServiceOptions{Style: httpapi.Nova, Logger: testLogger(&logs)})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/v2.1/servers/s1", nil))
			if w.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantCode)
			}
			body := w.Body.String()
			if body != tt.wantBody {
				t.Fatalf("body = %q, want %q", body, tt.wantBody)
			}
			if strings.Contains(body, "hunter2") {
				t.Fatal("panic value leaked to the client")
			}
			out := logs.String()
			if !strings.Contains(out, `"msg":"panic serving request"`) || !strings.Contains(out, "runtime/debug.Stack") {
				t.Fatalf("panic not logged with stack: %s", out)
			}
			if strings.Count(out, `"level":"ERROR"`) != 1 {
				t.Errorf("want exactly one error line, got: %s", out)
			}
			last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
			var access map[string]any
			if err := json.Unmarshal([]byte(last), &access); err != nil {
				t.Fatal(err)
			}
			if access["status"] != float64(tt.wantCode) || access["route"] != "/v2.1/servers/{id}" {
				t.Errorf("access log = %v", access)
			}
		})
	}
}

func TestRecoverAbortHandler(t *testing.T) {
	h := httpapi.Recover(httpapi.Plain)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-raised", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestServiceTwoInOneProcess(t *testing.T) {
	reg := prometheus.NewRegistry()
	build := func(name string, style httpapi.Style, legacy ...string) http.Handler {
		m, err := httpapi.NewMetrics(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		rt := httpapi.NewRouter(style)
		rt.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {})
		var logs bytes.Buffer
		return httpapi.Service(rt, httpapi.ServiceOptions{Style: style, Logger: testLogger(&logs), Metrics: m, RequestIDHeaders: legacy})
	}
	nova := build("compute", httpapi.Nova, "X-Compute-Request-Id")
	keystone := build("identity", httpapi.Keystone)

	tests := []struct {
		name       string
		h          http.Handler
		wantPrefix string
		wantLegacy bool
	}{
		{"nova", nova, `{"itemNotFound"`, true},
		{"keystone", keystone, `{"error"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, httptest.NewRequest("GET", "/missing", nil))
			if !strings.HasPrefix(w.Body.String(), tt.wantPrefix) {
				t.Fatalf("body = %s", w.Body)
			}
			id := w.Header().Get(httpapi.RequestIDHeader)
			if !requestIDRE.MatchString(id) {
				t.Fatalf("request id = %q", id)
			}
			if got := w.Header().Get("X-Compute-Request-Id"); (got == id) != tt.wantLegacy {
				t.Errorf("X-Compute-Request-Id = %q", got)
			}
		})
	}
	got := counts(t, reg)
	for _, k := range []string{
		"code=404,method=GET,route=unmatched,service=compute",
		"code=404,method=GET,route=unmatched,service=identity",
	} {
		if got[k] != 1 {
			t.Errorf("%s = %v (all %v)", k, got[k], got)
		}
	}
}
