package cinder

import (
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
)

// maxLimit is Cinder's osapi_max_limit: the most items one page holds.
const maxLimit = 1000

// page is a list request's pagination, as Cinder's
// get_pagination_params reads it.
type page struct {
	limit  int // at most maxLimit; maxLimit when not asked
	marker string
	offset int
}

// listQuery is a list request's query parameters; the pagination and
// sort ones are taken out by readPage and readSort, what is left are
// filters.
type listQuery struct{ url.Values }

func newListQuery(q url.Values) listQuery {
	c := url.Values{}
	for k, vs := range q {
		c[k] = append([]string(nil), vs...)
	}
	return listQuery{c}
}

// pop is Python's params.pop(key, None) of a webob MultiDict: the last
// value given, the key gone.
func (l listQuery) pop(key string) (string, bool) {
	vs, ok := l.Values[key]
	if !ok {
		return "", false
	}
	delete(l.Values, key)
	return vs[len(vs)-1], true
}

// last is params.get(key): the last value given.
func (l listQuery) last(key string) (string, bool) {
	vs, ok := l.Values[key]
	if !ok {
		return "", false
	}
	return vs[len(vs)-1], true
}

// readPage is Cinder's get_pagination_params.
func (l listQuery) readPage() (page, error) {
	p := page{limit: maxLimit}
	if s, ok := l.pop("limit"); ok {
		n, ok := pyjson.Int(s)
		if !ok {
			return page{}, badRequest("limit param must be an integer")
		}
		if n.Sign() < 0 {
			return page{}, badRequest("limit param must be positive")
		}
		if n.IsInt64() && n.Int64() < maxLimit {
			p.limit = int(n.Int64())
		}
	}
	p.marker, _ = l.pop("marker")
	if s, ok := l.pop("offset"); ok {
		if r := validateInteger(&pyjson.Value{Kind: '"', Text: s}, "offset", 0, math.MaxInt32); r != nil {
			return page{}, badRequest("%s", r.msg)
		}
		n, _ := pyjson.Int(s)
		p.offset = int(n.Int64())
	}
	return p, nil
}

// readSort is Cinder's get_sort_params: sort=key[:dir],... or the
// deprecated sort_key and sort_dir (not both), created_at desc when
// none is given.
func (l listQuery) readSort() (keys, dirs []string, err error) {
	_, hasSort := l.Values["sort"]
	_, hasKey := l.Values["sort_key"]
	_, hasDir := l.Values["sort_dir"]
	if hasSort && (hasKey || hasDir) {
		return nil, nil, badRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	if hasSort {
		s, _ := l.pop("sort")
		for _, part := range strings.Split(strings.TrimSpace(s), ",") {
			key, dir, _ := strings.Cut(part, ":")
			if dir == "" {
				dir = "desc"
			}
			keys, dirs = append(keys, strings.TrimSpace(key)), append(dirs, strings.TrimSpace(dir))
		}
		return keys, dirs, nil
	}
	key, ok := l.pop("sort_key")
	if !ok {
		key = "created_at"
	}
	dir, ok := l.pop("sort_dir")
	if !ok {
		dir = "desc"
	}
	return []string{strings.TrimSpace(key)}, []string{strings.TrimSpace(dir)}, nil
}

// boolParam is Cinder's get_bool_param: absent is false; a value
// oslo does not read as a boolean is refused.
func (l listQuery) boolParam(key string) (bool, error) {
	s, ok := l.last(key)
	if !ok {
		return false, nil
	}
	b, valid := pyjson.Bool(s)
	if !valid {
		return false, badRequest("Value '%s' for '%s' is not a boolean.", s, key)
	}
	return b, nil
}

// nextLinks is Cinder's _get_collection_links: a next link when the
// page is full (as many items as the limit asked, or osapi_max_limit),
// its marker the last item's id, the other query parameters kept.
func (q *request) nextLinks(query url.Values, collection string, count int, lastID string) []httpapi.Link {
	limit := maxLimit
	if vs, ok := query["limit"]; ok {
		if n, ok := pyjson.Int(vs[len(vs)-1]); ok && n.IsInt64() && n.Int64() < maxLimit {
			limit = int(n.Int64())
		}
	}
	if count == 0 || count < limit {
		return nil
	}
	params := url.Values{}
	for k, vs := range query {
		params[k] = vs
	}
	params.Set("marker", lastID)
	return []httpapi.Link{{Rel: "next", Href: q.base() + "/" + collection + "?" + params.Encode()}}
}

// listAnswer is a list's answer: the items' views under key, and under
// linksKey the next link (nextLinks) when the page is full, its marker
// the last item's id.
func listAnswer[T any](q *request, r *http.Request, key, linksKey, collection string, items []T, id func(T) string,
	view func(T) map[string]any) map[string]any {
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = view(it)
	}
	res := map[string]any{key: out}
	if len(items) > 0 {
		if links := q.nextLinks(r.URL.Query(), collection, len(items), id(items[len(items)-1])); links != nil {
			res[linksKey] = links
		}
	}
	return res
}
