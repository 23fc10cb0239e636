package area_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/network/area"
)

// The network area needs the identity area; Neutron's version document
// is public, its collections need a token.
func Example() {
	dir, _ := os.MkdirTemp("", "network-area-")
	defer os.RemoveAll(dir)
	net := area.New()
	net.Config.VNIMin, net.Config.VNIMax = 5000, 5999
	// No host agent here: it would start Open vSwitch on this host.
	net.Config.Agent.Enabled = false
	areas := []compose.Area{net, identityarea.New()}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = dir
	stack, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: areas, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stack.Close()
	srv := httptest.NewServer(stack.Handler("network"))
	defer srv.Close()
	for _, path := range []string{"/", "/v2.0/networks"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(path, resp.Status)
	}
	// Output:
	// / 200 OK
	// /v2.0/networks 401 Unauthorized
}
