package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

type loggerKey struct{}

// Logger returns the request-scoped logger that Log put in ctx, or
// slog.Default() outside a logged request.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns a copy of ctx carrying l, for work that runs outside
// an HTTP request (and for tests).
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Log returns middleware that puts base (slog.Default() when nil), with the
// request id attribute added, into the request context for Logger, and
// writes one access log line per request with the method, the matched
// route pattern, the path, the status, the body bytes written, the
// duration and the request id. Place it after RequestID.
//
// It never logs headers, the query string (it may carry secrets such as
// presigned-URL signatures) or bodies.
func Log(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			l := base
			if l == nil {
				l = slog.Default()
			}
			if id := RequestIDFrom(r.Context()); id != "" {
				l = l.With("request_id", id)
			}
			r, rt := withRoute(r)
			r = r.WithContext(WithLogger(r.Context(), l))
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			l.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("route", routeLabel(rt, r)),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.code()),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}
