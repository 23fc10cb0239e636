package api_test

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/image"
)

// clock is a store clock that moves one second per reading, so every
// change has its own created_at/updated_at.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// catalog is a project's images for the list tests, by name.
type catalog struct {
	c    *cloud
	byID map[string]map[string]any // as the admin shows them
	ids  map[string]string         // name -> id
}

func newCatalog(t *testing.T) *catalog {
	t.Helper()
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newCloud(t, func(s *image.Service) { s.Store.Now = clk.Now })
	k := &catalog{c: c, byID: map[string]map[string]any{}, ids: map[string]string{}}
	for _, img := range []struct {
		body map[string]any
		data []byte
	}{
		{map[string]any{"name": "alpha", "disk_format": "raw", "container_format": "bare", "tags": []string{"x86"}, "os_distro": "debian"}, rawData(100)},
		{map[string]any{"name": "bravo", "disk_format": "qcow2", "container_format": "bare", "tags": []string{"arm"}}, nil},
		{map[string]any{"name": "charlie", "disk_format": "raw", "container_format": "bare", "tags": []string{"x86", "lts"}, "os_distro": "ubuntu"}, rawData(300)},
		{map[string]any{"name": "delta", "disk_format": "iso", "container_format": "ova", "min_ram": 2048}, rawData(200)},
		{map[string]any{"name": "echo", "disk_format": "vmdk", "container_format": "bare", "os_hidden": true}, nil},
		{map[string]any{"name": "foxtrot", "disk_format": "raw", "container_format": "bare", "protected": true}, nil},
		{map[string]any{"name": "page-0"}, nil},
		{map[string]any{"name": "page-1"}, nil},
		{map[string]any{"name": "page-2"}, nil},
		{map[string]any{"name": "page-3"}, nil},
		{map[string]any{"name": "page-4"}, nil},
		{map[string]any{"name": "alpha"}, nil}, // a second alpha: names are not unique
	} {
		id := c.mkImage(t, memberA, img.body)
		if img.data != nil {
			if r := c.upload(t, memberA, id, img.data); r.Code != http.StatusNoContent {
				t.Fatalf("upload %s: %s", img.body["name"], r)
			}
		}
		if _, dup := k.ids[img.body["name"].(string)]; !dup {
			k.ids[img.body["name"].(string)] = id
		}
	}
	c.mkImage(t, memberB, map[string]any{"name": "alpha", "visibility": "private"}) // B's, never listed to A
	for _, path := range []string{"/v2/images?limit=100", "/v2/images?limit=100&os_hidden=true"} {
		for _, img := range list(t, c.Must(t, http.StatusOK, "GET", path, memberA, nil), "images") {
			k.byID[str(t, img, "id")] = img.(map[string]any)
		}
	}
	if len(k.byID) != 12 {
		t.Fatalf("catalog of %d images", len(k.byID))
	}
	return k
}

// names maps ids to names.
func (k *catalog) names(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _ = k.byID[id]["name"].(string)
	}
	return out
}

// all follows next links from path, checking the page size and that
// first and next keep the query; it returns every id in order.
func (k *catalog) all(t *testing.T, path string, limit int) []string {
	t.Helper()
	var out []string
	u, _ := url.Parse(path)
	query := u.Query()
	for pages := 0; path != ""; pages++ {
		if pages > 100 {
			t.Fatal("next links do not end")
		}
		body := k.c.Must(t, http.StatusOK, "GET", path, memberA, nil)
		page := ids(t, body)
		if len(page) > limit {
			t.Fatalf("%s: %d images, limit %d", path, len(page), limit)
		}
		out = append(out, page...)
		if first, _ := url.Parse(str(t, body, "first")); first.Path != "/v2/images" || !equalQuery(first.Query(), query, "marker") {
			t.Errorf("first = %v", body["first"])
		}
		path, _ = body["next"].(string)
		if path != "" {
			next, _ := url.Parse(path)
			if next.Query().Get("marker") != page[len(page)-1] || !equalQuery(next.Query(), query, "marker") {
				t.Errorf("next = %s after %v", path, page)
			}
		}
	}
	return out
}

// equalQuery compares two queries but for key.
func equalQuery(a, b url.Values, key string) bool {
	a, b = maps.Clone(a), maps.Clone(b)
	a.Del(key)
	b.Del(key)
	return a.Encode() == b.Encode()
}

// visible is the images A lists by default (all but the hidden one).
func (k *catalog) visible() []map[string]any {
	var out []map[string]any
	for _, img := range k.byID {
		if img["os_hidden"] != true {
			out = append(out, img)
		}
	}
	return out
}

// sorted orders images as the API must: by the keys, then by id.
func sorted(imgs []map[string]any, keys ...string) []string {
	imgs = slices.Clone(imgs)
	slices.SortFunc(imgs, func(a, b map[string]any) int {
		for _, k := range keys {
			key, dir, _ := strings.Cut(k, ":")
			c := compareAny(a[key], b[key])
			if dir == "desc" {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a["id"].(string), b["id"].(string))
	})
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img["id"].(string)
	}
	return out
}

// compareAny orders JSON values of one attribute; null sorts first.
func compareAny(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return cmp.Compare(x, b.(string))
	case float64:
		return cmp.Compare(x, b.(float64))
	}
	panic("cannot compare")
}

// Sorting, with both syntaxes, and pagination that visits every image
// exactly once in that order.
func TestListSortAndPages(t *testing.T) {
	k := newCatalog(t)
	vis := k.visible()
	tests := []struct {
		query string
		keys  []string // what the order must be
	}{
		{"", []string{"created_at:desc"}},
		{"sort_key=name&sort_dir=asc", []string{"name:asc"}},
		{"sort_key=name", []string{"name:desc"}},
		{"sort=name:asc", []string{"name:asc"}},
		{"sort=name", []string{"name:desc"}},
		{"sort_dir=asc", []string{"created_at:asc"}},
		{"sort_key=size&sort_key=name&sort_dir=desc&sort_dir=asc", []string{"size:desc", "name:asc"}},
		{"sort_key=disk_format&sort_key=name&sort_dir=asc", []string{"disk_format:asc", "name:asc"}},
		{"sort=status:asc,updated_at:desc", []string{"status:asc", "updated_at:desc"}},
		{"sort=id:asc", []string{"id:asc"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			want := sorted(vis, tt.keys...)
			sep := "?"
			if tt.query != "" {
				sep = "?" + tt.query + "&"
			}
			got := k.c.listIDs(t, memberA, "/v2/images"+sep+"limit=100")
			if !slices.Equal(got, want) {
				t.Fatalf("order\n got %v\nwant %v", k.names(got), k.names(want))
			}
			for _, limit := range []int{1, 2, 5, 11, 12} {
				paged := k.all(t, "/v2/images"+sep+"limit="+itoa(limit), limit)
				if !slices.Equal(paged, want) {
					t.Fatalf("limit %d pages\n got %v\nwant %v", limit, k.names(paged), k.names(want))
				}
			}
		})
	}
	t.Run("default limit", func(t *testing.T) {
		for i := range 20 {
			k.c.mkImage(t, memberA, map[string]any{"name": "more-" + itoa(i)})
		}
		body := k.c.Must(t, http.StatusOK, "GET", "/v2/images", memberA, nil)
		if n := len(list(t, body, "images")); n != 25 || body["next"] == nil {
			t.Fatalf("%d images, next %v", n, body["next"])
		}
		if got := k.all(t, "/v2/images", 25); len(got) != 31 {
			t.Fatalf("%d images in all pages", len(got))
		}
	})
}

// Every filter, alone and combined.
func TestListFilters(t *testing.T) {
	k := newCatalog(t)
	id := k.ids
	created := k.byID[id["charlie"]]["created_at"].(string)
	tests := []struct {
		query string
		want  []string // names
	}{
		{"name=alpha", []string{"alpha", "alpha"}},
		{"name=in:bravo,delta", []string{"bravo", "delta"}},
		{"name=zulu", nil},
		{"id=" + id["bravo"], []string{"bravo"}},
		{"id=in:" + id["bravo"] + "," + id["delta"], []string{"bravo", "delta"}},
		{"status=active", []string{"alpha", "charlie", "delta"}},
		{"status=in:active,queued&disk_format=raw", []string{"alpha", "charlie", "foxtrot"}},
		{"tag=x86", []string{"alpha", "charlie"}},
		{"tag=x86&tag=lts", []string{"charlie"}},
		{"tag=arm&tag=lts", nil},
		{"size_min=150", []string{"charlie", "delta"}},
		{"size_max=150", []string{"alpha"}},
		{"size_min=150&size_max=250", []string{"delta"}},
		{"size_min=100&size_max=100", []string{"alpha"}},
		{"size_min=-1&size_max=+1_50", []string{"alpha"}}, // Python's int(): sign, underscores
		{"size_min=%20150%20", []string{"charlie", "delta"}},
		{"size=200", []string{"delta"}}, // a column, not an extra property
		{"size=201", nil},
		{"disk_format=in:raw,iso", []string{"alpha", "charlie", "delta", "foxtrot"}},
		{"disk_format=vmdk", nil}, // echo is hidden
		{"disk_format=vmdk&os_hidden=true", []string{"echo"}},
		{"os_hidden=true", []string{"echo"}},
		{"container_format=ova", []string{"delta"}},
		{"protected=true", []string{"foxtrot"}},
		{"os_distro=debian", []string{"alpha"}},
		{"os_distro=debian&tag=lts", nil},
		{"os_distro=in:debian", nil}, // property filters match the value as is
		{"nonexistent=x", nil},
		{"owner=" + projectA + "&status=active", []string{"alpha", "charlie", "delta"}},
		{"owner=" + projectB, nil},
		{"visibility=private", nil},
		{"created_at=gt:" + created + "&status=active", []string{"delta"}},
		{"created_at=lte:" + created + "&status=active", []string{"alpha", "charlie"}},
		{"created_at=eq:" + created, []string{"charlie"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := k.names(k.c.listIDs(t, memberA, "/v2/images?limit=100&"+tt.query))
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("filters survive pagination", func(t *testing.T) {
		got := k.names(k.all(t, "/v2/images?status=queued&sort=name:asc&limit=2", 2))
		want := []string{"alpha", "bravo", "foxtrot", "page-0", "page-1", "page-2", "page-3", "page-4"}
		if !slices.Equal(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}
	})
}

// A marker is any image the caller can see, as in Glance, where the
// marker is fetched with the caller's visibility and not the list's
// filters: the page starts after its place in the order. One the caller
// cannot see is a 400.
func TestListMarkerOutsideFilters(t *testing.T) {
	k := newCatalog(t)
	hidden := k.ids["echo"] // listed only with os_hidden=true
	all := sorted(slices.Collect(maps.Values(k.byID)), "name:asc")
	want := sorted(k.visible(), "name:asc")
	want = slices.DeleteFunc(want, func(id string) bool {
		return slices.Index(all, id) < slices.Index(all, hidden)
	})
	got := k.c.listIDs(t, memberA, "/v2/images?sort=name:asc&limit=100&marker="+hidden)
	if !slices.Equal(got, want) {
		t.Errorf("after the hidden image: %v, want %v", k.names(got), k.names(want))
	}
	var others string // B's private image
	for _, img := range list(t, k.c.Must(t, http.StatusOK, "GET", "/v2/images?visibility=private", memberB, nil), "images") {
		if str(t, img, "owner") == projectB {
			others = str(t, img, "id")
		}
	}
	if others == "" {
		t.Fatal("no private image of B")
	}
	wantError(t, k.c.Do(t, "GET", "/v2/images?marker="+others, memberA, nil), http.StatusBadRequest, "marker ["+others+"] not found")
}
