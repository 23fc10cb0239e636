package httpstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/gostack/gostack/image/store"
)

// GuardedClient is an HTTP client for fetching user-supplied URLs (Glance's
// web-download). It checks the address it actually connects to — after
// DNS, at every redirect — so a name that resolves to a forbidden address
// is refused too (no DNS-rebinding way around it). By default loopback,
// link-local (the metadata service), unspecified and multicast addresses
// are refused; allow lists prefixes that are accepted even so (a test
// server on 127.0.0.1, an internal mirror).
func GuardedClient(allow []netip.Prefix, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("httpstore: refusing address %q", address)
		}
		return checkAddr(ap.Addr().Unmap(), allow)
	}}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		TLSHandshakeTimeout: 30 * time.Second,
		MaxIdleConns:        4,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

func checkAddr(a netip.Addr, allow []netip.Prefix) error {
	for _, p := range allow {
		if p.Contains(a) {
			return nil
		}
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("httpstore: refusing to fetch from %s: %w", a, store.ErrBadID)
	}
	return nil
}
