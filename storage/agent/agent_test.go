package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/agent"
	"github.com/gostack/gostack/storage/api/cinder"
)

const serviceToken = "token-volume-agent"

// fakeBackend keeps volumes in a map; its operations fail on demand.
type fakeBackend struct {
	mu      sync.Mutex
	vols    map[string]int64 // id → GiB
	failing map[string]error // "create", "extend", "delete"
	lost    bool
	synced  int
	wanted  []string // the volumes the last Reconcile was given
	tries   int      // Create calls
	from    map[string]agent.Source
	snaps   map[string]string // snapshot id → its volume's id
	order   []string          // "snapshot-deleted <id>", "deleted <id>"
	// locSuffix is added to the exports' provider_location.
	locSuffix string
	claims    map[string]string // volume id → the claim its copy was made with
}

var (
	errPermanent = errors.New("refused for good")
	errLeftover  = errors.New("a leftover of earlier work is held")
)

func (f *fakeBackend) Permanent(err error) bool { return errors.Is(err, errPermanent) }

func (f *fakeBackend) Waiting(err error) bool { return errors.Is(err, errLeftover) }

func (f *fakeBackend) fail(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing[op]
}

func (f *fakeBackend) Create(_ context.Context, v storage.Volume, src agent.Source) (agent.Export, error) {
	f.mu.Lock()
	f.tries++
	f.mu.Unlock()
	if err := f.fail("create"); err != nil {
		return agent.Export{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.from == nil {
		f.from = map[string]agent.Source{}
	}
	if src.SnapshotID != "" && f.snaps[src.SnapshotID] == "" || src.VolumeID != "" && f.vols[src.VolumeID] == 0 {
		return agent.Export{}, fmt.Errorf("%w: no source %+v", errPermanent, src)
	}
	f.from[v.ID] = src
	f.vols[v.ID] = v.Size
	return agent.Export{Location: "fake:" + v.ID + f.locSuffix, Auth: "CHAP u-" + v.ID[:8] + " secret"}, nil
}

func (f *fakeBackend) CreateClaimed(ctx context.Context, v storage.Volume, claim string) (agent.Export, error) {
	f.mu.Lock()
	if _, ok := f.vols[v.ID]; ok && f.claims[v.ID] != claim {
		f.mu.Unlock()
		return agent.Export{}, fmt.Errorf("%w: volume %s is there and is not claim %s's", errPermanent, v.ID, claim)
	}
	f.mu.Unlock()
	exp, err := f.Create(ctx, v, agent.Source{})
	if err == nil {
		f.mu.Lock()
		if f.claims == nil {
			f.claims = map[string]string{}
		}
		f.claims[v.ID] = claim
		f.mu.Unlock()
	}
	return exp, err
}

func (f *fakeBackend) Claimed(_ context.Context, id, claim string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.vols[id]
	return ok && claim != "" && f.claims[id] == claim, nil
}

func (f *fakeBackend) Extend(_ context.Context, v storage.Volume, size int64) (agent.Export, error) {
	if err := f.fail("extend"); err != nil {
		return agent.Export{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vols[v.ID] = size
	return agent.Export{Location: "fake:" + v.ID, Auth: v.ProviderAuth}, nil
}

func (f *fakeBackend) Delete(_ context.Context, id string) error {
	if err := f.fail("delete"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for n, vol := range f.snaps {
		if vol == id {
			return fmt.Errorf("%w: volume %s has snapshot %s", errPermanent, id, n)
		}
	}
	delete(f.vols, id)
	delete(f.claims, id)
	f.order = append(f.order, "deleted "+id)
	return nil
}

func (f *fakeBackend) Content(_ context.Context, v storage.Volume) (string, func(), error) {
	return "", nil, fmt.Errorf("%w: the fake backend keeps no content", errPermanent)
}

func (f *fakeBackend) CreateSnapshot(_ context.Context, n storage.Snapshot) error {
	if err := f.fail("snapshot"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vols[n.VolumeID] == 0 {
		return fmt.Errorf("%w: no volume %s", errPermanent, n.VolumeID)
	}
	if f.snaps == nil {
		f.snaps = map[string]string{}
	}
	f.snaps[n.ID] = n.VolumeID
	return nil
}

func (f *fakeBackend) DeleteSnapshot(_ context.Context, n storage.Snapshot) error {
	id := n.ID
	if err := f.fail("delete-snapshot"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.snaps, id)
	f.order = append(f.order, "snapshot-deleted "+id)
	return nil
}

func (f *fakeBackend) Reconcile(_ context.Context, vols []storage.Volume) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced++
	f.wanted = nil
	for _, v := range vols {
		f.wanted = append(f.wanted, v.ID)
	}
	f.lost = false
	return nil
}

func (f *fakeBackend) ExportsLost(context.Context) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

func (f *fakeBackend) Capacity(context.Context) (storage.BackendReport, error) {
	return storage.BackendReport{TotalCapacityGB: storage.GB(100), FreeCapacityGB: storage.GB(100), ThinProvisioningSupport: true}, nil
}

// controller is the volume API (internal routes) and the feed over a
// store, and a token endpoint for the agent's service user.
func controller(t *testing.T) (*storage.Store, string) { return controllerWith(t, nil) }

// controllerWith is controller with an image service.
func controllerWith(t *testing.T, images storage.Images) (*storage.Store, string) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), storage.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db, watch.WithPollInterval(50*time.Millisecond))
	store := storage.NewStore(db, feed)
	mw := &middleware.Middleware{Validator: middlewaretest.Tokens{serviceToken: middlewaretest.Caller("volume-agent", "service", "service")},
		Style: httpapi.Cinder, Optional: true}
	mux := http.NewServeMux()
	mux.Handle("/", mw.Wrap((&cinder.API{Store: store, Images: images}).Handler()))
	mux.Handle("/v1/watch/volume", mw.Wrap(watchhttp.Handler{Log: feed, Area: storage.FeedArea}))
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Subject-Token", serviceToken)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return store, srv.URL
}

// The agent's part of a volume's life, with a stand-in backend: the
// capacity report makes the pool, a create is made and reported
// available with its export, an extend grows it, a backend failure is
// the volume's error with the backend's words, a delete removes it, and
// lost exports are exported again at once.
func TestVolumeAgent(t *testing.T) {
	store, url := controller(t)
	b := &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}
	a := &agent.Agent{Config: agent.Config{Host: "node1@fake#fake", BackendName: "fake", SyncInterval: 100 * time.Millisecond,
		ProbeInterval: 20 * time.Millisecond, LeftoverWait: 3 * time.Second},
		Backend: b, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	user := storage.Viewer{Project: "proj"}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	wait("a pool", func() bool { bs, _ := store.Backends(context.Background()); return len(bs) == 1 })
	status := func(id string) storage.Volume {
		v, err := store.Volume(context.Background(), storage.Viewer{Admin: true}, id)
		if err != nil {
			return storage.Volume{}
		}
		return v
	}
	ctxb := context.Background()
	v, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil || v.Host != "node1@fake#fake" {
		t.Fatalf("create: %+v %v", v, err)
	}
	wait("available", func() bool { return status(v.ID).Status == storage.VolumeAvailable })
	if got := status(v.ID); got.ProviderLocation != "fake:"+v.ID || !strings.HasPrefix(got.ProviderAuth, "CHAP ") {
		t.Fatalf("the export: %+v", got)
	}
	if _, err := store.ExtendVolume(ctxb, user, v.ID, 3); err != nil {
		t.Fatal(err)
	}
	wait("extended", func() bool { s := status(v.ID); return s.Status == storage.VolumeAvailable && s.Size == 3 })
	// An admin's reset of the volume's status keeps its export (a guest
	// may use it).
	if _, err := store.ResetStatus(ctxb, storage.Viewer{Admin: true}, v.ID, storage.StatusReset{Status: storage.VolumeError}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.synced = 0
	b.mu.Unlock()
	wait("a sync after the reset", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.synced > 1 })
	b.mu.Lock()
	kept := slices.Contains(b.wanted, v.ID)
	b.mu.Unlock()
	if !kept {
		t.Fatal("a reset to error took the volume's export away")
	}
	if _, err := store.ResetStatus(ctxb, storage.Viewer{Admin: true}, v.ID, storage.StatusReset{Status: storage.VolumeAvailable}); err != nil {
		t.Fatal(err)
	}
	// A failure that may pass is tried again, not reported.
	b.mu.Lock()
	b.failing["create"] = errors.New("tgtadm: connection refused")
	tries := b.tries
	b.mu.Unlock()
	retried, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("a failed try", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.tries > tries })
	b.mu.Lock()
	delete(b.failing, "create")
	b.mu.Unlock()
	wait("the retried create available", func() bool { return status(retried.ID).Status == storage.VolumeAvailable })

	b.mu.Lock()
	size := b.vols[v.ID]
	b.failing["create"] = fmt.Errorf("%w: no space left on the pool's disk", errPermanent)
	b.mu.Unlock()
	if size != 3 {
		t.Fatalf("the backend's volume: %d GiB", size)
	}
	bad, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("in error", func() bool { return status(bad.ID).Status == storage.VolumeError })
	if m := status(bad.ID).Message; !strings.Contains(m, "no space left") {
		t.Fatalf("the failed create's message: %q", m)
	}
	// A report the controller refuses as bad (a provider_location past
	// its 256 characters) is final: the volume in error saying why, the
	// work not done again at every sync.
	b.mu.Lock()
	delete(b.failing, "create")
	b.locSuffix = strings.Repeat("x", 300)
	tries = b.tries
	b.mu.Unlock()
	refused, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("the refused report's volume in error", func() bool { return status(refused.ID).Status == storage.VolumeError })
	b.mu.Lock()
	b.locSuffix = ""
	if b.tries != tries+1 {
		t.Errorf("the work was done %d times", b.tries-tries)
	}
	b.mu.Unlock()
	if m := status(refused.ID).Message; !strings.Contains(m, "provider_location has more than 256 characters") {
		t.Errorf("the refused report's message: %q", m)
	}
	// A leftover of earlier work in the way (a Waiter's) is not counted
	// toward the three attempts for LeftoverWait; then it is.
	b.mu.Lock()
	b.failing["create"] = fmt.Errorf("%w: the dead agent's copy", errLeftover)
	tries = b.tries
	b.mu.Unlock()
	start := time.Now()
	waiting, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	wait("five tries", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.tries >= tries+5 })
	if got := status(waiting.ID); got.Status != storage.VolumeCreating && time.Since(start) < 3*time.Second {
		t.Fatalf("the volume waiting for a leftover after %s: %s %q", time.Since(start), got.Status, got.Message)
	}
	wait("the waiting volume in error after LeftoverWait", func() bool { return status(waiting.ID).Status == storage.VolumeError })
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("in error after %s, within LeftoverWait", took)
	}
	b.mu.Lock()
	delete(b.failing, "create")
	b.mu.Unlock()

	// Lost exports: synced again at once, not after SyncInterval.
	b.mu.Lock()
	before := b.synced
	b.lost = true
	b.mu.Unlock()
	wait("a sync after the exports were lost", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.synced > before })

	if _, err := store.DeleteVolume(ctxb, user, v.ID, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("deleted", func() bool { _, err := store.Volume(ctxb, storage.Viewer{Admin: true}, v.ID); return err != nil })
	b.mu.Lock()
	_, left := b.vols[v.ID]
	b.mu.Unlock()
	if left {
		t.Fatal("the backend still has the deleted volume")
	}
}

// Snapshots through the agent: a snapshot is made and reported
// available; a volume made from it, and a clone of a volume, are made
// by the backend from their sources; a failed snapshot is in error with
// the backend's words; a cascading delete removes the snapshots before
// their volume.
func TestVolumeAgentSnapshots(t *testing.T) {
	store, url := controller(t)
	b := &fakeBackend{vols: map[string]int64{}, failing: map[string]error{}}
	a := &agent.Agent{Config: agent.Config{Host: "node1@fake#fake", BackendName: "fake", SyncInterval: 100 * time.Millisecond},
		Backend: b, Session: kitagent.NewSession(kitagent.Credentials{AuthURL: url + "/v3", Username: "volume-agent", Password: "x"}),
		VolumeURL: url, FeedURL: url + "/v1/watch/volume"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ctxb, user, admin := context.Background(), storage.Viewer{Project: "proj"}, storage.Viewer{Admin: true}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("not %s after 10 s", what)
			}
		}
	}
	vol := func(id string) storage.Volume { v, _ := store.Volume(ctxb, admin, id); return v }
	snap := func(id string) storage.Snapshot { n, _ := store.Snapshot(ctxb, admin, id); return n }
	wait("a pool", func() bool { bs, _ := store.Backends(ctxb); return len(bs) == 1 })
	v, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	wait("available", func() bool { return vol(v.ID).Status == storage.VolumeAvailable })
	n, err := store.CreateSnapshot(ctxb, user, storage.SnapshotCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the snapshot available", func() bool { return snap(n.ID).Status == storage.SnapshotAvailable })
	if got := snap(n.ID); got.Progress != "100%" || got.VolumeSize != 2 {
		t.Errorf("the snapshot: %+v", got)
	}
	fromSnap, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", Size: 3, SnapshotID: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	clone, err := store.CreateVolume(ctxb, user, storage.VolumeCreate{UserID: "u", SourceVolID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	wait("both available", func() bool {
		return vol(fromSnap.ID).Status == storage.VolumeAvailable && vol(clone.ID).Status == storage.VolumeAvailable
	})
	b.mu.Lock()
	gotSnap, gotClone := b.from[fromSnap.ID], b.from[clone.ID]
	b.mu.Unlock()
	if gotSnap != (agent.Source{SnapshotID: n.ID, SnapshotOf: v.ID, Size: 2}) || gotClone != (agent.Source{VolumeID: v.ID, Size: 2}) {
		t.Errorf("sources: from the snapshot %+v, the clone %+v", gotSnap, gotClone)
	}
	b.mu.Lock()
	b.failing["snapshot"] = fmt.Errorf("%w: the pool's disk is full", errPermanent)
	b.mu.Unlock()
	bad, err := store.CreateSnapshot(ctxb, user, storage.SnapshotCreate{VolumeID: v.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the failed snapshot in error", func() bool { return snap(bad.ID).Status == storage.SnapshotError })
	if m := snap(bad.ID).Message; !strings.Contains(m, "disk is full") {
		t.Errorf("the failed snapshot's message: %q", m)
	}
	b.mu.Lock()
	delete(b.failing, "snapshot")
	b.mu.Unlock()
	if _, err := store.DeleteVolume(ctxb, user, v.ID, storage.DeleteOptions{}); err == nil {
		t.Fatal("a volume with snapshots was deleted without cascade")
	}
	if _, err := store.DeleteVolume(ctxb, user, v.ID, storage.DeleteOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}
	wait("the volume deleted", func() bool { _, err := store.Volume(ctxb, admin, v.ID); return err != nil })
	for _, id := range []string{n.ID, bad.ID} {
		if _, err := store.Snapshot(ctxb, admin, id); err == nil {
			t.Errorf("snapshot %s is left after its volume's cascading delete", id)
		}
	}
	b.mu.Lock()
	order := slices.Clone(b.order)
	b.mu.Unlock()
	if len(order) != 3 || order[2] != "deleted "+v.ID {
		t.Errorf("the backend's removals: %q, want both snapshots, then the volume", order)
	}
	if vol(fromSnap.ID).Status != storage.VolumeAvailable || vol(clone.ID).Status != storage.VolumeAvailable {
		t.Error("the volumes made from the deleted volume and its snapshot went with it")
	}
	// A cascade whose snapshot cannot be removed: the snapshot in
	// error_deleting, and the volume's delete failed too (error_deleting,
	// saying why), not deleting for ever.
	n2, err := store.CreateSnapshot(ctxb, user, storage.SnapshotCreate{VolumeID: clone.ID, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	wait("the clone's snapshot available", func() bool { return snap(n2.ID).Status == storage.SnapshotAvailable })
	b.mu.Lock()
	b.failing["delete-snapshot"] = fmt.Errorf("%w: permission denied", errPermanent)
	b.mu.Unlock()
	if _, err := store.DeleteVolume(ctxb, user, clone.ID, storage.DeleteOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}
	wait("the volume's delete failed", func() bool { return vol(clone.ID).Status == storage.VolumeErrorDeleting })
	if s, m := snap(n2.ID).Status, vol(clone.ID).Message; s != storage.SnapshotErrorDeleting || !strings.Contains(m, "snapshot "+n2.ID) {
		t.Errorf("after the failed cascade: snapshot %s, volume's message %q", s, m)
	}
}
