package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/httpapi"
)

func TestLog(t *testing.T) {
	rt := httpapi.NewRouter(httpapi.Keystone)
	rt.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		httpapi.Logger(r.Context()).Info("inside handler")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("12345"))
	})
	tests := []struct {
		name       string
		method     string
		target     string
		wantRoute  string
		wantStatus float64
		wantBytes  float64
	}{
		{"matched", "POST", "/v3/auth/tokens?secret=hunter2", "/v3/auth/tokens", 201, 5},
		{"unmatched", "GET", "/v3/whatever?token=hunter2", "unmatched", 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := httpapi.Chain(rt, httpapi.RequestID, httpapi.Log(testLogger(&buf)))
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(`{"password":"hunter2"}`))
			r.Header.Set("X-Auth-Token", "hunter2")
			r.Header.Set(httpapi.RequestIDHeader, testRequestID)
			h.ServeHTTP(httptest.NewRecorder(), r)

			out := buf.String()
			if strings.Contains(out, "hunter2") {
				t.Fatalf("log leaked a secret: %s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var access map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &access); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"msg": "http request", "method": tt.method, "route": tt.wantRoute,
				"path": strings.SplitN(tt.target, "?", 2)[0], "status": tt.wantStatus,
				"request_id": testRequestID,
			}
			for k, v := range want {
				if access[k] != v {
					t.Errorf("%s = %v, want %v", k, access[k], v)
				}
			}
			if _, ok := access["duration"]; !ok {
				t.Error("no duration")
			}
			if tt.wantBytes >= 0 && access["bytes"] != tt.wantBytes {
				t.Errorf("bytes = %v, want %v", access["bytes"], tt.wantBytes)
			}
			if tt.name == "matched" && !strings.Contains(lines[0], `"msg":"inside handler","request_id":"`+testRequestID) {
				t.Errorf("handler log line lacks request id: %s", lines[0])
			}
		})
	}
}

func TestLoggerFallback(t *testing.T) {
	if httpapi.Logger(t.Context()) == nil {
		t.Fatal("Logger(ctx without logger) = nil")
	}
}
