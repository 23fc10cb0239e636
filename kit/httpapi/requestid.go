package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// RequestIDHeader is the header OpenStack services use for request ids.
const RequestIDHeader = "X-OpenStack-Request-Id"

type requestIDKey struct{}

// RequestID is middleware that gives every request an id of the form
// req-<uuid4>. A valid id in the incoming X-OpenStack-Request-Id header is
// kept, so one id follows a call from service to service; anything else in
// that header is ignored and a fresh id generated. The id is stored in the
// request context (RequestIDFrom) and set on the response header.
func RequestID(next http.Handler) http.Handler {
	return RequestIDWith()(next)
}

// RequestIDWith returns RequestID middleware that also sets the id on the
// extra response headers given, such as Nova's "X-Compute-Request-Id".
func RequestIDWith(extra ...string) func(http.Handler) http.Handler {
	headers := append([]string{RequestIDHeader}, extra...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !validRequestID(id) {
				id = "req-" + uuid.NewString()
			}
			for _, h := range headers {
				w.Header().Set(h, id)
			}
			next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
		})
	}
}

// RequestIDFrom returns the request id stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns a copy of ctx carrying id, for work that runs
// outside an HTTP request (and for tests).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// validRequestID reports whether s matches
// ^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$,
// the check oslo.middleware applies to inbound request ids.
func validRequestID(s string) bool {
	const prefix = "req-"
	if len(s) != len(prefix)+36 || s[:len(prefix)] != prefix {
		return false
	}
	for i, c := range s[len(prefix):] {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
