package apitest

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// Dial opens a raw TCP connection to addr for tests that speak HTTP (or
// stall) by hand; its reads give up after bound, so a test waiting on the
// server never hangs past it. It is closed when the test ends.
func Dial(t testing.TB, addr string, bound time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(bound))
	return c
}

// ClosedByServer reads c to its end and reports whether the server closed
// it (false when the read deadline of Dial ran out first).
func ClosedByServer(c net.Conn) bool {
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
