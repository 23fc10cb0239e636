package api

import (
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

// listParams are the query parameters that are not property filters.
var listParams = map[string]bool{"limit": true, "marker": true, "sort_key": true, "sort_dir": true, "sort": true,
	"visibility": true, "member_status": true, "owner": true, "status": true, "tag": true, "size_min": true,
	"size_max": true, "size": true, "name": true, "id": true, "disk_format": true, "container_format": true, "protected": true,
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
	f, err := parseFilters(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	got, more, err := a.Service.Store.List(ctx, a.viewer(ctx), f, image.Page{Sort: order, Marker: page.Marker, Limit: page.Limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, len(got))
	for i, img := range got {
		out[i] = a.view(ctx, img)
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

// deref is a size, -1 for none.
func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func (a *API) maxPage() int {
	if a.MaxPageSize > 0 {
		return a.MaxPageSize
	}
	return 1000
}

// parseSort reads sort_key/sort_dir (repeatable) or sort=k:dir,...;
// the default is created_at descending, as Glance.
func parseSort(q url.Values) ([]image.SortKey, error) {
	var out []image.SortKey
	if s := q.Get("sort"); s != "" {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return nil, fault.Invalid("sort", "The sort and sort_key/sort_dir parameters cannot be combined")
		}
		for _, part := range strings.Split(s, ",") {
			k, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			if dir == "" {
				dir = "desc"
			}
			out = append(out, image.SortKey{Key: k, Desc: dir == "desc"})
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
			out = append(out, image.SortKey{Key: k, Desc: dir == "desc"})
		}
	}
	for _, o := range out {
		if !slices.Contains(image.SortKeys(), o.Key) {
			return nil, fault.Invalid("sort_key", "Invalid sort key: %s", o.Key)
		}
	}
	if len(out) == 0 {
		d := q.Get("sort_dir")
		if d != "" && d != "asc" && d != "desc" {
			return nil, fault.Invalid("sort_dir", "Invalid sort direction: %s", d)
		}
		out = []image.SortKey{{Key: "created_at", Desc: d != "asc"}}
	}
	return out, nil
}

// parseFilters reads the filters of the query: Glance's named ones, with
// its "in:a,b" lists where Glance takes them, and any other parameter as
// an extra property that must have that value.
func parseFilters(q url.Values) (image.Filter, error) {
	f := image.Filter{Visibility: q.Get("visibility"), MemberStatus: q.Get("member_status"), Owner: q.Get("owner"), Tags: q["tag"]}
	if v := f.Visibility; v != "" && !slices.Contains([]string{"public", "private", "shared", "community", "all"}, v) {
		return f, fault.Invalid("visibility", "Invalid visibility value: %s", v)
	}
	if v := f.MemberStatus; v != "" && !slices.Contains([]string{"pending", "accepted", "rejected", "all"}, v) {
		return f, fault.Invalid("member_status", "Invalid status value: %s", v)
	}
	for key, list := range map[string]*[]string{"name": &f.Name, "id": &f.ID, "disk_format": &f.DiskFormat, "container_format": &f.ContainerFormat} {
		if v, ok := q[key]; ok {
			*list = inList(v[0])
		}
	}
	if v, ok := q["status"]; ok {
		for _, s := range inList(v[0]) {
			f.Status = append(f.Status, image.Status(s))
		}
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{{"protected", &f.Protected}, {"os_hidden", &f.OSHidden}} {
		key := b.key
		if v := q.Get(key); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return f, fault.Invalid(key, "Invalid value '%s' for '%s' filter: must be true or false", v, key)
			}
			*b.dst = &x
		}
	}
	if err := sizeFilters(q, &f); err != nil {
		return f, err
	}
	if err := timeFilters(q, &f); err != nil {
		return f, err
	}
	for key, vals := range q {
		if !listParams[key] {
			if f.Properties == nil {
				f.Properties = map[string]string{}
			}
			f.Properties[key] = vals[0]
		}
	}
	return f, nil
}

// inList reads Glance's "in:a,b" value syntax ("a" alone otherwise).
func inList(v string) []string {
	if rest, ok := strings.CutPrefix(v, "in:"); ok {
		return strings.Split(rest, ",")
	}
	return []string{v}
}

// sizeFilters reads size_min and size_max as Glance's database layer
// does (int(): surrounding spaces, a sign and digit-separating
// underscores allowed; a negative bound is no bound below zero), and
// size, an image column in Glance, as the exact size rather than an
// extra property.
func sizeFilters(q url.Values, f *image.Filter) error {
	for _, b := range []struct {
		key string
		dst **int64
	}{{"size_min", &f.SizeMin}, {"size_max", &f.SizeMax}, {"size", &f.Size}} {
		key := b.key
		v, ok := q[key]
		if !ok {
			continue
		}
		n, ok := pyInt(v[0])
		if !ok {
			if key == "size" {
				return fault.Invalid(key, "Invalid value for size filter: %s", v[0])
			}
			return fault.Invalid(key, "Unable to filter on a range with a non-numeric value.")
		}
		*b.dst = &n
	}
	return nil
}

// pyInt parses s as Python's int() does a decimal string, within int64.
func pyInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	digits, sign := s, ""
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		digits, sign = s[1:], s[:1]
	}
	if digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' || strings.Contains(digits, "__") {
		return 0, false
	}
	for _, r := range digits {
		if (r < '0' || r > '9') && r != '_' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(sign+strings.ReplaceAll(digits, "_", ""), 10, 64)
	return n, err == nil
}

// timeFilters are created_at/updated_at with an operator prefix
// (gt:, gte:, lt:, lte:, eq:, neq:) and an ISO 8601 time.
func timeFilters(q url.Values, f *image.Filter) error {
	for _, tf := range []struct {
		key string
		dst **image.TimeFilter
	}{{"created_at", &f.CreatedAt}, {"updated_at", &f.UpdatedAt}} {
		key := tf.key
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
		*tf.dst = &image.TimeFilter{Op: op, At: t}
	}
	return nil
}
