package area_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/kit/compose"
)

// The image area needs the identity area: compose builds identity first
// whatever the order given, and puts its token validation in front of
// Glance.
func Example() {
	dir, _ := os.MkdirTemp("", "image-area-")
	defer os.RemoveAll(dir)

	image := area.New()
	image.Config.MaxImageSize = 10 << 30 // Glance's image_size_cap
	areas := []compose.Area{image, identityarea.New()}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = dir // records in <dir>/gostack.db, data under <dir>/images
	stack, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: areas,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stack.Close()
	fmt.Println(stack.Names())
	srv := httptest.NewServer(stack.Handler("image"))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v2/images")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// [identity image]
	// 401 Unauthorized
}
