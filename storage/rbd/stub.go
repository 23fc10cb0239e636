//go:build !cgo || !(pacific || quincy || reef || squid)

package rbd

import "context"

// Available reports whether this build has the Ceph client: not this
// one (no cgo, or no Ceph release tag).
const Available = false

// Client is the client's API in a build without Ceph support, where New
// always returns ErrUnavailable; its methods do too.
type Client struct{}

// New returns ErrUnavailable: the Ceph client needs cgo and a release tag.
func New(context.Context, Config) (*Client, error) { return nil, ErrUnavailable }

func (*Client) Close() error                                             { return nil }
func (*Client) Config() Config                                           { return Config{} }
func (*Client) FSID() string                                             { return "" }
func (*Client) Create(context.Context, string, int64) error              { return ErrUnavailable }
func (*Client) Info(context.Context, string) (Info, error)               { return Info{}, ErrUnavailable }
func (*Client) Multiattach(context.Context, string) error                { return ErrUnavailable }
func (*Client) SingleWriter(context.Context, string) error               { return ErrUnavailable }
func (*Client) Resize(context.Context, string, int64) error              { return ErrUnavailable }
func (*Client) CreateSnapshot(context.Context, string, string) error     { return ErrUnavailable }
func (*Client) DeleteSnapshot(context.Context, string, string) error     { return ErrUnavailable }
func (*Client) RevertVolume(context.Context, string, string) error       { return ErrUnavailable }
func (*Client) Flatten(context.Context, string) error                    { return ErrUnavailable }
func (*Client) Depth(context.Context, string) (int, error)               { return 0, ErrUnavailable }
func (*Client) CloneVolume(context.Context, string, string, int64) error { return ErrUnavailable }
func (*Client) Delete(context.Context, string) error                     { return ErrUnavailable }
func (*Client) List(context.Context) ([]Image, error)                    { return nil, ErrUnavailable }
func (*Client) Sweep(context.Context) error                              { return ErrUnavailable }
func (*Client) Capacity(context.Context) (Capacity, error)               { return Capacity{}, ErrUnavailable }
func (*Client) Export(context.Context, string, string) (int64, error)    { return 0, ErrUnavailable }

func (*Client) CreateFromSnapshot(context.Context, string, string, string, int64) error {
	return ErrUnavailable
}

func (*Client) Import(context.Context, string, string, int64, int64) error { return ErrUnavailable }

func (*Client) Cloneable(context.Context, string) error                 { return ErrUnavailable }
func (*Client) CloneImage(context.Context, string, string, int64) error { return ErrUnavailable }

func (*Client) Monitors(context.Context) ([]string, []string, error) { return nil, nil, ErrUnavailable }

func (*Client) Connection(context.Context, string) (Connection, error) {
	return Connection{}, ErrUnavailable
}

func (*Client) OpenVolume(context.Context, string) (*Handle, error) { return nil, ErrUnavailable }
func (*Client) OpenSnapshot(context.Context, string, string) (*Handle, error) {
	return nil, ErrUnavailable
}
func (*Client) OpenBackupSnapshot(context.Context, string, string) (*Handle, error) {
	return nil, ErrUnavailable
}

func (*Client) ImageInfo(context.Context, string) (Info, error)           { return Info{}, ErrUnavailable }
func (*Client) CloneImageTo(context.Context, string, string, int64) error { return ErrUnavailable }
func (*Client) ImportImage(context.Context, string, string, int64, int64) error {
	return ErrUnavailable
}
func (*Client) GrowImage(context.Context, string, int64) error             { return ErrUnavailable }
func (*Client) ExportImage(context.Context, string, string) (int64, error) { return 0, ErrUnavailable }
func (*Client) ExportImageSnapshot(context.Context, string, string, string) (int64, error) {
	return 0, ErrUnavailable
}
func (*Client) RemoveImage(context.Context, string) error                 { return ErrUnavailable }
func (*Client) RemovePartial(context.Context, string) error               { return ErrUnavailable }
func (*Client) SnapshotImage(context.Context, string, string) error       { return ErrUnavailable }
func (*Client) RollbackImage(context.Context, string, string) error       { return ErrUnavailable }
func (*Client) RemoveImageSnapshot(context.Context, string, string) error { return ErrUnavailable }

// Handle is an open volume's API in a build without Ceph support: no
// Client opens one, and its methods return ErrUnavailable.
type Handle struct{}

func (*Handle) Size() int64                                      { return 0 }
func (*Handle) ReadAt([]byte, int64) (int, error)                { return 0, ErrUnavailable }
func (*Handle) WriteAt([]byte, int64) (int, error)               { return 0, ErrUnavailable }
func (*Handle) Zero(context.Context, int64, int64) error         { return ErrUnavailable }
func (*Handle) Extents(context.Context, int64) ([]Extent, error) { return nil, ErrUnavailable }
func (*Handle) Close() error                                     { return nil }
