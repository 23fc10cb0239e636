package api

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// sortKeys are the keys Glance sorts by.
var sortKeys = map[string]func(a, b image.Image) int{
	"name":             func(a, b image.Image) int { return cmp.Compare(a.Name, b.Name) },
	"status":           func(a, b image.Image) int { return cmp.Compare(a.Status, b.Status) },
	"container_format": func(a, b image.Image) int { return cmp.Compare(a.ContainerFormat, b.ContainerFormat) },
	"disk_format":      func(a, b image.Image) int { return cmp.Compare(a.DiskFormat, b.DiskFormat) },
	"size":             func(a, b image.Image) int { return cmp.Compare(deref(a.Size), deref(b.Size)) },
	"virtual_size":     func(a, b image.Image) int { return cmp.Compare(deref(a.VirtualSize), deref(b.VirtualSize)) },
	"id":               func(a, b image.Image) int { return cmp.Compare(a.ID, b.ID) },
	"created_at":       func(a, b image.Image) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"updated_at":       func(a, b image.Image) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
	"min_ram":          func(a, b image.Image) int { return cmp.Compare(a.MinRAM, b.MinRAM) },
	"min_disk":         func(a, b image.Image) int { return cmp.Compare(a.MinDisk, b.MinDisk) },
	"owner":            func(a, b image.Image) int { return cmp.Compare(a.Owner, b.Owner) },
	"visibility":       func(a, b image.Image) int { return cmp.Compare(a.Visibility, b.Visibility) },
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

type sortBy struct {
	key  string
	desc bool
}

// listParams are the query parameters that are not property filters.
var listParams = map[string]bool{"limit": true, "marker": true, "sort_key": true, "sort_dir": true, "sort": true,
	"visibility": true, "member_status": true, "owner": true, "status": true, "tag": true, "size_min": true,
	"size_max": true, "name": true, "id": true, "disk_format": true, "container_format": true, "protected": true,
	"os_hidden": true, "created_at": true, "updated_at": true}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := a.enforce(ctx, "get_images", map[string]any{"project_id": caller(ctx).ProjectID}); err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	page, err := httpapi.ParsePage(r, 25, a.maxPage())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	order, err := parseSort(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, match, err := parseFilters(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	imgs, err := a.Service.Store.List(ctx, a.viewer(ctx), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	imgs = slices.DeleteFunc(imgs, func(i image.Image) bool { return !match(i) })
	slices.SortStableFunc(imgs, func(x, y image.Image) int {
		for _, o := range order {
			if c := sortKeys[o.key](x, y); c != 0 {
				if o.desc {
					return -c
				}
				return c
			}
		}
		return cmp.Compare(x.ID, y.ID)
	})
	got, more, err := httpapi.Paginate(imgs, func(i image.Image) string { return i.ID }, page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, len(got))
	for i, img := range got {
		out[i] = render(img)
	}
	// first and next keep the query, as Glance's ResponseSerializer.index.
	first, fq := "/v2/images", r.URL.Query()
	if fq.Del("marker"); len(fq) > 0 {
		first += "?" + fq.Encode()
	}
	body := map[string]any{"images": out, "first": first, "schema": "/v2/schemas/images"}
	if more {
		q.Set("marker", got[len(got)-1].ID)
		body["next"] = "/v2/images?" + q.Encode()
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

func (a *API) maxPage() int {
	if a.MaxPageSize > 0 {
		return a.MaxPageSize
	}
	return 1000
}

// parseSort reads sort_key/sort_dir (repeatable) or sort=k:dir,...;
// the default is created_at descending, as Glance.
func parseSort(q url.Values) ([]sortBy, error) {
	var out []sortBy
	if s := q.Get("sort"); s != "" {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return nil, fault.Invalid("sort", "The sort and sort_key/sort_dir parameters cannot be combined")
		}
		for _, part := range strings.Split(s, ",") {
			k, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			if dir == "" {
				dir = "desc"
			}
			out = append(out, sortBy{k, dir == "desc"})
			if dir != "asc" && dir != "desc" {
				return nil, fault.Invalid("sort", "Invalid sort direction: %s", dir)
			}
		}
	} else {
		keys, dirs := q["sort_key"], q["sort_dir"]
		if len(dirs) > 1 && len(dirs) != len(keys) {
			return nil, fault.Invalid("sort_dir", "Number of sort dirs does not match the number of sort keys")
		}
		for i, k := range keys {
			dir := "desc"
			if len(dirs) == 1 {
				dir = dirs[0]
			} else if len(dirs) > 1 {
				dir = dirs[i]
			}
			if dir != "asc" && dir != "desc" {
				return nil, fault.Invalid("sort_dir", "Invalid sort direction: %s", dir)
			}
			out = append(out, sortBy{k, dir == "desc"})
		}
	}
	for _, o := range out {
		if sortKeys[o.key] == nil {
			return nil, fault.Invalid("sort_key", "Invalid sort key: %s", o.key)
		}
	}
	if len(out) == 0 {
		d := q.Get("sort_dir")
		if d != "" && d != "asc" && d != "desc" {
			return nil, fault.Invalid("sort_dir", "Invalid sort direction: %s", d)
		}
		out = []sortBy{{"created_at", d != "asc"}}
	}
	return out, nil
}

// parseFilters splits the query into what the store filters and a
// predicate for the rest (sizes, formats, "in:" lists, times, extra
// properties).
func parseFilters(q url.Values) (image.Filter, func(image.Image) bool, error) {
	f := image.Filter{Visibility: q.Get("visibility"), MemberStatus: q.Get("member_status"), Owner: q.Get("owner"), Tags: q["tag"]}
	if v := f.Visibility; v != "" && !slices.Contains([]string{"public", "private", "shared", "community", "all"}, v) {
		return f, nil, fault.Invalid("visibility", "Invalid visibility value: %s", v)
	}
	if v := f.MemberStatus; v != "" && !slices.Contains([]string{"pending", "accepted", "rejected", "all"}, v) {
		return f, nil, fault.Invalid("member_status", "Invalid status value: %s", v)
	}
	var preds []func(image.Image) bool
	add := func(p func(image.Image) bool) { preds = append(preds, p) }
	for key, get := range map[string]func(image.Image) string{
		"name": func(i image.Image) string { return i.Name }, "id": func(i image.Image) string { return i.ID },
		"status":      func(i image.Image) string { return string(i.Status) },
		"disk_format": func(i image.Image) string { return i.DiskFormat }, "container_format": func(i image.Image) string { return i.ContainerFormat },
	} {
		if v, ok := q[key]; ok {
			want := inList(v[0])
			add(func(i image.Image) bool { return slices.Contains(want, get(i)) })
		}
	}
	for key, get := range map[string]func(image.Image) bool{
		"protected": func(i image.Image) bool { return i.Protected }, "os_hidden": func(i image.Image) bool { return i.Hidden },
	} {
		if v := q.Get(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return f, nil, fault.Invalid(key, "Invalid value '%s' for '%s' filter: must be true or false", v, key)
			}
			add(func(i image.Image) bool { return get(i) == b })
			if key == "os_hidden" {
				f.Hidden = true
			}
		}
	}
	if err := sizeFilters(q, add); err != nil {
		return f, nil, err
	}
	if err := timeFilters(q, add); err != nil {
		return f, nil, err
	}
	for key, vals := range q {
		if !listParams[key] {
			want := vals[0]
			add(func(i image.Image) bool { v, ok := i.Properties[key]; return ok && v == want })
		}
	}
	return f, func(i image.Image) bool {
		for _, p := range preds {
			if !p(i) {
				return false
			}
		}
		return true
	}, nil
}

// inList reads Glance's "in:a,b" value syntax ("a" alone otherwise).
func inList(v string) []string {
	if rest, ok := strings.CutPrefix(v, "in:"); ok {
		return strings.Split(rest, ",")
	}
	return []string{v}
}

func sizeFilters(q url.Values, add func(func(image.Image) bool)) error {
	for _, key := range []string{"size_min", "size_max"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fault.Invalid(key, "Invalid value for %s: %s", key, v)
		}
		if key == "size_min" {
			add(func(i image.Image) bool { return i.Size != nil && *i.Size >= n })
		} else {
			add(func(i image.Image) bool { return i.Size != nil && *i.Size <= n })
		}
	}
	return nil
}

// timeFilters are created_at/updated_at with an operator prefix
// (gt:, gte:, lt:, lte:, eq:, neq:) and an ISO 8601 time.
func timeFilters(q url.Values, add func(func(image.Image) bool)) error {
	for _, key := range []string{"created_at", "updated_at"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		op, ts, ok := strings.Cut(v, ":")
		if !ok || !slices.Contains([]string{"gt", "gte", "lt", "lte", "eq", "neq"}, op) {
			op, ts = "eq", v
		}
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return fault.Invalid(key, "Unable to parse datetime %q: want an ISO 8601 time", ts)
		}
		add(func(i image.Image) bool {
			at := i.CreatedAt
			if key == "updated_at" {
				at = i.UpdatedAt
			}
			c := at.Truncate(time.Second).Compare(t)
			return map[string]bool{"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0, "eq": c == 0, "neq": c != 0}[op]
		})
	}
	return nil
}
