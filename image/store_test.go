package image_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T, dsn string) *image.Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		t.Fatal(err)
	}
	return image.NewStore(db, watch.New(db))
}

// Glance's state machine, edge by edge.
func TestCanTransition(t *testing.T) {
	all := []image.Status{image.Queued, image.Saving, image.Uploading, image.Importing, image.Active,
		image.Killed, image.Deleted, image.PendingDelete, image.Deactivated}
	allowed := map[[2]image.Status]bool{}
	for from, tos := range map[image.Status][]image.Status{
		image.Queued:        {image.Saving, image.Uploading, image.Importing, image.Active, image.Deleted},
		image.Saving:        {image.Active, image.Killed, image.Deleted, image.Queued},
		image.Uploading:     {image.Importing, image.Queued, image.Deleted},
		image.Importing:     {image.Active, image.Deleted, image.Queued},
		image.Active:        {image.PendingDelete, image.Deleted, image.Deactivated},
		image.Killed:        {image.Deleted},
		image.PendingDelete: {image.Deleted, image.Active},
		image.Deactivated:   {image.Active, image.Deleted},
	} {
		for _, to := range tos {
			allowed[[2]image.Status{from, to}] = true
		}
	}
	for _, from := range all {
		for _, to := range all {
			if got := image.CanTransition(from, to); got != allowed[[2]image.Status{from, to}] {
				t.Errorf("%s -> %s: %v", from, to, got)
			}
		}
	}
}

func TestStore(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("lifecycle", func(t *testing.T) { testLifecycle(t, e.DSN) })
			t.Run("visibility", func(t *testing.T) { testVisibility(t, e.New(t)) })
		})
	}
}

func testLifecycle(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	img, err := s.Create(ctx, image.Image{ID: "i1", Name: "cirros", Owner: "p1"})
	if err != nil || img.Status != image.Queued || img.Visibility != image.Shared {
		t.Fatalf("create: %+v %v", img, err)
	}
	if _, err := s.Create(ctx, image.Image{ID: "i1", Owner: "p1"}); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("duplicate id: %v", err)
	}
	// Leaving queued needs both formats.
	if _, err := s.Transition(ctx, "i1", image.Saving, nil); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("saving without formats: %v", err)
	}
	size := int64(1024)
	img, err = s.Transition(ctx, "i1", image.Saving, func(i *image.Image) { i.DiskFormat, i.ContainerFormat = "qcow2", "bare" })
	if err != nil || img.Status != image.Saving {
		t.Fatalf("to saving: %+v %v", img, err)
	}
	// An interrupted upload goes back to queued, sizes cleared.
	img, err = s.Transition(ctx, "i1", image.Queued, func(i *image.Image) { i.Size = &size })
	if err != nil || img.Size != nil {
		t.Fatalf("back to queued: %+v %v", img, err)
	}
	s.Transition(ctx, "i1", image.Saving, nil)
	img, err = s.Transition(ctx, "i1", image.Active, func(i *image.Image) { i.Size, i.Checksum = &size, "abc" })
	if err != nil || img.Status != image.Active || *img.Size != 1024 || img.Checksum != "abc" {
		t.Fatalf("to active: %+v %v", img, err)
	}
	if _, err := s.Transition(ctx, "i1", image.Saving, nil); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("active -> saving: %v", err)
	}
	// Compare-and-swap: of many concurrent deactivations exactly one wins.
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(ctx, withStatus(img, image.Deactivated), image.Active); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if fault.KindOf(err) != fault.Conflict {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent compare-and-swaps won, want 1", wins)
	}
	img, _ = s.Get(ctx, "i1")
	img.Protected = true
	s.Update(ctx, img, image.Deactivated)
	if _, err := s.Delete(ctx, "i1"); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("delete protected: %v", err)
	}
	img.Protected = false
	s.Update(ctx, img, image.Deactivated)
	if img, err := s.Delete(ctx, "i1"); err != nil || img.Status != image.Deleted {
		t.Fatalf("delete: %+v %v", img, err)
	}
	if _, err := s.Delete(ctx, "i1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func withStatus(img image.Image, st image.Status) image.Image {
	img.Status = st
	return img
}

func testVisibility(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	for _, img := range []image.Image{
		{ID: "own", Owner: "a", Visibility: image.Private},
		{ID: "pub", Owner: "b", Visibility: image.Public},
		{ID: "priv", Owner: "b", Visibility: image.Private},
		{ID: "comm", Owner: "b", Visibility: image.Community},
		{ID: "shr", Owner: "b", Visibility: image.Shared},
		{ID: "shr2", Owner: "b", Visibility: image.Shared},
		{ID: "hid", Owner: "a", Visibility: image.Private, Hidden: true},
	} {
		if _, err := s.Create(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	shr, _ := s.Get(ctx, "shr")
	shr2, _ := s.Get(ctx, "shr2")
	if _, err := s.AddMember(ctx, shr, "a"); err != nil {
		t.Fatal(err)
	}
	s.AddMember(ctx, shr2, "a")
	if _, err := s.SetMemberStatus(ctx, "shr", "a", image.MemberAccepted); err != nil {
		t.Fatal(err)
	}
	priv, _ := s.Get(ctx, "priv")
	if _, err := s.AddMember(ctx, priv, "a"); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("member on a private image: %v", err)
	}
	ids := func(v image.Viewer, f image.Filter) []string {
		imgs, _, err := s.List(ctx, v, f, image.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range imgs {
			out = append(out, i.ID)
		}
		slices.Sort(out)
		return out
	}
	a := image.Viewer{Project: "a"}
	cases := []struct {
		name string
		v    image.Viewer
		f    image.Filter
		want []string
	}{
		{"default list: own, public, accepted shared", a, image.Filter{}, []string{"own", "pub", "shr"}},
		{"community only on request", a, image.Filter{Visibility: image.Community}, []string{"comm"}},
		{"pending shared on request", a, image.Filter{MemberStatus: image.MemberPending}, []string{"own", "pub", "shr2"}},
		{"hidden on request", a, image.Filter{Hidden: true}, []string{"hid", "own", "pub", "shr"}},
		{"a stranger", image.Viewer{Project: "c"}, image.Filter{}, []string{"pub"}},
		{"admin: community only on request, as in Glance", image.Viewer{Admin: true}, image.Filter{}, []string{"own", "priv", "pub", "shr", "shr2"}},
		{"admin, every kind", image.Viewer{Admin: true}, image.Filter{Visibility: "all"}, []string{"comm", "own", "priv", "pub", "shr", "shr2"}},
	}
	for _, c := range cases {
		if got := ids(c.v, c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for id, want := range map[string]bool{"priv": false, "comm": true, "shr2": true, "own": true} {
		img, _ := s.Get(ctx, id)
		if got, err := s.CanSee(ctx, img, a); err != nil || got != want {
			t.Errorf("CanSee(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
}
