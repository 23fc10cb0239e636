package nova

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
)

// maxLimit is Nova's [api] max_limit: the most items one page answers.
const maxLimit = 1000

// pageLimit reads limit (Nova's get_limit_and_marker: at most maxLimit,
// maxLimit when absent) and marker; a limit that is not a non-negative
// integer is refused as Nova's query schema refuses it.
func pageLimit(r *http.Request) (limit int, marker string, err error) {
	limit = maxLimit
	q := r.URL.Query()
	if s, ok := q["limit"]; ok {
		n, perr := strconv.Atoi(s[0])
		if perr != nil || n < 0 {
			return 0, "", badRequest("Invalid input for query parameters limit. Value: %s. %s does not match '^[0-9]*$'", s[0], py(s[0]))
		}
		limit = min(n, maxLimit)
	}
	marker = q.Get("marker")
	if !plain(marker) {
		return 0, "", badRequest("Marker %s could not be found.", strings.ToValidUTF8(strings.ReplaceAll(marker, "\x00", ""), "?"))
	}
	return limit, marker, nil
}

// nextLinks is Nova's _get_collection_links: a "next" link when the
// page is full (its size equals the limit asked, capped at maxLimit),
// its marker the last item's id.
func nextLinks(r *http.Request, collection string, count int, lastID string) []httpapi.Link {
	limit := maxLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			limit = min(n, maxLimit)
		}
	}
	if limit == 0 || count != limit {
		return nil
	}
	q := r.URL.Query()
	q.Set("marker", lastID)
	return []httpapi.Link{{Rel: "next", Href: baseURL(r) + "/v2.1/" + collection + "?" + q.Encode()}}
}

// resourceLinks are a resource's self and bookmark links, as Nova's
// views give them (the bookmark without the version).
func resourceLinks(r *http.Request, collection, id string) []httpapi.Link {
	id = url.PathEscape(id)
	return []httpapi.Link{
		{Rel: "self", Href: baseURL(r) + "/v2.1/" + collection + "/" + id},
		{Rel: "bookmark", Href: baseURL(r) + "/" + collection + "/" + id},
	}
}

// baseURL is where the API is mounted, without /v2.1.
func baseURL(r *http.Request) string {
	return strings.TrimSuffix(httpapi.BaseURL(r), "/v2.1")
}
