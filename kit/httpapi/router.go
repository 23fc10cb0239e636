package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
)

// Router is a thin wrapper over http.ServeMux and its Go 1.22 method
// patterns ("GET /v3/projects/{id}") that answers unknown paths with 404 and
// known paths with the wrong method with 405 and an Allow header, both in
// the service's error Style instead of ServeMux's plain text.
//
// The zero value is a usable Router with the Plain style.
type Router struct {
	// Style renders the 404 and 405 bodies.
	Style Style

	mux      http.ServeMux
	patterns []string
}

var _ http.Handler = (*Router)(nil)

// NewRouter returns an empty Router that writes errors in style.
func NewRouter(style Style) *Router {
	return &Router{Style: style}
}

// Handle registers h for pattern. Like http.ServeMux.Handle it panics when
// the pattern is invalid or conflicts with one already registered: both are
// programming errors caught by the first test that builds the router.
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	rt.patterns = append(rt.patterns, pattern)
}

// HandleFunc registers f for pattern; see Handle.
func (rt *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(f))
}

// Patterns returns the registered patterns in registration order, for
// tests that must cover every route and for documentation.
func (rt *Router) Patterns() []string { return slices.Clone(rt.patterns) }

// ServeHTTP dispatches r to the handler whose pattern matches it. It records
// the matched pattern for the logging and metrics middleware above it.
//
// A path or query whose decoded text is not valid UTF-8 or holds a NUL
// character is refused with 400 before any handler runs: no identifier,
// name or filter can contain them, and PostgreSQL refuses them as query
// parameters (a 500 were they passed on).
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkText(r.URL); err != nil {
		WriteError(w, r, rt.Style, err)
		return
	}
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		setRoute(r.Context(), pattern)
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No pattern: ServeMux would answer 404, 405, or redirect to a cleaned
	// path. Run its handler against a scratch writer to learn which.
	var probe headerProbe
	h.ServeHTTP(&probe, r)
	switch probe.status {
	case http.StatusNotFound:
		WriteError(w, r, rt.Style, fault.New(fault.NotFound, "The resource could not be found."))
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		WriteError(w, r, rt.Style, fault.New(fault.NotAllowed,
			"The method %s is not allowed for this resource.", r.Method))
	default:
		rt.mux.ServeHTTP(w, r)
	}
}

// checkText refuses a decoded path or query that is not valid UTF-8 or
// holds a NUL.
func checkText(u *url.URL) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	if bad(u.Path) {
		return fault.New(fault.BadRequest, "The request path is not valid UTF-8 text or holds a NUL character.")
	}
	if u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fault.New(fault.BadRequest, "The query string is malformed.")
	}
	for k, vs := range q {
		if bad(k) {
			return fault.New(fault.BadRequest, "A query parameter name is not valid UTF-8 text or holds a NUL character.")
		}
		for _, v := range vs {
			if bad(v) {
				return fault.Invalid(k, "not valid UTF-8 text or holds a NUL character")
			}
		}
	}
	return nil
}

// headerProbe is a ResponseWriter that keeps the status and headers a
// ServeMux fallback handler sets and discards its body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
