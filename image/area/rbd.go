package area

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/rbdstore"
	"github.com/gostack/gostack/kit/fault"
)

// rbdConnectTimeout bounds one attempt to connect to the images'
// cluster; rbdRetry is the wait between attempts.
const (
	rbdConnectTimeout = 30 * time.Second
	rbdRetry          = 5 * time.Second
)

// rbdData is the image data store on RBD while the area connects to the
// cluster in the background: until it is connected every call is a 503
// (errRBDUnavailable), as the image API answers when its store cannot
// be reached; then the rbdstore.Store's. Safe for concurrent use.
type rbdData struct {
	mu     sync.RWMutex
	s      *rbdstore.Store
	closed bool
}

var (
	_ store.Store   = (*rbdData)(nil)
	_ store.Lister  = (*rbdData)(nil)
	_ store.Locator = (*rbdData)(nil)
	_ store.Holder  = (*rbdData)(nil)
)

// errRBDUnavailable is every call's error while the cluster has not been
// reached.
var errRBDUnavailable = fault.New(fault.Unavailable,
	"The image store is not available: the Ceph cluster holding image data has not been reached yet. Try again later.")

// store is the connected store, or errRBDUnavailable.
func (d *rbdData) store() (*rbdstore.Store, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.s == nil {
		return nil, errRBDUnavailable
	}
	return d.s, nil
}

// connected reports whether the cluster has been reached.
func (d *rbdData) connected() bool {
	_, err := d.store()
	return err == nil
}

// set makes s the store; false, and s closed, once close was called.
func (d *rbdData) set(s *rbdstore.Store) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		s.Close()
		return false
	}
	d.s = s
	return true
}

// close ends the connection, if made, and any later set's.
func (d *rbdData) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.s != nil {
		d.s.Close()
		d.s = nil
	}
}

func (d *rbdData) Put(ctx context.Context, id string, r io.Reader, opts store.PutOptions) (store.Object, error) {
	s, err := d.store()
	if err != nil {
		return store.Object{}, err
	}
	return s.Put(ctx, id, r, opts)
}

func (d *rbdData) Get(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	s, err := d.store()
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id, offset, length)
}

func (d *rbdData) Stat(ctx context.Context, id string) (int64, error) {
	s, err := d.store()
	if err != nil {
		return 0, err
	}
	return s.Stat(ctx, id)
}

func (d *rbdData) Delete(ctx context.Context, id string) error {
	s, err := d.store()
	if err != nil {
		return err
	}
	return s.Delete(ctx, id)
}

func (d *rbdData) List(ctx context.Context) ([]string, error) {
	s, err := d.store()
	if err != nil {
		return nil, err
	}
	return s.List(ctx)
}

func (d *rbdData) InUse(ctx context.Context, id string) error {
	s, err := d.store()
	if err != nil {
		return err
	}
	return s.InUse(ctx, id)
}

// URL is image id's rbd:// location; "" while the cluster (and so its
// fsid) is unknown.
func (d *rbdData) URL(id string) string {
	s, err := d.store()
	if err != nil {
		return ""
	}
	return s.URL(id)
}

// connectRBD connects to the images pool, trying again every rbdRetry
// while it cannot (each failure logged, without secrets: the errors name
// the configuration file, the user and the pool), until ctx ends. Once
// connected it removes the uploads a crash left (rbdstore's Clean) and
// the data no image owns (svc.SweepData), then gives d the store: writes
// are refused until then, so the sweep never meets an upload.
func connectRBD(ctx context.Context, log *slog.Logger, r RBD, d *rbdData, svc *image.Service) {
	cfg := rbdstore.Config{ConfFile: r.CephConf, User: r.User, Keyring: r.Keyring, Pool: r.Pool,
		ChunkSizeMB: r.ChunkSize, ConnectTimeout: rbdConnectTimeout}
	for attempt := 1; ; attempt++ {
		rs, err := openRBD(ctx, cfg, svc)
		if err == nil {
			if d.set(rs) {
				log.Info("image data in RBD: connected to the Ceph cluster", "pool", rs.Pool(), "fsid", rs.FSID(), "attempts", attempt)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn(fmt.Sprintf("image data in RBD: the images pool cannot be reached (err says why); uploads and downloads answer 503 until it is; trying again in %s", rbdRetry),
			"conf", r.CephConf, "pool", r.Pool, "user", r.User, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(rbdRetry):
		}
	}
}

// openRBD makes one attempt: connect, clean, sweep.
func openRBD(ctx context.Context, cfg rbdstore.Config, svc *image.Service) (*rbdstore.Store, error) {
	c, cancel := context.WithTimeout(ctx, rbdConnectTimeout)
	defer cancel()
	rs, err := rbdstore.Open(c, cfg)
	if err != nil {
		return nil, err
	}
	if err := rs.Clean(ctx); err != nil {
		rs.Close()
		return nil, err
	}
	if err := svc.SweepData(ctx, rs); err != nil {
		rs.Close()
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return rs, nil
}
