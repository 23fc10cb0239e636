package rbd

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseLocation splits the rbd:// URL of an image service's RBD image
// (Glance's rbd://<fsid>/<pool>/<image>/<snapshot>) as Cinder's
// _parse_location does: four parts, each URL-unescaped, none empty;
// ErrInvalid otherwise.
func ParseLocation(loc string) (fsid, pool, image, snap string, err error) {
	rest, ok := strings.CutPrefix(loc, "rbd://")
	if !ok {
		return "", "", "", "", fmt.Errorf("%w: %q is not stored in rbd", ErrInvalid, loc)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return "", "", "", "", fmt.Errorf("%w: %q is not an rbd snapshot", ErrInvalid, loc)
	}
	for i, p := range parts {
		if parts[i], err = url.PathUnescape(p); err != nil || parts[i] == "" {
			return "", "", "", "", fmt.Errorf("%w: %q has blank or bad components", ErrInvalid, loc)
		}
	}
	return parts[0], parts[1], parts[2], parts[3], nil
}
