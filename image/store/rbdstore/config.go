package rbdstore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ErrUnavailable: the package was built without cgo or without a Ceph
// release tag; Open returns it.
var ErrUnavailable = errors.New("rbdstore: this build has no Ceph support (it needs cgo and a Ceph release tag: go build -tags pacific)")

// Config is the connection to the images pool, Glance's rbd store
// options.
type Config struct {
	// ConfFile is the ceph.conf (rbd_store_ceph_conf); "" for
	// librados's search.
	ConfFile string
	// User is the cephx client id without "client." (rbd_store_user);
	// "" for admin.
	User string
	// Keyring is the user's keyring file; "" for the configuration's.
	Keyring string
	// Pool is the images pool (rbd_store_pool), default "images".
	Pool string
	// ChunkSizeMB is the images' object size (rbd_store_chunk_size),
	// a power of two up to 32, default 8 as Glance's.
	ChunkSizeMB int
	// ConnectTimeout bounds the connection (rados_connect_timeout),
	// default 30 s.
	ConnectTimeout time.Duration
}

func (c *Config) defaults() error {
	if c.Pool == "" {
		c.Pool = "images"
	}
	if c.ChunkSizeMB == 0 {
		c.ChunkSizeMB = 8
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if n := c.ChunkSizeMB; n < 0 || n&(n-1) != 0 || n > 32 {
		return fmt.Errorf("rbdstore: chunk size %d MB is not a power of two up to 32", n)
	}
	return nil
}

// order is log2 of the object size.
func (c *Config) order() int {
	o := 20
	for n := c.ChunkSizeMB; n > 1; n >>= 1 {
		o++
	}
	return o
}

// Snapshot is the name of the protected snapshot of every image, which
// volumes are cloned from (Glance's).
const Snapshot = "snap"

// uploadSuffix names an image being written.
const uploadSuffix = ".uploading"

// validID keeps ids to RBD names without "/" or "@".
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func isID(id string) bool { return validID.MatchString(id) && !strings.HasSuffix(id, uploadSuffix) }

// Location is an image's rbd:// URL as Glance's rbd store writes it.
func Location(fsid, pool, id string) string {
	return "rbd://" + fsid + "/" + pool + "/" + id + "/" + Snapshot
}

// ParseLocation splits an rbd:// URL into its fsid, pool, image and
// snapshot as Cinder's RBD driver does (_parse_location): four parts,
// each URL-unescaped, none empty.
func ParseLocation(u string) (fsid, pool, image, snap string, err error) {
	rest, ok := strings.CutPrefix(u, "rbd://")
	if !ok {
		return "", "", "", "", fmt.Errorf("rbdstore: %q is not stored in rbd", u)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return "", "", "", "", fmt.Errorf("rbdstore: %q is not an rbd snapshot", u)
	}
	for i, p := range parts {
		if parts[i], err = url.PathUnescape(p); err != nil || parts[i] == "" {
			return "", "", "", "", fmt.Errorf("rbdstore: %q has blank or bad components", u)
		}
	}
	return parts[0], parts[1], parts[2], parts[3], nil
}
