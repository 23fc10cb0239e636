package httpstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/httpstore"
)

// Objects named by URL, read with Range requests through the guarded
// client. The web server here is on loopback, which the guarded client
// refuses unless told otherwise: the URL is a user's choice, and loopback
// and link-local addresses (the metadata service) are inside the cloud.
func Example() {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "disk.img", time.Time{}, strings.NewReader("0123456789abcdef"))
	}))
	defer web.Close()
	ctx := context.Background()
	u := web.URL + "/disk.img"

	// Glance's web-download limits schemes, hosts and ports: an Allow hook.
	onlyHTTP := func(u *url.URL) error {
		if u.Scheme != "http" {
			return errors.New("only http")
		}
		return nil
	}
	guarded := &httpstore.Store{Client: httpstore.GuardedClient(nil, time.Minute), Allow: onlyHTTP}
	_, err := guarded.Stat(ctx, u)
	fmt.Println("loopback refused:", errors.Is(err, store.ErrBadID))

	// A test server or an internal mirror is allowed explicitly.
	mirror := &httpstore.Store{
		Client: httpstore.GuardedClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, time.Minute),
		Allow:  onlyHTTP,
	}
	size, err := mirror.Stat(ctx, u)
	fmt.Println("size", size, err)
	r, err := mirror.Get(ctx, u, 10, 6)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("bytes 10-15: %s\n", b)

	_, err = mirror.Put(ctx, u, strings.NewReader("x"), store.PutOptions{})
	fmt.Println("read-only:", errors.Is(err, store.ErrReadOnly))
	// Output:
	// loopback refused: true
	// size 16 <nil>
	// bytes 10-15: abcdef
	// read-only: true
}
