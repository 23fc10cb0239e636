package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gostack/gostack/kit/fault"
)

// Page is the pagination a list request asks for.
type Page struct {
	// Limit is the most items to return; ParsePage always sets it to a
	// value in [1, maxLimit]. Zero (as in a zero Page) means no limit.
	Limit int
	// Marker is the id of the last item of the previous page; "" starts
	// at the beginning.
	Marker string
	// Reverse asks, as Neutron's page_reverse does, for the items before
	// Marker instead of after it (still returned in the list's order).
	Reverse bool
}

// Link is a link object as OpenStack documents carry them. Type is set only
// for links such as Nova's "describedby".
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

// ParsePage reads the limit, marker and page_reverse query parameters.
//
// limit must be a non-negative integer, else the error is a BadRequest
// naming the field "limit". Absent or 0 means defaultLimit, as in Nova
// (where limit=0 gives the default page); larger than maxLimit is capped,
// not refused. maxLimit <= 0 means no cap; defaultLimit <= 0 means
// maxLimit. page_reverse takes true/false (also 1/0, True/False) and
// otherwise is a BadRequest naming "page_reverse".
func ParsePage(r *http.Request, defaultLimit, maxLimit int) (Page, error) {
	q := r.URL.Query()
	p := Page{Marker: q.Get("marker")}
	if defaultLimit <= 0 || (maxLimit > 0 && defaultLimit > maxLimit) {
		defaultLimit = maxLimit
	}
	p.Limit = defaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Page{}, fault.Invalid("limit", "must be a non-negative integer, got %q", s)
		}
		if n > 0 {
			p.Limit = n
		}
	}
	if maxLimit > 0 && p.Limit > maxLimit {
		p.Limit = maxLimit
	}
	if s := q.Get("page_reverse"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Page{}, fault.Invalid("page_reverse", "must be true or false, got %q", s)
		}
		p.Reverse = b
	}
	return p, nil
}

// NextLink is the absolute href of the page after the one ending at marker:
// the request's URL with marker replaced, page_reverse dropped and every
// other query parameter (limit, filters, sort) kept.
func NextLink(r *http.Request, marker string) string {
	return pageLink(r, marker, false)
}

// PrevLink is the absolute href of the page before the one starting at
// marker, in Neutron's way: marker replaced and page_reverse=True.
func PrevLink(r *http.Request, marker string) string {
	return pageLink(r, marker, true)
}

func pageLink(r *http.Request, marker string, reverse bool) string {
	q := r.URL.Query()
	q.Set("marker", marker)
	if reverse {
		q.Set("page_reverse", "True")
	} else {
		q.Del("page_reverse")
	}
	u := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	return BaseURL(r) + u.RequestURI()
}

// Paginate returns the page p selects from items, which must already be
// sorted, and whether more items follow in the direction of travel (after
// the page, or before it when p.Reverse). It is meant for small in-memory
// lists; stores page in their queries, with sqlstore.Keyset (an API asks
// for Limit+1 items to learn whether more follow).
//
// A marker that is no item's id is an error: BadRequest "marker [x] not found",
// as Nova, Cinder and Glance answer. Neutron answers 404 through the
// resource's own NotFound; a Neutron handler that wants that checks the
// marker itself first.
func Paginate[T any](items []T, id func(T) string, p Page) (page []T, more bool, err error) {
	start, end := 0, len(items)
	if p.Marker != "" {
		i := indexOf(items, id, p.Marker)
		if i < 0 {
			return nil, false, fault.New(fault.BadRequest, "marker [%s] not found", p.Marker)
		}
		if p.Reverse {
			end = i
		} else {
			start = i + 1
		}
	}
	if p.Limit > 0 && end-start > p.Limit {
		if p.Reverse {
			return items[end-p.Limit : end], true, nil
		}
		return items[start : start+p.Limit], true, nil
	}
	return items[start:end], false, nil
}

func indexOf[T any](items []T, id func(T) string, marker string) int {
	for i, it := range items {
		if id(it) == marker {
			return i
		}
	}
	return -1
}
