package rbd_test

import (
	"errors"
	"testing"

	"github.com/gostack/gostack/storage/rbd"
)

// Cinder's _parse_location: four unescaped parts, none blank.
func TestParseLocation(t *testing.T) {
	for _, bad := range []string{"file:///x", "rbd://a/b/c", "rbd://a/b/c/d/e", "rbd://a//c/d", "rbd://a/b/c/", "rbd://a/b/c/%zz", "rbd:///b/c/d"} {
		if _, _, _, _, err := rbd.ParseLocation(bad); !errors.Is(err, rbd.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	f, p, i, s, err := rbd.ParseLocation("rbd://f/im%20ages/i/snap")
	if err != nil || f != "f" || p != "im ages" || i != "i" || s != "snap" {
		t.Errorf("got %s %s %s %s %v", f, p, i, s, err)
	}
}
