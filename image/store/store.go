package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/gostack/gostack/kit/fault"
)

// Store keeps image data under ids.
type Store interface {
	// Put streams r into the object id and returns its size and hashes.
	// On any error nothing of the object is left.
	Put(ctx context.Context, id string, r io.Reader, opts PutOptions) (Object, error)
	// Get returns length bytes from offset (length < 0: to the end).
	Get(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error)
	// Stat returns the object's size.
	Stat(ctx context.Context, id string) (int64, error)
	// Delete removes the object; deleting a missing object is ErrNotFound.
	Delete(ctx context.Context, id string) error
}

// Lister is a Store that can list its objects, so that data a crash left
// without an owner can be found and removed.
type Lister interface {
	List(ctx context.Context) ([]string, error)
}

// Locator is a Store that names its objects by URL, as Glance shows the
// locations of data in its own stores (file:///var/lib/glance/images/<id>).
type Locator interface {
	URL(id string) string
}

// PutOptions bound and observe a Put.
type PutOptions struct {
	// MaxSize refuses objects larger than this (0: no limit) with
	// ErrTooLarge, as soon as the stream passes it.
	MaxSize int64
	// Size is the size the client announced (x-openstack-image-size);
	// -1 or 0 with SizeKnown false means unknown. A different actual size
	// is ErrSizeMismatch.
	Size      int64
	SizeKnown bool
	// HashAlgo is the os_hash_algo (default sha512).
	HashAlgo string
	// Tee also receives every byte written; its error aborts the Put (an
	// inspector refusing the image mid-stream).
	Tee io.Writer
}

// Object is what Put stored.
type Object struct {
	Size      int64
	Checksum  string // md5, hex: Glance's legacy "checksum"
	HashAlgo  string // os_hash_algo
	HashValue string // os_hash_value, hex
}

// Errors. Each maps to the status Glance answers with.
var (
	ErrNotFound     = fmt.Errorf("store: %w", fault.ErrNotFound)
	ErrTooLarge     = fmt.Errorf("store: object over the size limit: %w", fault.ErrTooLarge)
	ErrSizeMismatch = fmt.Errorf("store: size differs from the announced size: %w", fault.ErrBadRequest)
	ErrReadOnly     = fmt.Errorf("store: read-only: %w", fault.ErrNotImplemented)
	ErrRange        = fmt.Errorf("store: range not satisfiable: %w", fault.ErrBadRequest)
	ErrBadID        = fmt.Errorf("store: bad object id: %w", fault.ErrBadRequest)
	// ErrInUse: the object is held outside the image service (the
	// copy-on-write clones of an RBD image's snapshot), so it cannot be
	// deleted: Glance's InUseByStore.
	ErrInUse = fmt.Errorf("store: in use outside the image service: %w", fault.ErrConflict)
)

// Holder is a Store whose objects can be held outside the image service
// (RBD clones): InUse returns ErrInUse when object id is held, so that
// its image is not deleted.
type Holder interface {
	InUse(ctx context.Context, id string) error
}

// Copy writes src to dst as a Put does, enforcing opts (size limits,
// the announced size, the tee) and computing the hashes, for stores
// outside this package.
func Copy(ctx context.Context, dst io.Writer, src io.Reader, opts PutOptions) (Object, error) {
	return copyObject(ctx, dst, src, opts)
}

// copyChunk is the unit copyObject reads, writes and hashes, and
// copySlots the chunks in flight: while the reader fills one, md5, the
// os_hash_algo hash and the writer each work through the others at
// their own pace, so that the two hashes keep both cores busy rather
// than wait for each other at every chunk.
const (
	copyChunk = 1 << 20
	copySlots = 8
)

// copySlot is one chunk in flight; held counts the consumers (md5, the
// other hash, the writer) not done with it yet.
type copySlot struct {
	buf  []byte
	n    int
	held sync.WaitGroup
}

// copyObject copies src to dst through the digest and the tee, enforcing
// the options; it returns the object written.
func copyObject(ctx context.Context, dst io.Writer, src io.Reader, opts PutOptions) (Object, error) {
	d, err := NewDigest(opts.HashAlgo)
	if err != nil {
		return Object{}, err
	}
	if opts.SizeKnown && opts.MaxSize > 0 && opts.Size > opts.MaxSize {
		return Object{}, ErrTooLarge // refuse before reading a byte
	}
	limit := opts.MaxSize
	if opts.SizeKnown && (limit == 0 || opts.Size < limit) {
		limit = opts.Size // one byte more than announced is already wrong
	}
	bounded := limit > 0 || opts.SizeKnown
	r := src
	if bounded {
		r = io.LimitReader(src, limit+1)
	}
	// The consumers: the writer (and the tee after it, which sees what
	// was written) and the two hashes. The first error stops the reader.
	var (
		failed   atomic.Bool
		failure  error
		failOnce sync.Once
	)
	fail := func(err error) {
		failOnce.Do(func() { failure = err; failed.Store(true) })
	}
	write := func(p []byte) error {
		if _, err := dst.Write(p); err != nil {
			return err
		}
		if opts.Tee != nil {
			if _, err := opts.Tee.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
	consumers := []func([]byte) error{
		write,
		func(p []byte) error { d.md5.Write(p); return nil },
		func(p []byte) error { d.multi.Write(p); return nil },
	}
	var running sync.WaitGroup
	queues := make([]chan *copySlot, len(consumers))
	for i, consume := range consumers {
		queues[i] = make(chan *copySlot, copySlots)
		running.Add(1)
		go func(q <-chan *copySlot) {
			defer running.Done()
			for s := range q {
				if !failed.Load() {
					if err := consume(s.buf[:s.n]); err != nil {
						fail(err)
					}
				}
				s.held.Done()
			}
		}(queues[i])
	}
	finish := func(err error) (Object, error) {
		for _, q := range queues {
			close(q)
		}
		running.Wait()
		if err == nil && failed.Load() {
			err = failure
		}
		return Object{}, err
	}
	slots := make([]copySlot, copySlots)
	var n int64
	for i := 0; ; i = (i + 1) % copySlots {
		s := &slots[i]
		s.held.Wait()
		if s.buf == nil {
			s.buf = alignedBuffer(copyChunk)
		}
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		if failed.Load() {
			return finish(nil)
		}
		k, rerr := fill(r, s.buf)
		if k > 0 {
			n += int64(k)
			if bounded && n > limit {
				if opts.SizeKnown && (opts.MaxSize == 0 || opts.Size < opts.MaxSize) {
					return finish(ErrSizeMismatch)
				}
				return finish(ErrTooLarge)
			}
			s.n = k
			s.held.Add(len(queues))
			for _, q := range queues {
				q <- s
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return finish(rerr)
		}
	}
	if _, err := finish(nil); err != nil {
		return Object{}, err
	}
	if opts.SizeKnown && n != opts.Size {
		return Object{}, ErrSizeMismatch
	}
	obj := d.Object()
	obj.Size = n
	return obj, nil
}

// fill reads into p until it is full or r fails, and returns the bytes
// read and r's error as it is (io.EOF at the end; io.ReadFull would make
// a short last chunk io.ErrUnexpectedEOF, which is what a body cut short
// says).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
