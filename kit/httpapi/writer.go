package httpapi

import (
	"context"
	"net/http"
	"strings"
)

// statusWriter records the status and the number of body bytes written
// through it, for logs and metrics. It keeps http.Flusher working and
// exposes the wrapped writer to http.ResponseController through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) are not the final status.
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// written reports whether the response header has gone out.
func (w *statusWriter) written() bool { return w.status != 0 }

// code is the final status; a handler that wrote nothing answers 200.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// route carries the matched pattern from the Router back up to the
// middleware that wrapped it. Middleware that calls r.WithContext hands a
// copy of the request downstream, so the r.Pattern that ServeMux sets on
// that copy is invisible to whoever holds the original; a pointer in the
// context is visible to all of them.
type route struct{ pattern string }

type routeKey struct{}

// withRoute returns r with a route holder in its context, reusing the one
// an outer middleware already put there.
func withRoute(r *http.Request) (*http.Request, *route) {
	if rt, ok := r.Context().Value(routeKey{}).(*route); ok {
		return r, rt
	}
	rt := &route{}
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)), rt
}

// setRoute records the matched pattern for the middleware above.
func setRoute(ctx context.Context, pattern string) {
	if rt, ok := ctx.Value(routeKey{}).(*route); ok {
		rt.pattern = pattern
	}
}

// unmatched is the route label of requests that matched no pattern. It
// keeps label cardinality bounded: raw paths never become labels.
const unmatched = "unmatched"

// routeLabel is the pattern the request matched without its method prefix
// ("GET /v2.1/servers/{id}" becomes "/v2.1/servers/{id}"), or "unmatched".
// served is the request the middleware passed downstream, whose Pattern a
// ServeMux sets when it sits directly below.
func routeLabel(rt *route, served *http.Request) string {
	p := rt.pattern
	if p == "" {
		p = served.Pattern
	}
	if p == "" {
		return unmatched
	}
	sp := strings.IndexAny(p, " \t")
	if sp >= 0 && sp < strings.IndexByte(p, '/') {
		p = strings.TrimLeft(p[sp:], " \t")
	}
	return p
}
