package area_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
)

// Serve Keystone from a program of your own, and issue a token with the
// admin password the area bootstrapped.
func Example() {
	dir, _ := os.MkdirTemp("", "identity-area-")
	defer os.RemoveAll(dir)

	identity := area.New()
	identity.Config.PasswordRounds = 4 // fast for the example; Keystone's default is 12
	cfg := compose.Defaults(identity)
	cfg.DataDir = dir
	stack, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{identity},
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stack.Close()
	srv := httptest.NewServer(stack.Handler("identity"))
	defer srv.Close()

	pw, _ := os.ReadFile(filepath.Join(dir, "admin-password"))
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin",
		"domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`,
		strings.TrimSpace(string(pw)))
	resp, err := http.Post(srv.URL+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, strings.HasPrefix(resp.Header.Get("X-Subject-Token"), "gAAAAA"))
	// Output: 201 Created true
}
