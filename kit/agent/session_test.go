package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/agent"
)

// The session's own logic, against a stand-in for Keystone and a
// service (the lab tests of network/agent run it against the real
// identity area): a token close to expiry is renewed, a 401 invalidates
// it and the request is sent once more, the catalog gives endpoints.
func TestSession(t *testing.T) {
	var issued, calls atomic.Int32
	ttl := time.Hour
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		w.Header().Set("X-Subject-Token", fmt.Sprintf("tok-%d", n))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
			"expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339),
			"catalog": []any{map[string]any{"type": "network", "endpoints": []any{
				map[string]any{"interface": "public", "region_id": "RegionOne", "url": "http://public/"},
				map[string]any{"interface": "internal", "region_id": "RegionOne", "url": "http://internal/"}}}},
		}})
	})
	mux.HandleFunc("GET /thing", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("X-Auth-Token") == "tok-1" { // revoked
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": r.Header.Get("X-Auth-Token")})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := agent.NewSession(agent.Credentials{AuthURL: srv.URL + "/v3", Username: "network-agent", Password: "pw", Region: "RegionOne"})
	ctx := context.Background()

	var out map[string]string
	if err := s.Do(ctx, "GET", srv.URL+"/thing", nil, &out); err != nil || out["token"] != "tok-2" || calls.Load() != 2 {
		t.Fatalf("after a 401: %v %v, %d calls", out, err, calls.Load())
	}
	if ep, err := s.Endpoint(ctx, "network"); err != nil || ep != "http://internal" {
		t.Fatalf("endpoint %q %v", ep, err)
	}
	if _, err := s.Endpoint(ctx, "compute"); err == nil {
		t.Fatal("an endpoint not in the catalog")
	}
	// A token that expires within five minutes is replaced.
	ttl = 2 * time.Minute
	s.Invalidate("tok-2")
	tok, _ := s.Token(ctx) // tok-3, short-lived
	if again, _ := s.Token(ctx); again == tok || issued.Load() != 4 {
		t.Fatalf("a token about to expire was kept: %s then %s (%d issued)", tok, again, issued.Load())
	}
	// A server that never answers: the request ends at the timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	s.Timeout = 100 * time.Millisecond
	if err := s.Do(ctx, "GET", hang.URL, nil, nil); err == nil {
		t.Fatal("a server that never answered answered")
	}
}
