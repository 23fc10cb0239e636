package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gostack/gostack/kit/fault"
)

// Chain wraps h in middleware, the first one outermost:
// Chain(h, a, b) is a(b(h)).
func Chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// ServiceOptions configures Service. The zero value is usable: Plain
// errors, slog.Default(), no metrics, only the standard request id header.
type ServiceOptions struct {
	// Style renders the errors of panics (the Router has its own Style).
	Style Style
	// Logger is the base logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts and times requests.
	Metrics *Metrics
	// RequestIDHeaders are extra response headers carrying the request
	// id, such as "X-Compute-Request-Id" for Nova.
	RequestIDHeaders []string
}

// Service wraps h, usually a *Router, in the standard middleware, outermost
// first: RequestID, Log, Metrics, Recover.
func Service(h http.Handler, opts ServiceOptions) http.Handler {
	mw := []func(http.Handler) http.Handler{
		RequestIDWith(opts.RequestIDHeaders...),
		Log(opts.Logger),
	}
	if opts.Metrics != nil {
		mw = append(mw, opts.Metrics.Middleware)
	}
	mw = append(mw, Recover(opts.Style))
	return Chain(h, mw...)
}

// Recover returns middleware that turns a panic in the handler into a 500
// response in style, logged with its stack through Logger. If the handler
// had already started the response, the status cannot change, so the panic
// is only logged. http.ErrAbortHandler is re-raised, as net/http expects.
func Recover(style Style) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				Logger(r.Context()).ErrorContext(r.Context(), "panic serving request",
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !sw.written() {
					writeError(sw, r, style, &fault.Error{Kind: fault.Internal, Err: fmt.Errorf("panic: %v", v)})
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
