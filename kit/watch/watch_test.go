package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// never is a poll interval long enough that only a wake-up can deliver.
const never = time.Hour

func openLog(t testing.TB, dsn string, opts ...watch.Option) (*sqlstore.DB, *watch.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations()); err != nil {
		t.Fatal(err)
	}
	return db, watch.New(db, opts...)
}

func appendOne(t testing.TB, db *sqlstore.DB, l *watch.Log, area, id string) int64 {
	t.Helper()
	var rev int64
	err := db.Tx(context.Background(), func(tx *sqlstore.Tx) error {
		var err error
		rev, err = l.Append(context.Background(), tx, watch.Change{
			Area: area, Kind: "thing", ID: id, Project: "p-" + area, Op: watch.Create,
			Data: json.RawMessage(fmt.Sprintf(`{"id":%q}`, id)),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestFeed(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("order and resume", func(t *testing.T) { testOrder(t, e.DSN) })
			t.Run("concurrent writers", func(t *testing.T) { testConcurrent(t, e.New(t)) })
			t.Run("compaction", func(t *testing.T) { testCompaction(t, e.New(t)) })
			t.Run("wake on commit", func(t *testing.T) { testWake(t, e.New(t)) })
			t.Run("http follow", func(t *testing.T) { testFollow(t, e.New(t)) })
		})
	}
}

func testOrder(t *testing.T, dsn string) {
	db, l := openLog(t, dsn)
	ctx := context.Background()
	areas := []string{"compute", "network", "compute", "dns", "compute", "network"}
	for i, a := range areas {
		if rev := appendOne(t, db, l, a, fmt.Sprint("r", i)); rev != int64(i+1) {
			t.Fatalf("append %d got revision %d", i, rev)
		}
	}
	b, err := l.Since(ctx, watch.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != len(areas) || b.Revision != 6 || b.More {
		t.Fatalf("all: %d changes, revision %d, more %v", len(b.Changes), b.Revision, b.More)
	}
	for i, c := range b.Changes {
		if c.Revision != int64(i+1) || c.Area != areas[i] || c.Op != watch.Create || string(c.Data) != fmt.Sprintf(`{"id":"r%d"}`, i) || c.At.IsZero() {
			t.Fatalf("change %d = %+v", i, c)
		}
	}
	// Resume from the middle, filtered by area: the batch revision is the
	// head, so the reader skips the other areas' revisions.
	b, err = l.Since(ctx, watch.Query{Area: "compute", Since: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 1 || b.Changes[0].Revision != 5 || b.Revision != 6 {
		t.Fatalf("compute since 3: %+v", b)
	}
	b, err = l.Since(ctx, watch.Query{Project: "p-network"})
	if err != nil || len(b.Changes) != 2 {
		t.Fatalf("project filter: %+v, %v", b, err)
	}
	// Limit cuts the batch and points at the last change returned.
	b, err = l.Since(ctx, watch.Query{Limit: 4})
	if err != nil || len(b.Changes) != 4 || !b.More || b.Revision != 4 {
		t.Fatalf("limit 4: %d changes, more %v, revision %d, %v", len(b.Changes), b.More, b.Revision, err)
	}
	// A zero timeout answers at once, even with nothing new.
	b, err = l.Wait(ctx, watch.Query{Since: 6}, 0)
	if err != nil || len(b.Changes) != 0 || b.Revision != 6 {
		t.Fatalf("Wait with zero timeout: %+v, %v", b, err)
	}
	_, err = l.Since(ctx, watch.Query{Since: 99})
	if fault.KindOf(err) != fault.BadRequest || fault.FieldOf(err) != "since" {
		t.Fatalf("future revision: %v", err)
	}
}

// Writers in parallel, some rolling back; a follower reading concurrently
// must see exactly the committed changes, each once, in revision order
// with no gaps.
func testConcurrent(t *testing.T, dsn string) {
	db, l := openLog(t, dsn)
	ctx := context.Background()
	const writers, perWriter = 6, 40
	var wg sync.WaitGroup
	committed := sync.Map{}
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				id := fmt.Sprintf("w%d-%d", w, i)
				rollback := i%7 == 3
				n := 1 + i%3
				err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
					for k := range n {
						if _, err := l.Append(ctx, tx, watch.Change{Area: "a", Kind: "k", ID: fmt.Sprintf("%s.%d", id, k), Op: watch.Update}); err != nil {
							return err
						}
					}
					if rollback {
						return errors.New("rollback")
					}
					return nil
				})
				if rollback {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				for k := range n {
					committed.Store(fmt.Sprintf("%s.%d", id, k), true)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var seen []watch.Change
	since := int64(0)
	for finished := false; ; {
		b, err := l.Wait(ctx, watch.Query{Since: since, Limit: 7}, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, b.Changes...)
		since = b.Revision
		if finished && len(b.Changes) == 0 {
			break
		}
		select {
		case <-done:
			finished = true
		default:
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := 0
	committed.Range(func(_, _ any) bool { want++; return true })
	if len(seen) != want {
		t.Fatalf("follower saw %d changes, %d committed", len(seen), want)
	}
	for i, c := range seen {
		if c.Revision != int64(i+1) {
			t.Fatalf("change %d has revision %d: gap or reordering", i, c.Revision)
		}
		if _, ok := committed.Load(c.ID); !ok {
			t.Fatalf("follower saw %s, which was not committed", c.ID)
		}
	}
}

func testCompaction(t *testing.T, dsn string) {
	db, l := openLog(t, dsn)
	ctx := context.Background()
	for i := range 10 {
		appendOne(t, db, l, "a", fmt.Sprint(i))
	}
	h, err := l.Compact(ctx, 5)
	if err != nil || h != 5 {
		t.Fatalf("Compact(5) = %d, %v", h, err)
	}
	_, err = l.Since(ctx, watch.Query{Since: 3})
	var ce *watch.CompactedError
	if !errors.As(err, &ce) || ce.Horizon != 5 || !errors.Is(err, fault.ErrGone) {
		t.Fatalf("since 3 after compaction: %v", err)
	}
	b, err := l.Since(ctx, watch.Query{Since: 5})
	if err != nil || len(b.Changes) != 5 || b.Changes[0].Revision != 6 {
		t.Fatalf("since 5 after compaction: %d changes, revision %d, %v", len(b.Changes), b.Revision, err)
	}
	// Compacting backwards or past the head is clamped.
	if h, err := l.Compact(ctx, 2); err != nil || h != 5 {
		t.Fatalf("Compact(2) = %d, %v", h, err)
	}
	if h, err := l.Retain(ctx, watch.Retention{MaxChanges: 3}); err != nil || h != 7 {
		t.Fatalf("Retain(MaxChanges 3) = %d, %v", h, err)
	}
	if h, err := l.Compact(ctx, 1000); err != nil || h != 10 {
		t.Fatalf("Compact(1000) = %d, %v", h, err)
	}
	// Revisions keep counting after a full compaction.
	if rev := appendOne(t, db, l, "a", "after"); rev != 11 {
		t.Fatalf("revision after compaction = %d", rev)
	}
}

// A waiter blocked with no polling must be woken by a commit: in-process
// always, and on PostgreSQL also across separate connections (another
// controller) through LISTEN/NOTIFY.
func testWake(t *testing.T, dsn string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, waiter := openLog(t, dsn, watch.WithPollInterval(never))
	db, writer := openLog(t, dsn, watch.WithPollInterval(never))
	waiterFor := map[string]*watch.Log{"same process": writer}
	if db.Dialect() == sqlstore.Postgres {
		waiterFor["other controller"] = waiter
		go waiter.Run(ctx, watch.Retention{}, 0, nil)
	}
	for name, w := range waiterFor {
		t.Run(name, func(t *testing.T) {
			head, _, err := w.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan watch.Batch, 1)
			go func() {
				b, err := w.Wait(ctx, watch.Query{Since: head}, 30*time.Second)
				if err != nil {
					t.Error(err)
				}
				got <- b
			}()
			// Keep writing until the waiter returns: the first write may
			// land before the waiter (or its LISTEN) is ready, which is fine.
			for i := 0; ; i++ {
				appendOne(t, db, writer, "a", fmt.Sprint(name, i))
				select {
				case b := <-got:
					if len(b.Changes) == 0 {
						t.Fatal("waiter timed out: no wake-up was delivered")
					}
					return
				case <-time.After(100 * time.Millisecond):
				}
				if i > 200 {
					t.Fatal("waiter never returned")
				}
			}
		})
	}
}

type recorder struct {
	mu      sync.Mutex
	applied []int64
	resyncs int
	fail    int // fail this many Apply calls first
	resync  func() int64
}

func (r *recorder) Apply(_ context.Context, c watch.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("transient")
	}
	r.applied = append(r.applied, c.Revision)
	return nil
}

func (r *recorder) Resync(context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resyncs++
	return r.resync(), nil
}

func (r *recorder) snapshot() ([]int64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.applied...), r.resyncs
}

func testFollow(t *testing.T, dsn string) {
	db, l := openLog(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(watchhttp.Handler{Log: l, Area: "compute"})
	defer srv.Close()
	for i := range 4 {
		appendOne(t, db, l, "compute", fmt.Sprint(i))
		appendOne(t, db, l, "network", fmt.Sprint(i))
	}
	// Compact past revision 0: the follower must resync first.
	if _, err := l.Compact(ctx, 4); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{fail: 2, resync: func() int64 {
		rev, err := l.Snapshot(ctx, func(*sqlstore.Tx) error { return nil })
		if err != nil {
			t.Error(err)
		}
		return rev
	}}
	client := &watchhttp.Client{URL: srv.URL + "/v1/watch"}
	stopped := make(chan error, 1)
	go func() {
		stopped <- watch.Follow(ctx, client, watch.Query{}, rec, watch.FollowOptions{PollTimeout: time.Second})
	}()
	for i := 0; ; i++ { // the resync must finish before the changes to follow
		if _, n := rec.snapshot(); n == 1 {
			break
		}
		if i > 600 {
			t.Fatal("follower never resynced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []int64{appendOne(t, db, l, "compute", "x"), appendOne(t, db, l, "compute", "y")}
	appendOne(t, db, l, "network", "z")
	want = append(want, appendOne(t, db, l, "compute", "w"))
	for i := 0; ; i++ {
		applied, resyncs := rec.snapshot()
		if len(applied) >= len(want) {
			if fmt.Sprint(applied) != fmt.Sprint(want) || resyncs != 1 {
				t.Fatalf("applied %v with %d resyncs; want %v with 1", applied, resyncs, want)
			}
			break
		}
		if i > 600 {
			t.Fatalf("follower applied only %v", applied)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v", err)
	}
	// Bad parameters are 400s naming the parameter.
	_, err := (&watchhttp.Client{URL: srv.URL + "/v1/watch?limit=0"}).Wait(context.Background(), watch.Query{Since: 0}, 0)
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("limit=0: %v", err)
	}
}

// AppendValue carries the resource as JSON, and nothing for a delete.
func TestAppendValue(t *testing.T) {
	db, l := openLog(t, "sqlite://"+filepath.Join(t.TempDir(), "w.db"))
	ctx := context.Background()
	err := db.Tx(ctx, func(tx *sqlstore.Tx) error {
		for _, op := range []watch.Op{watch.Create, watch.Delete} {
			if _, err := l.AppendValue(ctx, tx, watch.Change{Area: "a", Kind: "k", ID: "1", Op: op, Data: []byte("stale")},
				map[string]int{"n": 1}); err != nil {
				return err
			}
		}
		_, err := l.AppendValue(ctx, tx, watch.Change{Area: "a", Kind: "k", ID: "2", Op: watch.Create}, func() {})
		if err == nil {
			return errors.New("a value JSON cannot encode was appended")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Wait(ctx, watch.Query{Area: "a"}, 0)
	if err != nil || len(b.Changes) != 2 || string(b.Changes[0].Data) != `{"n":1}` || b.Changes[1].Data != nil {
		t.Fatalf("changes: %+v %v", b.Changes, err)
	}
}
