package image_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// listFixture is a random catalog of images written straight into the
// table, so that every column takes values the API could not set at
// will: NULL sizes, shared created_at times, deleted and hidden images,
// members in every status.
type listFixture struct {
	s       *image.Store
	images  []image.Image
	members map[string]map[string]string // image -> project -> status
}

var listProjects = []string{"pa", "pb", "pc"}

func newListFixture(t *testing.T, dsn string, n int) *listFixture {
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
	x := &listFixture{s: image.NewStore(db, watch.New(db)), members: map[string]map[string]string{}}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		img := image.Image{
			ID:              fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), i),
			Name:            pick("alpha", "bravo", "charlie", ""),
			Status:          image.Status(pick("active", "active", "queued", "deleted", "saving")),
			Visibility:      pick(image.Public, image.Private, image.Shared, image.Community),
			Protected:       rng.IntN(5) == 0,
			Hidden:          rng.IntN(6) == 0,
			Owner:           pick(listProjects...),
			ContainerFormat: pick("bare", "ova", ""),
			DiskFormat:      pick("raw", "qcow2", ""),
			MinRAM:          int64(rng.IntN(3) * 512),
			Tags:            []string{},
			Properties:      map[string]string{},
			// Times fall on a few whole and half seconds, so ties and
			// the cut to the second both happen.
			CreatedAt: t0.Add(time.Duration(rng.IntN(12)) * 500 * time.Millisecond),
			UpdatedAt: t0.Add(time.Duration(rng.IntN(12)) * 500 * time.Millisecond),
		}
		if rng.IntN(4) > 0 {
			size := int64(rng.IntN(4) * 100)
			img.Size = &size
		}
		for _, tag := range []string{"x86", "arm", "lts", `a"b`, ","} {
			if rng.IntN(3) == 0 {
				img.Tags = append(img.Tags, tag)
			}
		}
		if rng.IntN(2) == 0 {
			img.Properties["os_distro"] = pick("debian", "ubuntu", "in:debian")
		}
		if rng.IntN(4) == 0 {
			img.Properties["hw.disk_bus"] = pick("scsi", "virtio")
		}
		tags, _ := json.Marshal(img.Tags)
		props, _ := json.Marshal(img.Properties)
		var size any
		if img.Size != nil {
			size = *img.Size
		}
		_, err := db.Exec(ctx, `INSERT INTO image_images (id, name, status, visibility, protected, os_hidden, owner,
			size, container_format, disk_format, min_ram, tags, properties, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			img.ID, img.Name, img.Status, img.Visibility, img.Protected, img.Hidden, img.Owner, size,
			img.ContainerFormat, img.DiskFormat, img.MinRAM, string(tags), string(props), img.CreatedAt.UnixMicro(), img.UpdatedAt.UnixMicro())
		if err != nil {
			t.Fatal(err)
		}
		if img.Visibility == image.Shared {
			x.members[img.ID] = map[string]string{}
			for _, p := range listProjects {
				if p != img.Owner && rng.IntN(2) == 0 {
					st := pick(image.MemberPending, image.MemberAccepted, image.MemberRejected)
					x.members[img.ID][p] = st
					if _, err := db.Exec(ctx, "INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?, ?, ?, 0, 0)", img.ID, p, st); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		x.images = append(x.images, img)
	}
	return x
}

// want is List computed in Go, as the API did before the store paged:
// Glance's listing rule, every filter as a predicate, the order by the
// keys and then by id.
func (x *listFixture) want(v image.Viewer, f image.Filter, sort []image.SortKey) []string {
	var out []image.Image
	for _, img := range x.images {
		if x.listable(img, v, f) && matches(img, f) {
			out = append(out, img)
		}
	}
	if len(sort) == 0 {
		sort = []image.SortKey{{Key: "created_at", Desc: true}}
	}
	slices.SortFunc(out, func(a, b image.Image) int {
		for _, k := range sort {
			if c := compareBy(k.Key, a, b); c != 0 {
				if k.Desc {
					return -c
				}
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	ids := make([]string, len(out))
	for i, img := range out {
		ids[i] = img.ID
	}
	return ids
}

func (x *listFixture) listable(img image.Image, v image.Viewer, f image.Filter) bool {
	if img.Status == image.Deleted {
		return false
	}
	if f.Visibility != "" && f.Visibility != "all" && img.Visibility != f.Visibility {
		return false
	}
	if v.Admin {
		return f.Visibility != "" || img.Visibility != image.Community || img.Owner == v.Project
	}
	ms := cmp.Or(f.MemberStatus, image.MemberAccepted)
	st, member := x.members[img.ID][v.Project]
	return img.Owner == v.Project || img.Visibility == image.Public ||
		(img.Visibility == image.Community && (f.Visibility == image.Community || f.Visibility == "all")) ||
		(img.Visibility == image.Shared && member && (ms == "all" || st == ms))
}

func matches(img image.Image, f image.Filter) bool {
	in := func(list []string, v string) bool { return list == nil || slices.Contains(list, v) }
	ok := (f.Owner == "" || img.Owner == f.Owner) && in(f.ID, img.ID) && in(f.Name, img.Name) &&
		(f.Status == nil || slices.Contains(f.Status, img.Status)) && in(f.DiskFormat, img.DiskFormat) &&
		in(f.ContainerFormat, img.ContainerFormat) &&
		(f.Protected == nil || *f.Protected == img.Protected) &&
		(f.SizeMin == nil || img.Size != nil && *img.Size >= *f.SizeMin) &&
		(f.SizeMax == nil || img.Size != nil && *img.Size <= *f.SizeMax)
	switch {
	case f.OSHidden != nil:
		ok = ok && img.Hidden == *f.OSHidden
	case !f.Hidden:
		ok = ok && !img.Hidden
	}
	for _, tag := range f.Tags {
		ok = ok && slices.Contains(img.Tags, tag)
	}
	for k, want := range f.Properties {
		got, has := img.Properties[k]
		ok = ok && has && got == want
	}
	for _, tf := range []struct {
		f  *image.TimeFilter
		at time.Time
	}{{f.CreatedAt, img.CreatedAt}, {f.UpdatedAt, img.UpdatedAt}} {
		if tf.f != nil {
			c := tf.at.Truncate(time.Second).Compare(tf.f.At)
			ok = ok && map[string]bool{"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0, "eq": c == 0, "neq": c != 0}[tf.f.Op]
		}
	}
	return ok
}

// compareBy orders two images by one sort key; no size sorts first.
func compareBy(key string, a, b image.Image) int {
	size := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	switch key {
	case "name":
		return cmp.Compare(a.Name, b.Name)
	case "status":
		return cmp.Compare(a.Status, b.Status)
	case "container_format":
		return cmp.Compare(a.ContainerFormat, b.ContainerFormat)
	case "disk_format":
		return cmp.Compare(a.DiskFormat, b.DiskFormat)
	case "size":
		return cmp.Compare(size(a.Size), size(b.Size))
	case "virtual_size":
		return cmp.Compare(size(a.VirtualSize), size(b.VirtualSize))
	case "id":
		return cmp.Compare(a.ID, b.ID)
	case "created_at":
		return a.CreatedAt.Compare(b.CreatedAt)
	case "updated_at":
		return a.UpdatedAt.Compare(b.UpdatedAt)
	case "min_ram":
		return cmp.Compare(a.MinRAM, b.MinRAM)
	case "min_disk":
		return cmp.Compare(a.MinDisk, b.MinDisk)
	case "owner":
		return cmp.Compare(a.Owner, b.Owner)
	case "visibility":
		return cmp.Compare(a.Visibility, b.Visibility)
	}
	panic("no sort key " + key)
}

// pages lists through the store limit images at a time, checking that
// every page but the last is full and says more follow.
func (x *listFixture) pages(t *testing.T, v image.Viewer, f image.Filter, sort []image.SortKey, limit int) []string {
	t.Helper()
	var out []string
	for p := (image.Page{Sort: sort, Limit: limit}); ; {
		if len(out) > len(x.images) {
			t.Fatal("pages do not end")
		}
		imgs, more, err := x.s.List(context.Background(), v, f, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			out = append(out, img.ID)
		}
		if !more {
			return out
		}
		if len(imgs) != limit {
			t.Fatalf("a page of %d with more to come, limit %d", len(imgs), limit)
		}
		p.Marker = imgs[len(imgs)-1].ID
	}
}

// Every filter and order, paged at several sizes, gives what the API
// computed in memory before, on both engines.
func TestListPages(t *testing.T) {
	ptr := func(b bool) *bool { return &b }
	size := func(n int64) *int64 { return &n }
	at := time.Date(2024, 5, 1, 12, 0, 2, 0, time.UTC)
	sortBy := func(spec string) []image.SortKey {
		var out []image.SortKey
		for _, part := range strings.Split(spec, ",") {
			if part != "" {
				k, dir, _ := strings.Cut(part, ":")
				out = append(out, image.SortKey{Key: k, Desc: dir == "desc"})
			}
		}
		return out
	}
	viewers := map[string]image.Viewer{"pa": {Project: "pa"}, "pb": {Project: "pb"}, "admin": {Project: "pa", Admin: true}}
	filters := map[string]image.Filter{
		"none":             {},
		"community":        {Visibility: image.Community},
		"all":              {Visibility: "all", MemberStatus: "all"},
		"shared pending":   {Visibility: image.Shared, MemberStatus: image.MemberPending},
		"private":          {Visibility: image.Private},
		"owner":            {Owner: "pb"},
		"names":            {Name: []string{"alpha", ""}},
		"statuses":         {Status: []image.Status{image.Queued, image.Saving}},
		"formats":          {DiskFormat: []string{"raw"}, ContainerFormat: []string{"bare", "ova"}},
		"tags":             {Tags: []string{"x86", "lts"}},
		"odd tags":         {Tags: []string{`a"b`, ","}},
		"protected":        {Protected: ptr(true)},
		"hidden too":       {Hidden: true},
		"only hidden":      {OSHidden: ptr(true)},
		"not hidden":       {OSHidden: ptr(false), Hidden: true},
		"sizes":            {SizeMin: size(100), SizeMax: size(200)},
		"property":         {Properties: map[string]string{"os_distro": "debian"}},
		"dotted property":  {Properties: map[string]string{"hw.disk_bus": "virtio", "os_distro": "ubuntu"}},
		"in: property":     {Properties: map[string]string{"os_distro": "in:debian"}},
		"created gt":       {CreatedAt: &image.TimeFilter{Op: "gt", At: at}},
		"created lte":      {CreatedAt: &image.TimeFilter{Op: "lte", At: at}},
		"updated eq":       {UpdatedAt: &image.TimeFilter{Op: "eq", At: at}},
		"created neq frac": {CreatedAt: &image.TimeFilter{Op: "neq", At: at.Add(300 * time.Millisecond)}},
		"created gte frac": {CreatedAt: &image.TimeFilter{Op: "gte", At: at.Add(300 * time.Millisecond)}},
		"updated lt frac":  {UpdatedAt: &image.TimeFilter{Op: "lt", At: at.Add(300 * time.Millisecond)}},
		"ids":              {ID: []string{"nope"}},
	}
	sorts := []string{"", "created_at", "name", "name:desc,created_at:asc", "size,name", "size:desc", "virtual_size",
		"status,updated_at:desc", "disk_format,container_format:desc,min_ram", "owner:desc,visibility", "id", "id:desc", "min_disk,name"}
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			x := newListFixture(t, e.DSN, 80)
			for vname, v := range viewers {
				for fname, f := range filters {
					for _, spec := range sorts {
						want := x.want(v, f, sortBy(spec))
						for _, limit := range []int{0, 2, 7} {
							if got := x.pages(t, v, f, sortBy(spec), limit); !slices.Equal(got, want) {
								t.Fatalf("%s, %s, sort %q, limit %d:\n got %v\nwant %v", vname, fname, spec, limit, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// A marker must be an image the viewer can see; one the filter leaves
// out is fine, as in Glance, and the page starts after its place.
func TestListMarker(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			x := newListFixture(t, e.DSN, 40)
			ctx := context.Background()
			pa := image.Viewer{Project: "pa"}
			for _, img := range x.images {
				_, _, err := x.s.List(ctx, pa, image.Filter{}, image.Page{Marker: img.ID, Limit: 5})
				st, member := x.members[img.ID]["pa"]
				visible := img.Status != image.Deleted && (img.Owner == "pa" || img.Visibility == image.Public ||
					img.Visibility == image.Community || (img.Visibility == image.Shared && member && st != ""))
				if visible && err != nil {
					t.Errorf("marker %s (%s, %s): %v", img.ID, img.Visibility, img.Status, err)
				}
				if !visible && (fault.KindOf(err) != fault.BadRequest || err.Error() != "marker ["+img.ID+"] not found") {
					t.Errorf("marker %s (%s, %s, owner %s) invisible: %v", img.ID, img.Visibility, img.Status, img.Owner, err)
				}
			}
			// A marker outside the filter: the page is what follows its place.
			f := image.Filter{Visibility: image.Private}
			sort := []image.SortKey{{Key: "name"}}
			all := x.want(pa, image.Filter{}, sort)
			private := x.want(pa, f, sort)
			for i, id := range all {
				var want []string
				for _, p := range private {
					if slices.Index(all, p) > i {
						want = append(want, p)
					}
				}
				imgs, _, err := x.s.List(ctx, pa, f, image.Page{Sort: sort, Marker: id})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, img := range imgs {
					got = append(got, img.ID)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("after %s: %v, want %v", id, got, want)
				}
			}
			if _, _, err := x.s.List(ctx, pa, image.Filter{}, image.Page{Sort: []image.SortKey{{Key: "checksum"}}}); fault.KindOf(err) != fault.BadRequest {
				t.Errorf("unknown sort key: %v", err)
			}
		})
	}
}

// InStatus finds the images of every visibility and owner, hidden ones
// and community ones included: recovery must see them all.
func TestInStatus(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			x := newListFixture(t, e.DSN, 60)
			got, err := x.s.InStatus(context.Background(), image.Saving, image.Queued)
			if err != nil {
				t.Fatal(err)
			}
			var ids, want []string
			for _, img := range got {
				ids = append(ids, img.ID)
			}
			for _, st := range []image.Status{image.Saving, image.Queued} {
				for _, img := range x.images {
					if img.Status == st {
						want = append(want, img.ID)
					}
				}
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("InStatus = %v\nwant %v", ids, want)
			}
		})
	}
}
