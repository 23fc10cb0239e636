package httpapi

import (
	"net/http"

	"github.com/gostack/gostack/internal/fault"
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

	mux http.ServeMux
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
}

// HandleFunc registers f for pattern; see Handle.
func (rt *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.mux.HandleFunc(pattern, f)
}

// ServeHTTP dispatches r to the handler whose pattern matches it. It records
// the matched pattern for the logging and metrics middleware above it.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
