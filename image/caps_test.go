package image_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// props are n extra properties p000, p001...
func props(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("p%03d", i)] = "v"
	}
	return m
}

// tags are n tags t000, t001...
func tags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%03d", i)
	}
	return out
}

// wantCap checks that err is the CapError Glance raises for what.
func wantCap(t *testing.T, err error, what string, attempted, maximum int) {
	t.Helper()
	var ce *image.CapError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CapError on %s", err, what)
	}
	if *ce != (image.CapError{What: what, Attempted: attempted, Maximum: maximum}) {
		t.Fatalf("CapError = %+v, want %s attempted %d maximum %d", *ce, what, attempted, maximum)
	}
	if fault.KindOf(err) != fault.TooLarge {
		t.Fatalf("kind = %v, want too large", fault.KindOf(err))
	}
}

// Glance's per-image caps and column sizes, enforced by the store on
// both engines.
func TestCaps(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("create", func(t *testing.T) { testCapsCreate(t, e.New(t)) })
			t.Run("update", func(t *testing.T) { testCapsUpdate(t, e.New(t)) })
			t.Run("lowered", func(t *testing.T) { testCapsLowered(t, e.New(t)) })
			t.Run("members", func(t *testing.T) { testCapsMembers(t, e.New(t)) })
			t.Run("configured", func(t *testing.T) { testCapsConfigured(t, e.New(t)) })
			t.Run("lengths", func(t *testing.T) { testLengths(t, e.New(t)) })
		})
	}
}

// Create: at the cap is stored, one over is a CapError and nothing is
// stored; tags are checked before properties, as Glance's image factory
// runs before its repository.
func testCapsCreate(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	withGlance := props(128)
	withGlance["os_glance_import_task"] = "x" // Glance's own keys do not count
	tests := []struct {
		name      string
		img       image.Image
		what      string // "" when the image is stored
		attempted int
	}{
		{"properties at the cap", image.Image{Properties: props(128)}, "", 0},
		{"properties over", image.Image{Properties: props(129)}, "properties", 129},
		{"os_glance keys not counted", image.Image{Properties: withGlance}, "", 0},
		{"tags at the cap", image.Image{Tags: tags(128)}, "", 0},
		{"tags over", image.Image{Tags: tags(129)}, "tags", 129},
		{"tags before properties", image.Image{Tags: tags(130), Properties: props(131)}, "tags", 130},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.img.ID, tt.img.Owner = fmt.Sprintf("create-%d", i), "p1"
			got, err := s.Create(ctx, tt.img)
			if tt.what == "" {
				if err != nil {
					t.Fatal(err)
				}
				stored, err := s.Get(ctx, tt.img.ID)
				if err != nil || !maps.Equal(stored.Properties, got.Properties) || len(stored.Tags) != len(tt.img.Tags) {
					t.Fatalf("stored %+v, %v", stored, err)
				}
				return
			}
			wantCap(t, err, tt.what, tt.attempted, 128)
			if _, err := s.Get(ctx, tt.img.ID); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("refused image stored: %v", err)
			}
		})
	}
}

// Update: a change that adds a property or a tag over the cap is
// refused and leaves the record as it was; at the cap it passes.
func testCapsUpdate(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	tests := []struct {
		name      string
		start     image.Image
		change    func(*image.Image)
		what      string
		attempted int
	}{
		{"the 128th property", image.Image{Properties: props(127)}, func(i *image.Image) { i.Properties["new"] = "v" }, "", 0},
		{"the 129th property", image.Image{Properties: props(128)}, func(i *image.Image) { i.Properties["new"] = "v" }, "properties", 129},
		{"two over at once", image.Image{Properties: props(127)}, func(i *image.Image) { i.Properties["a"], i.Properties["b"] = "v", "v" }, "properties", 129},
		{"a new value at the cap", image.Image{Properties: props(128)}, func(i *image.Image) { i.Properties["p000"] = "w" }, "", 0},
		{"one out, one in at the cap", image.Image{Properties: props(128)}, func(i *image.Image) {
			delete(i.Properties, "p000")
			i.Properties["new"] = "v"
		}, "", 0},
		{"the 128th tag", image.Image{Tags: tags(127)}, func(i *image.Image) { i.Tags = append(i.Tags, "new") }, "", 0},
		{"the 129th tag", image.Image{Tags: tags(128)}, func(i *image.Image) { i.Tags = append(i.Tags, "new") }, "tags", 129},
		{"other attributes at the cap", image.Image{Tags: tags(128), Properties: props(128)}, func(i *image.Image) { i.Name, i.MinRAM = "renamed", 512 }, "", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.start.ID, tt.start.Owner = fmt.Sprintf("update-%d", i), "p1"
			before, err := s.Create(ctx, tt.start)
			if err != nil {
				t.Fatal(err)
			}
			img := before
			img.Properties, img.Tags = maps.Clone(before.Properties), append([]string(nil), before.Tags...)
			tt.change(&img)
			_, err = s.Update(ctx, img, image.Queued)
			after, gerr := s.Get(ctx, img.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.what == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(after.Properties, img.Properties) || !slices.Equal(after.Tags, img.Tags) || after.Name != img.Name {
					t.Fatalf("stored %+v, want %+v", after, img)
				}
				return
			}
			wantCap(t, err, tt.what, tt.attempted, 128)
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("refused update changed the image:\n%+v\n%+v", before, after)
			}
		})
	}
}

// An image over caps lowered since it was written still moves through
// its statuses and may lose properties or tags; it may not gain any.
func testCapsLowered(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	img, err := s.Create(ctx, image.Image{ID: "big", Owner: "p1", DiskFormat: "raw", ContainerFormat: "bare",
		Properties: props(5), Tags: tags(5)})
	if err != nil {
		t.Fatal(err)
	}
	s.Caps = image.Caps{Properties: 2, Tags: 2, Members: 2}
	if img, err = s.Transition(ctx, "big", image.Saving, nil); err != nil {
		t.Fatalf("transition of an image over lowered caps: %v", err)
	}
	img.Name = "renamed"
	if img, err = s.Update(ctx, img, image.Saving); err != nil {
		t.Fatalf("rename: %v", err)
	}
	delete(img.Properties, "p000")
	img.Tags = img.Tags[1:]
	if img, err = s.Update(ctx, img, image.Saving); err != nil {
		t.Fatalf("remove one of each: %v", err)
	}
	grown := img
	grown.Properties = maps.Clone(img.Properties)
	grown.Properties["new"] = "v"
	_, err = s.Update(ctx, grown, image.Saving)
	wantCap(t, err, "properties", 5, 2)
	grown = img
	grown.Tags = append(append([]string(nil), img.Tags[1:]...), "new") // one out, one in: still a gain
	_, err = s.Update(ctx, grown, image.Saving)
	wantCap(t, err, "tags", 4, 2)
	if stored, _ := s.Get(ctx, "big"); !reflect.DeepEqual(stored, img) {
		t.Fatalf("refused updates changed the image:\n%+v\n%+v", img, stored)
	}
}

// Members: the 128th is added, the 129th refused; concurrent adds never
// take an image past its cap.
func testCapsMembers(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	img, err := s.Create(ctx, image.Image{ID: "shared", Owner: "p1", Visibility: image.Shared})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 128 {
		if _, err := s.AddMember(ctx, img, fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
	}
	_, err = s.AddMember(ctx, img, "one-more")
	wantCap(t, err, "members", 129, 128)
	if ms, _ := s.Members(ctx, img.ID); len(ms) != 128 {
		t.Fatalf("%d members", len(ms))
	}

	s.Caps.Members = 4
	race, err := s.Create(ctx, image.Image{ID: "race", Owner: "p1", Visibility: image.Shared})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AddMember(ctx, race, fmt.Sprintf("r%02d", i)); err != nil && fault.KindOf(err) != fault.TooLarge {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ms, _ := s.Members(ctx, race.ID); len(ms) != 4 {
		t.Fatalf("%d members after concurrent adds, cap 4", len(ms))
	}
}

// Caps other than the defaults: lower ones, none (0) and unlimited (-1).
func testCapsConfigured(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	tests := []struct {
		name      string
		caps      image.Caps
		img       image.Image
		members   int
		what      string
		attempted int
	}{
		{"lower, at the cap", image.Caps{Properties: 2, Tags: 3, Members: 1}, image.Image{Properties: props(2), Tags: tags(3)}, 1, "", 0},
		{"lower, properties over", image.Caps{Properties: 2, Tags: 3, Members: 1}, image.Image{Properties: props(3)}, 0, "properties", 3},
		{"lower, tags over", image.Caps{Properties: 2, Tags: 3, Members: 1}, image.Image{Tags: tags(4)}, 0, "tags", 4},
		{"lower, members over", image.Caps{Properties: 2, Tags: 3, Members: 1}, image.Image{}, 2, "members", 2},
		{"none allowed, none given", image.Caps{}, image.Image{}, 0, "", 0},
		{"none allowed, a property", image.Caps{}, image.Image{Properties: props(1)}, 0, "properties", 1},
		{"none allowed, a tag", image.Caps{}, image.Image{Tags: tags(1)}, 0, "tags", 1},
		{"none allowed, a member", image.Caps{}, image.Image{}, 1, "members", 1},
		{"unlimited", image.Caps{Properties: -1, Tags: -1, Members: -1}, image.Image{Properties: props(300), Tags: tags(300)}, 130, "", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Caps = tt.caps
			tt.img.ID, tt.img.Owner, tt.img.Visibility = fmt.Sprintf("conf-%d", i), "p1", image.Shared
			img, err := s.Create(ctx, tt.img)
			for m := 0; err == nil && m < tt.members; m++ {
				_, err = s.AddMember(ctx, img, fmt.Sprintf("m%03d", m))
			}
			if tt.what == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			max := map[string]int{"properties": tt.caps.Properties, "tags": tt.caps.Tags, "members": tt.caps.Members}[tt.what]
			wantCap(t, err, tt.what, tt.attempted, max)
			if ms, _ := s.Members(ctx, tt.img.ID); tt.what == "members" && len(ms) != tt.members-1 {
				t.Fatalf("%d members stored", len(ms))
			}
		})
	}
}

// Glance's column sizes hold for every write, whoever calls the store.
func testLengths(t *testing.T, dsn string) {
	s := newStore(t, dsn)
	ctx := context.Background()
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		img  image.Image
		ok   bool
	}{
		{"name of 255", image.Image{Name: long[:255]}, true},
		{"name of 256", image.Image{Name: long}, false},
		{"tag of 255", image.Image{Tags: []string{long[:255]}}, true},
		{"tag of 256", image.Image{Tags: []string{long}}, false},
		{"empty tag", image.Image{Tags: []string{""}}, false},
		{"key of 255", image.Image{Properties: map[string]string{long[:255]: "v"}}, true},
		{"key of 256", image.Image{Properties: map[string]string{long: "v"}}, false},
		{"empty key", image.Image{Properties: map[string]string{"": "v"}}, false},
		{"value of 65535", image.Image{Properties: map[string]string{"k": strings.Repeat("v", 65535)}}, true},
		{"value of 65536", image.Image{Properties: map[string]string{"k": strings.Repeat("v", 65536)}}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.img.ID, tt.img.Owner = fmt.Sprintf("len-%d", i), "p1"
			_, err := s.Create(ctx, tt.img)
			if tt.ok != (err == nil) || (err != nil && fault.KindOf(err) != fault.BadRequest) {
				t.Fatalf("create: %v", err)
			}
			ok, err := s.Create(ctx, image.Image{ID: fmt.Sprintf("len-%d-update", i), Owner: "p1"})
			if err != nil {
				t.Fatal(err)
			}
			ok.Name, ok.Tags, ok.Properties = tt.img.Name, tt.img.Tags, tt.img.Properties
			if ok.Properties == nil {
				ok.Properties = map[string]string{}
			}
			if ok.Tags == nil {
				ok.Tags = []string{}
			}
			_, err = s.Update(ctx, ok, image.Queued)
			if tt.ok != (err == nil) || (err != nil && fault.KindOf(err) != fault.BadRequest) {
				t.Fatalf("update: %v", err)
			}
		})
	}
	shared, err := s.Create(ctx, image.Image{ID: "len-members", Owner: "p1", Visibility: image.Shared})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, shared, long); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("member id of 256: %v", err)
	}
	if _, err := s.AddMember(ctx, shared, ""); fault.KindOf(err) != fault.BadRequest {
		t.Fatalf("empty member id: %v", err)
	}
	if ms, _ := s.Members(ctx, shared.ID); len(ms) != 0 {
		t.Fatalf("refused members stored: %v", ms)
	}
}
