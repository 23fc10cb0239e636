package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gostack/gostack/kit/httpapi"
)

func TestRouter(t *testing.T) {
	rt := httpapi.NewRouter(httpapi.Nova)
	rt.HandleFunc("GET /v2.1/servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	rt.HandleFunc("DELETE /v2.1/servers/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	rt.Handle("/v2.1/flavors/", http.NotFoundHandler())

	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantAllow string
		wantBody  string
	}{
		{"match", "GET", "/v2.1/servers/s1", 200, "", `{"id":"s1"}`},
		{"head matches get", "HEAD", "/v2.1/servers/s1", 200, "", ""},
		{"unknown path", "GET", "/v2.1/nope", 404, "",
			`{"itemNotFound":{"code":404,"message":"The resource could not be found."}}`},
		{"wrong method", "PUT", "/v2.1/servers/s1", 405, "DELETE, GET, HEAD",
			`{"badMethod":{"code":405,"message":"The method PUT is not allowed for this resource."}}`},
		{"handler's own 404 is untouched", "GET", "/v2.1/flavors/x", 404, "", "404 page not found\n"},
		{"unclean path redirects", "GET", "/v2.1//servers/s1", 307, "", ""},
		{"NUL in path", "GET", "/v2.1/servers/a%00b", 400, "",
			`{"badRequest":{"code":400,"message":"The request path is not valid UTF-8 text or holds a NUL character."}}`},
		{"invalid UTF-8 in path", "GET", "/v2.1/servers/%ff", 400, "",
			`{"badRequest":{"code":400,"message":"The request path is not valid UTF-8 text or holds a NUL character."}}`},
		{"NUL in query", "GET", "/v2.1/servers/s1?name=%00", 400, "",
			`{"badRequest":{"code":400,"message":"Invalid input for field 'name': not valid UTF-8 text or holds a NUL character"}}`},
		{"malformed query", "GET", "/v2.1/servers/s1?name=%zz", 400, "",
			`{"badRequest":{"code":400,"message":"The query string is malformed."}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantCode, w.Body)
			}
			if got := w.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if tt.wantCode != 307 && tt.method != "HEAD" && w.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", w.Body, tt.wantBody)
			}
		})
	}
}

func TestRouterZeroValue(t *testing.T) {
	var rt httpapi.Router
	srv := httptest.NewServer(&rt)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got struct {
		Error struct {
			Code  int    `json:"code"`
			Title string `json:"title"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 404 || got.Error.Code != 404 || got.Error.Title != "Not Found" {
		t.Fatalf("zero Router: %d %s (%v)", resp.StatusCode, body, err)
	}
}
