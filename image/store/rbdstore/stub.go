//go:build !cgo || !(pacific || quincy || reef || squid)

package rbdstore

import (
	"context"
	"io"

	"github.com/gostack/gostack/image/store"
)

// Available reports whether this build has the Ceph client: not this
// one (no cgo, or no Ceph release tag).
const Available = false

// Store is the store's API in a build without Ceph support, where Open
// always returns ErrUnavailable.
type Store struct{}

// Open returns ErrUnavailable: the Ceph client needs cgo and a release
// tag.
func Open(context.Context, Config) (*Store, error) { return nil, ErrUnavailable }

func (*Store) Close() error                                { return nil }
func (*Store) FSID() string                                { return "" }
func (*Store) Pool() string                                { return "" }
func (*Store) URL(string) string                           { return "" }
func (*Store) Stat(context.Context, string) (int64, error) { return 0, ErrUnavailable }
func (*Store) InUse(context.Context, string) error         { return ErrUnavailable }
func (*Store) Delete(context.Context, string) error        { return ErrUnavailable }
func (*Store) List(context.Context) ([]string, error)      { return nil, ErrUnavailable }
func (*Store) Clean(context.Context) error                 { return ErrUnavailable }

func (*Store) Put(context.Context, string, io.Reader, store.PutOptions) (store.Object, error) {
	return store.Object{}, ErrUnavailable
}

func (*Store) Get(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, ErrUnavailable
}
