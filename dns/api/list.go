package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Designate's SORT_KEYS of each collection.
var (
	zoneSortKeys      = []string{"created_at", "id", "updated_at", "name", "tenant_id", "serial", "ttl", "status"}
	recordSetSortKeys = []string{"created_at", "id", "updated_at", "zone_id", "tenant_id", "name", "type", "ttl"}
	allRecordSetsKeys = []string{"created_at", "updated_at", "zone_id", "tenant_id", "name", "type", "ttl"}
	poolSortKeys      = []string{"created_at", "id", "updated_at", "name"}
	serviceSortKeys   = []string{"created_at", "id", "updated_at", "hostname", "service_name", "status"}
	tsigKeySortKeys   = []string{"created_at", "id", "updated_at", "name"}
)

// The query parameters the context middleware takes, never filters.
var contextParams = []string{"all_projects", "all_tenants", "edit_managed_records"}

// listQuery is a list request's paging (utils.get_paging_params) and
// filters (RestController._apply_filter_params).
type listQuery struct {
	page    dns.Page // Limit is the page size, never 0
	filters map[string]string
}

// parseList reads marker, limit, sort_key and sort_dir, and the accepted
// filters; any other parameter, or one given twice, is a 400.
func parseList(r *http.Request, q *request, sortKeys []string, accepted ...string) (listQuery, error) {
	params := r.URL.Query()
	lq := listQuery{page: dns.Page{Limit: defaultLimit}, filters: map[string]string{}}
	lq.page.Marker = params.Get("marker")
	if s, ok := params["limit"]; ok {
		n, err := parseLimit(s[0])
		if err != nil {
			return lq, err
		}
		lq.page.Limit = n
	}
	lq.page.SortDir = params.Get("sort_dir")
	if d := lq.page.SortDir; d != "" && d != "asc" && d != "desc" {
		return lq, &fault.Error{Kind: fault.BadRequest, Type: "invalid_sort_dir", Field: "sort_dir",
			Message: "Unknown sort direction, must be 'desc' or 'asc'"}
	}
	key := params.Get("sort_key")
	switch {
	case key == "":
	case !slices.Contains(sortKeys, key):
		return lq, &fault.Error{Kind: fault.BadRequest, Type: "invalid_sort_key", Field: "sort_key",
			Message: "sort key must be one of " + pyList(sortKeys)}
	case key == "tenant_id" && !q.all:
		key = "" // Designate ignores it without all_tenants
	}
	lq.page.SortKey = key
	var dup, invalid []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		switch {
		case k == "marker" || k == "limit" || k == "sort_key" || k == "sort_dir" || slices.Contains(contextParams, k):
		case len(params[k]) > 1:
			dup = append(dup, k)
		case slices.Contains(accepted, k):
			lq.filters[k] = params.Get(k)
		default:
			invalid = append(invalid, k)
		}
	}
	if len(dup) > 0 {
		return lq, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Field: dup[0], Message: "Duplicate filters " + strings.Join(dup, ", ")}
	}
	if len(invalid) > 0 {
		return lq, &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Field: invalid[0], Message: "Invalid filters " + strings.Join(invalid, ", ")}
	}
	return lq, nil
}

// parseLimit is Designate's limit: "max" or an integer from 1; above
// max_limit_v2 it is capped.
func parseLimit(s string) (int, error) {
	if strings.EqualFold(s, "max") {
		return maxLimit, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, &fault.Error{Kind: fault.BadRequest, Type: "invalid_limit", Field: "limit",
			Message: fmt.Sprintf("limit should be an integer between 1 and %d", maxLimit)}
	}
	return int(min(n, maxLimit)), nil
}

// pyList is str() of a Python list of strings.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// ttlFilter reads the ttl filter, which must be an integer.
func ttlFilter(f map[string]string) (*int, error) {
	s, ok := f["ttl"]
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, &fault.Error{Kind: fault.BadRequest, Type: "invalid_object", Field: "ttl", Message: fmt.Sprintf("ttl filter %q is not an integer", s)}
	}
	return &n, nil
}

// storePage asks the store for one item more than the page, to know
// whether a next page exists.
func (lq listQuery) storePage() dns.Page {
	p := lq.page
	p.Limit++
	return p
}

// markerError gives the store's unknown-marker error Designate's type.
func markerError(err error) error {
	if e, ok := err.(*fault.Error); ok && e.Field == "marker" {
		e.Type = "marker_not_found"
	}
	return err
}

// cut trims items to the page and returns the next link when more follow.
// Designate links a next page whenever a page is full, so its last full
// page has a "next" leading to an empty one; here "next" means more items.
func cut[T any](r *http.Request, lq listQuery, items []T, id func(T) string) ([]T, collectionLinks) {
	links := collectionLinks{Self: selfCollection(r)}
	if len(items) > lq.page.Limit {
		items = items[:lq.page.Limit]
		links.Next = httpapi.NextLink(r, id(items[len(items)-1]))
	}
	return items, links
}

// pageInMemory sorts, filters by marker and cuts a small list the store
// returns whole (pools, TSIG keys).
func pageInMemory[T any](items []T, lq listQuery, id func(T) string, key func(T, string) string) ([]T, error) {
	sortKey := lq.page.SortKey
	if sortKey == "" {
		sortKey = "created_at"
	}
	slices.SortStableFunc(items, func(a, b T) int {
		c := strings.Compare(key(a, sortKey), key(b, sortKey))
		if c == 0 {
			c = strings.Compare(id(a), id(b))
		}
		if lq.page.SortDir == "desc" {
			c = -c
		}
		return c
	})
	if m := lq.page.Marker; m != "" {
		i := slices.IndexFunc(items, func(t T) bool { return id(t) == m })
		if i < 0 {
			return nil, &fault.Error{Kind: fault.BadRequest, Type: "marker_not_found", Field: "marker",
				Message: fmt.Sprintf("Marker %s could not be found", m)}
		}
		items = items[i+1:]
	}
	if len(items) > lq.page.Limit+1 {
		items = items[:lq.page.Limit+1]
	}
	return items, nil
}

// wildcard matches value against a filter with Designate's '*' wildcard;
// an empty filter matches everything.
func wildcard(pattern, value string) bool {
	if pattern == "" {
		return true
	}
	if !strings.Contains(pattern, "*") {
		return pattern == value
	}
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	ok, _ := regexp.MatchString(re, value)
	return ok
}

// writeList answers a zones or recordsets list: one page from the store
// (a bad marker is Designate's error), the links, "metadata" with
// total_count unless the caller hid counts, and the items rendered under
// key.
func writeList[T, V any](w http.ResponseWriter, r *http.Request, lq listQuery, key string,
	list func(dns.Page) ([]T, error), count func() (int, error), id func(T) string, render func(*http.Request, T) V) {
	items, err := list(lq.storePage())
	if err != nil {
		fail(w, r, markerError(err))
		return
	}
	items, links := cut(r, lq, items, id)
	meta := map[string]int{}
	if !hideCounts(r) {
		n, err := count()
		if err != nil {
			fail(w, r, err)
			return
		}
		meta["total_count"] = n
	}
	views := make([]V, len(items))
	for i, it := range items {
		views[i] = render(r, it)
	}
	httpapi.WriteJSON(w, http.StatusOK, collection{key: key, items: views, links: links, meta: meta})
}

// collection is a list answer in the order Designate's APIv2Adapter
// render_list writes it: the items under the collection's name first,
// then "links", then "metadata" for the paged lists (zones, recordsets,
// imports, exports, transfer accepts). Some clients read the first key.
type collection struct {
	key   string
	items any
	links collectionLinks
	meta  map[string]int // nil: the list has no "metadata"
}

// MarshalJSON writes the members in collection's order, HTML characters
// unescaped as httpapi.WriteJSON writes them.
func (c collection) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range []struct {
		name string
		v    any
	}{{c.key, c.items}, {"links", c.links}, {"metadata", c.meta}} {
		if m.name == "metadata" && c.meta == nil {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(m.name); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // the encoder's newline
		b.WriteByte(':')
		if err := enc.Encode(m.v); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// taskKeys are the sort keys of the small collections listed in memory
// (transfers, imports, exports, TLDs, blacklists): name is the TLD's name
// or the blacklist's pattern, for those sort keys.
type taskKeys struct {
	id               string
	created, updated time.Time
	name             string
	fields           map[string]string // other sort keys (service statuses)
}

// writeMemoryList answers a list the store returns whole: sorted by the
// request's sort key (created_at, id, updated_at, or name or pattern),
// after the marker, one page, with links and, for the lists Designate
// pages in storage (paged: imports, exports, transfer accepts),
// metadata.total_count (the matches before paging).
func writeMemoryList[T any](w http.ResponseWriter, r *http.Request, lq listQuery, key string, paged bool, items []T,
	keys func(T) taskKeys, render func(*http.Request, T) any) {
	total := len(items)
	body, err := memoryPage(r, lq, key, items, keys, render)
	if err != nil {
		fail(w, r, err)
		return
	}
	if paged {
		body.meta = map[string]int{}
		if !hideCounts(r) {
			body.meta["total_count"] = total
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

// memoryPage is one page of items, rendered under key, with its links.
func memoryPage[T any](r *http.Request, lq listQuery, key string, items []T,
	keys func(T) taskKeys, render func(*http.Request, T) any) (collection, error) {
	id := func(t T) string { return keys(t).id }
	items, err := pageInMemory(items, lq, id, func(t T, sortKey string) string {
		k := keys(t)
		if v, ok := k.fields[sortKey]; ok {
			return v
		}
		switch sortKey {
		case "id":
			return k.id
		case "name", "pattern":
			return k.name
		case "updated_at":
			return timestamp(k.updated)
		}
		return timestamp(k.created)
	})
	if err != nil {
		return collection{}, err
	}
	items, links := cut(r, lq, items, id)
	views := make([]any, len(items))
	for i, it := range items {
		views[i] = render(r, it)
	}
	return collection{key: key, items: views, links: links}, nil
}
